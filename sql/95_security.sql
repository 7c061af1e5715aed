-- Least privilege (migrations/006_roles.sql made the roles). Everything in schema strata
-- belongs to strata_owner, the only role that touches a table; readers, writers and admins
-- reach the data through the views and the functions granted to them. PUBLIC gets
-- nothing. The generated wrappers grant each PL/Lua function to its role
-- (stored/entrypoints.ts, access); this file does the rest and runs after them.

do $$
declare
  r record;
begin
  execute 'alter schema strata owner to strata_owner';
  for r in select c.oid::regclass as name, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where n.nspname = 'strata' and c.relkind in ('r', 'v', 'm', 'p', 'f') loop
    execute format('alter %s %s owner to strata_owner', case r.relkind when 'v' then 'view' when 'm' then 'materialized view' else 'table' end, r.name);
  end loop;
  for r in select p.oid::regprocedure as sig from pg_proc p join pg_namespace n on n.oid = p.pronamespace
           where n.nspname = 'strata' loop
    execute format('alter function %s owner to strata_owner', r.sig);
  end loop;
  for r in select t.oid::regtype as name from pg_type t join pg_namespace n on n.oid = t.typnamespace
           where n.nspname = 'strata' and t.typtype in ('c', 'd', 'e') and t.typrelid = 0 loop
    execute format('alter type %s owner to strata_owner', r.name);
  end loop;
end
$$;

revoke all on all tables in schema strata from public;
revoke all on all sequences in schema strata from public;
revoke all on all functions in schema strata from public;
grant usage on schema strata to strata_reader;

-- Views: what readers see.
grant select on strata.v_retention_policies, strata.v_storage_datasets, strata.v_storage_versions to strata_reader;
grant select on strata.v_datasets, strata.v_versions, strata.v_runs, strata.v_metrics, strata.v_models, strata.v_model_versions,
  strata.v_aliases, strata.v_alias_history, strata.v_lineage_nodes, strata.v_lineage_edges to strata_reader;

-- The SQL-language functions (sql/20_diffs.sql, sql/30_files.sql): read functions, run as
-- the owner.
do $$
declare
  f text;
begin
  foreach f in array array['strata.diff(text, text, text, text, text)', 'strata.diff_rows(text, text, text, text, text)',
                           'strata.ls(text, text, text)', 'strata.blob_chunks(bytea[])', 'strata.installed()',
                           'strata.packs_page(bytea, integer)', 'strata.pack_chunks(bytea)', 'strata.damage_report()',
                           'strata.chunk_locations(bytea[])', 'strata.lineage(text, text, integer)', 'strata.impact(text, text)',
                           'strata.versions_containing(text, text, text)', 'strata.model_ls(text, integer, text)',
                           'strata._chunk_holders(boolean)'] loop
    execute format('alter function %s security definer set search_path = pg_catalog, pg_temp', f);
    execute format('grant execute on function %s to strata_reader', f);
  end loop;
end
$$;
