-- Up Migration
-- Experiments (runs), the model registry and lineage, written and read through functions
-- (stored/experiments.ts, stored/models.ts, stored/lineage.ts, sql/35_lineage.sql).
--
-- What is history and what is state. Append-only, guarded like versions (sql/90_triggers.sql):
-- experiment_inputs (pinned at start), experiment_metrics (every step kept),
-- model_versions, model_alias_history and lineage_edges. Mutable state, changed only by
-- the owner's functions and so not guarded: a run's status, end time and final metrics
-- (experiments: running -> succeeded | failed | killed, once), an alias's current targets
-- (model_aliases, model_alias_targets: every move is also a history row), and a push's
-- progress (pushes).

-- Runs: a UUID for the world (OpenLineage run ids), the bigint id for joins.
alter table strata.experiments add column run_id uuid not null default gen_random_uuid();
alter table strata.experiments add constraint experiments_run_id_key unique (run_id);
alter table strata.experiments drop constraint experiments_status_check;
alter table strata.experiments add constraint experiments_status_check
  check (status in ('running', 'succeeded', 'failed', 'killed'));
alter table strata.experiments add constraint experiments_name_rule
  check (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$');
alter table strata.experiments add constraint experiments_params_object check (jsonb_typeof(params) = 'object');
alter table strata.experiments add constraint experiments_metrics_object check (jsonb_typeof(metrics) = 'object');
create index experiments_started_at on strata.experiments (started_at);

-- An input's role names a folder of `strata exp checkout` (DIR/<role>/<dataset>).
alter table strata.experiment_inputs add constraint experiment_inputs_role_rule
  check (role ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$');

-- Metric points: finite values only (JSON has no NaN or infinity; refused, never stored),
-- names as MLflow allows them without spaces, compared bytewise (collation "C": a batch of
-- 10,000 points is 10,000 index insertions, and a locale's comparisons double their cost).
-- No foreign key to experiments: its per-row check cost as much again, and the one writer,
-- strata.log_metrics, holds the run's row (FOR SHARE) while it inserts; runs are never
-- deleted (a future gc deletes a run's points with it).
alter table strata.experiment_metrics drop constraint experiment_metrics_experiment_id_fkey;
alter table strata.experiment_metrics alter column name type text collate "C";
alter table strata.experiment_metrics add constraint experiment_metrics_name_rule
  check (name ~ '^[A-Za-z0-9_][A-Za-z0-9_./:@-]{0,249}$');
alter table strata.experiment_metrics add constraint experiment_metrics_step_rule check (step >= 0);
alter table strata.experiment_metrics add constraint experiment_metrics_finite
  check (value <> 'NaN'::float8 and value <> 'Infinity'::float8 and value <> '-Infinity'::float8);

-- Model versions: what their push stored first, a message; (model_id, id) is a key so that
-- an alias can only name a version of its own model (composite foreign keys below).
alter table strata.model_versions add column new_bytes bigint not null default 0 check (new_bytes >= 0);
alter table strata.model_versions add column message text;
alter table strata.model_versions add constraint model_versions_model_id_id_key unique (model_id, id);
alter table strata.model_versions add constraint model_versions_metadata_object check (jsonb_typeof(metadata) = 'object');
create index model_versions_experiment_id on strata.model_versions (experiment_id);
create index model_versions_content_hash on strata.model_versions (content_hash);

-- A push stores a dataset version or a model version through the same protocol.
alter table strata.pushes add column kind text not null default 'dataset' check (kind in ('dataset', 'model'));
alter table strata.pushes add column model_version_id bigint references strata.model_versions (id);
comment on column strata.pushes.dataset is 'The dataset (kind dataset) or model (kind model) the push stores a version of.';

-- Aliases: model_aliases.model_version_id is the primary target (the largest weight);
-- model_alias_targets holds every target with its share of traffic (weights sum to 1).
alter table strata.model_aliases add constraint model_aliases_version_of_model
  foreign key (model_id, model_version_id) references strata.model_versions (model_id, id);

create table strata.model_alias_targets (
  model_id         bigint not null,
  alias            text not null,
  model_version_id bigint not null,
  weight           numeric not null check (weight > 0 and weight <= 1),
  primary key (model_id, alias, model_version_id),
  foreign key (model_id, alias) references strata.model_aliases (model_id, alias),
  foreign key (model_id, model_version_id) references strata.model_versions (model_id, id)
);
create index model_alias_targets_version on strata.model_alias_targets (model_version_id);

-- The audit trail of every alias move: who, when, from which targets to which
-- ({"3": 0.9, "4": 0.1}: version number -> weight); a rollback names the move it undoes.
alter table strata.model_alias_history add column action text not null default 'set' check (action in ('set', 'rollback'));
alter table strata.model_alias_history add column from_targets jsonb;
alter table strata.model_alias_history add column to_targets jsonb;
alter table strata.model_alias_history add column undoes bigint references strata.model_alias_history (id);
create unique index model_alias_history_undoes on strata.model_alias_history (undoes) where undoes is not null;

-- Lineage: who recorded an edge (the system where it sees one, or a user's add_edge).
alter table strata.lineage_edges add column origin text not null default 'system' check (origin in ('system', 'user'));

-- The reverse index of the Merkle trees: from contents (kind file) or a subtree (kind dir)
-- to the trees that hold it; versions_containing walks it up to the roots.
create index tree_entries_hash on strata.tree_entries (hash);

-- Who did it: the login (session_user). Every write runs in a security definer function,
-- where current_user is strata_owner, so defaults of current_user named the owner.
alter table strata.datasets alter column owner set default session_user;
alter table strata.versions alter column author set default session_user;
alter table strata.pushes alter column started_by set default session_user;
alter table strata.experiments alter column author set default session_user;
alter table strata.models alter column owner set default session_user;
alter table strata.model_versions alter column author set default session_user;
alter table strata.model_alias_history alter column changed_by set default session_user;
alter table strata.lineage_edges alter column created_by set default session_user;

comment on table strata.datasets is 'Named containers of versions.';
comment on table strata.versions is 'A dataset''s immutable snapshots, each naming a root tree.';
comment on table strata.packs is 'Stored pack objects (packs/<2 hex>/<64 hex>), each holding many chunks.';
comment on table strata.chunks is 'Content-defined chunks: which pack holds each, where.';
comment on table strata.blobs is 'File contents by SHA-256: size and ordered chunk hashes.';
comment on table strata.trees is 'Merkle trees: hash of the sorted entries, files and bytes below.';
comment on table strata.tree_entries is 'The entries (files, folders, symlinks) of each tree.';
comment on table strata.experiments is 'Runs: name, params, status (running, succeeded, failed, killed), final metrics; run_id is the UUID shown to the world.';
comment on table strata.experiment_inputs is 'The dataset versions a run read, each with its role (train, eval, ...), pinned at start.';
comment on table strata.experiment_metrics is 'Every metric point a run logged: name, step, value.';
comment on table strata.models is 'Named models of the registry.';
comment on table strata.model_versions is 'A model''s immutable versions 1, 2, ..., each naming a root tree, linked to the run that produced it.';
comment on table strata.model_aliases is 'Current alias of a model (production, staging, ...) and its primary target.';
comment on table strata.model_alias_targets is 'Every current target of an alias with its share of traffic.';
comment on table strata.model_alias_history is 'Every alias move: who, when, from which targets to which.';
comment on table strata.lineage_edges is 'The lineage graph: source --relation--> target, the source made from or depending on the target.';
comment on table strata.pushes is 'One row per push: the chunk bytes it stored first, and the version it committed (dataset or model).';
comment on table strata.tabular_rows is 'Per-row hashes of CSV and JSON Lines contents, for row diffs.';
comment on table strata.settings is 'Settings of this database, e.g. the id of the object store its chunks live in.';
comment on table strata.audit is 'Changes that history allows only through the owner''s functions (roles, damaged packs, maintenance).';
comment on table strata._bundles is 'The stored logic: Lua bundles by the SHA-256 of their source.';
comment on table strata._installs is 'Every install of the stored logic and sql/ files.';
