-- Up Migration
-- The tables of Strata. Bytes live in object storage as chunks inside pack objects; this
-- schema records where every chunk lives, how chunks make up file contents, how file
-- contents make up Merkle trees, and the versions, experiments, models and lineage
-- built on them. Hashes are raw 32-byte SHA-256 digests.

create schema if not exists strata;
create extension if not exists pllua;

create table strata.datasets (
  id          bigint generated always as identity primary key,
  name        text not null unique
              constraint datasets_name_rule check (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'),
  description text,
  owner       text not null default current_user,
  -- content-defined chunking parameters of this dataset's pushes (bytes)
  chunking    jsonb not null default '{"min": 262144, "avg": 1048576, "max": 4194304}',
  created_at  timestamptz not null default now()
);

-- A pack is one stored object holding many chunks back to back (key packs/<2 hex>/<64 hex>),
-- named by the SHA-256 of its chunks' hashes in order. Its row, and its chunks' rows, are
-- written only after the object is stored.
create table strata.packs (
  id          bigint generated always as identity primary key,
  hash        bytea not null unique check (octet_length(hash) = 32),
  size        bigint not null check (size > 0),
  chunk_count integer not null check (chunk_count > 0),
  created_at  timestamptz not null default now()
);

create table strata.chunks (
  hash        bytea primary key check (octet_length(hash) = 32),
  size        integer not null check (size > 0),
  pack_id     bigint not null references strata.packs (id),
  pack_offset bigint not null check (pack_offset >= 0),
  -- bytes the chunk takes in the pack: equal to size while codec is 0 (stored raw)
  stored_size integer not null check (stored_size > 0),
  codec       smallint not null default 0 check (codec = 0)
);
create index chunks_pack_id on strata.chunks (pack_id);

-- File contents, recorded once whatever file, version or dataset holds them.
create table strata.blobs (
  hash   bytea primary key check (octet_length(hash) = 32),
  size   bigint not null check (size >= 0),
  -- the ordered chunk hashes, 32 bytes each (empty for an empty file)
  chunks bytea not null check (octet_length(chunks) % 32 = 0)
);

-- Merkle trees: a tree's hash covers its sorted entries (name, kind, hash, size), so
-- equal hashes mean equal subtrees and unchanged subtrees are shared between versions.
create table strata.trees (
  hash        bytea primary key check (octet_length(hash) = 32),
  entry_count integer not null check (entry_count >= 0),
  file_count  bigint not null check (file_count >= 0),   -- files and symlinks below, at any depth
  size        bigint not null check (size >= 0)          -- bytes of the files below
);

create table strata.tree_entries (
  tree   bytea not null references strata.trees (hash),
  name   text not null check (name <> '' and name <> '.' and name <> '..' and strpos(name, '/') = 0),
  kind   text not null check (kind in ('file', 'dir', 'symlink')),
  -- blob hash of a file, tree hash of a dir, SHA-256 of a symlink's target
  hash   bytea not null check (octet_length(hash) = 32),
  size   bigint not null check (size >= 0),
  target text check ((kind = 'symlink') = (target is not null)),
  primary key (tree, name)
);

create table strata.versions (
  id           bigint generated always as identity primary key,
  dataset_id   bigint not null references strata.datasets (id),
  seq          integer not null check (seq > 0),            -- 1, 2, ... within the dataset
  tag          text not null
               constraint versions_tag_rule check (tag ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'),
  parent_id    bigint references strata.versions (id),
  content_hash bytea not null references strata.trees (hash),  -- the root tree
  file_count   bigint not null check (file_count >= 0),
  size         bigint not null check (size >= 0),
  new_bytes    bigint not null check (new_bytes >= 0),       -- chunk bytes this version stored first
  message      text,
  metadata     jsonb not null default '{}',
  author       text not null default current_user,
  created_at   timestamptz not null default now(),
  state        text not null default 'committed' check (state in ('committed')),
  unique (dataset_id, tag),
  unique (dataset_id, seq)
);
create index versions_parent_id on strata.versions (parent_id);
create index versions_content_hash on strata.versions (content_hash);

create table strata.experiments (
  id         bigint generated always as identity primary key,
  name       text not null,
  params     jsonb not null default '{}',
  metrics    jsonb not null default '{}',                    -- final values by name
  status     text not null default 'running' check (status in ('running', 'succeeded', 'failed')),
  code_ref   text,                                           -- e.g. a git commit
  author     text not null default current_user,
  started_at timestamptz not null default now(),
  ended_at   timestamptz,
  check ((status = 'running') = (ended_at is null))
);
create index experiments_name on strata.experiments (name);

create table strata.experiment_inputs (
  experiment_id bigint not null references strata.experiments (id),
  version_id    bigint not null references strata.versions (id),
  role          text not null default 'train',
  primary key (experiment_id, version_id, role)
);
create index experiment_inputs_version_id on strata.experiment_inputs (version_id);

create table strata.experiment_metrics (
  experiment_id bigint not null references strata.experiments (id),
  name          text not null,
  step          bigint not null default 0,
  value         double precision not null,
  recorded_at   timestamptz not null default now(),
  primary key (experiment_id, name, step)
);

create table strata.models (
  id          bigint generated always as identity primary key,
  name        text not null unique
              constraint models_name_rule check (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'),
  description text,
  owner       text not null default current_user,
  created_at  timestamptz not null default now()
);

-- A model version's files are stored like a dataset version's: a root tree.
create table strata.model_versions (
  id            bigint generated always as identity primary key,
  model_id      bigint not null references strata.models (id),
  version       integer not null check (version > 0),
  content_hash  bytea not null references strata.trees (hash),
  file_count    bigint not null check (file_count >= 0),
  size          bigint not null check (size >= 0),
  experiment_id bigint references strata.experiments (id),
  metadata      jsonb not null default '{}',
  author        text not null default current_user,
  created_at    timestamptz not null default now(),
  unique (model_id, version)
);

-- Aliases ('production', 'staging') point at one version each; every move is kept in
-- model_alias_history, so a rollback is a move back to an earlier row's version.
create table strata.model_aliases (
  model_id         bigint not null references strata.models (id),
  alias            text not null check (alias ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'),
  model_version_id bigint not null references strata.model_versions (id),
  updated_at       timestamptz not null default now(),
  primary key (model_id, alias)
);

create table strata.model_alias_history (
  id               bigint generated always as identity primary key,
  model_id         bigint not null references strata.models (id),
  alias            text not null,
  model_version_id bigint references strata.model_versions (id),  -- null: the alias was removed
  changed_by       text not null default current_user,
  changed_at       timestamptz not null default now()
);
create index model_alias_history_alias on strata.model_alias_history (model_id, alias, changed_at);

-- The lineage graph: source --relation--> target, e.g. a version derived_from its parent,
-- a model version trained_on a dataset version, an experiment produced a model version.
create table strata.lineage_edges (
  id          bigint generated always as identity primary key,
  source_kind text not null check (source_kind in ('dataset_version', 'experiment', 'model_version')),
  source_id   bigint not null,
  relation    text not null check (relation ~ '^[a-z][a-z0-9_]{0,62}$'),
  target_kind text not null check (target_kind in ('dataset_version', 'experiment', 'model_version')),
  target_id   bigint not null,
  created_by  text not null default current_user,
  created_at  timestamptz not null default now(),
  unique (source_kind, source_id, relation, target_kind, target_id)
);
create index lineage_edges_target on strata.lineage_edges (target_kind, target_id);

-- The stored logic: the Lua bundle compiled from stored/, read by the generated wrappers
-- (once per session) through strata._bundle_source, and the record of what is installed.
create table strata._bundles (
  hash         text primary key,
  source       text not null,
  installed_at timestamptz not null default now()
);

create table strata._installs (
  id           bigint generated always as identity primary key,
  install_hash text not null,
  bundle_hash  text not null references strata._bundles (hash),
  installed_at timestamptz not null default now()
);

create function strata._bundle_source(p_hash text) returns text
  language sql stable security definer set search_path = pg_catalog
  as $$ select source from strata._bundles where hash = p_hash $$;
