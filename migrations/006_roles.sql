-- Up Migration
-- Least privilege. Four group roles (cluster-wide, shared by every Strata database of a
-- server):
--   strata_owner  NOLOGIN; owns schema strata and everything in it, and is the only role
--                 that touches a table: every function runs as it (security definer);
--   strata_reader the views and the read functions (analysts, BI tools);
--   strata_writer push, experiments, models, lineage edges (and what readers may);
--   strata_admin  delete, retention, gc, roles (and what writers may).
-- Logins are members of those roles (strata role grant USER ROLE). Nothing is granted to
-- PUBLIC. The stored-logic install (loader/db/migrate.ts, sql/95_security.sql) hands
-- every object to strata_owner and grants each function to its role.
--
-- Creating the roles needs CREATEROLE (or superuser); where a DBA made them already, the
-- installer needs only to be a member of strata_owner.

do $$
declare
  missing text[] := array(
    select r from unnest(array['strata_owner', 'strata_reader', 'strata_writer', 'strata_admin']) r
    where not exists (select 1 from pg_roles where rolname = r));
  me pg_roles := (select p from pg_roles p where p.rolname = current_user);
begin
  if cardinality(missing) > 0 and not (me.rolsuper or me.rolcreaterole) then
    raise exception using errcode = '42501',
      message = format('strata migrate needs CREATEROLE to create the roles %s (run it as a role that has it, or have them created)',
                       array_to_string(missing, ', '));
  end if;
  if 'strata_owner' = any (missing) then create role strata_owner nologin; end if;
  if 'strata_reader' = any (missing) then create role strata_reader nologin; end if;
  if 'strata_writer' = any (missing) then create role strata_writer nologin in role strata_reader; end if;
  if 'strata_admin' = any (missing) then create role strata_admin nologin in role strata_writer; end if;
  -- The owner's functions grant these roles (strata.grant_role): it needs their admin option.
  if cardinality(missing) > 0 then
    grant strata_reader, strata_writer, strata_admin to strata_owner with admin option;
  end if;
  -- A non-superuser installer must be the owner's member to change its tables later.
  if not me.rolsuper and not pg_has_role(current_user, 'strata_owner', 'member') then
    if not me.rolcreaterole then
      raise exception using errcode = '42501',
        message = format('strata migrate needs CREATEROLE, or membership in strata_owner (grant strata_owner to %I)', current_user);
    end if;
    execute format('grant strata_owner to %I', current_user);
  end if;
end
$$;

-- The schema's contents are the owner's; PUBLIC gets nothing.
revoke all on schema strata from public;
alter default privileges in schema strata revoke execute on functions from public;

-- A session runs the stored logic only when its source hashes to the name it is asked by.
create or replace function strata._bundle_source(p_hash text) returns text
  language sql stable security definer set search_path = pg_catalog
  as $$ select source from strata._bundles where hash = p_hash and encode(sha256(convert_to(source, 'UTF8')), 'hex') = p_hash $$;

-- Changes that history allows only through the admin functions leave a row here.
create table strata.audit (
  id         bigint generated always as identity primary key,
  at         timestamptz not null default now(),
  by_user    text not null default session_user,
  action     text not null,
  detail     jsonb not null default '{}'
);
