-- Triggers, named <table>_<order>_<when>, calling the stored logic's trigger functions.

drop trigger if exists versions_10_before_update on strata.versions;

-- History is immutable (stored/history.ts): one check per statement on every table that
-- committed versions are made of.
do $$
declare
  t text;
begin
  foreach t in array array['datasets', 'versions', 'trees', 'tree_entries', 'blobs', 'chunks', 'packs',
                           'lineage_edges', 'tabular_rows', 'settings', 'audit',
                           -- experiments, models and lineage: what a run read and logged, models and their versions, every
                           -- alias move (a run's status and an alias's current targets are state: stored/experiments.ts, models.ts)
                           'experiment_inputs', 'experiment_metrics', 'models', 'model_versions', 'model_alias_history'] loop
    -- A pack's used_at is no history: every push that reuses a chunk freshens it (stored/packs.ts).
    execute format('create or replace trigger %I before update%s or delete on strata.%I
                    for each statement execute function strata._history_guard()', t || '_20_before_change',
                   case t when 'packs' then ' of hash, size, chunk_count, created_at, damaged_at, damage, dying_at' else '' end, t);
    execute format('create or replace trigger %I before truncate on strata.%I
                    for each statement execute function strata._history_guard()', t || '_21_before_truncate', t);
  end loop;
end
$$;
