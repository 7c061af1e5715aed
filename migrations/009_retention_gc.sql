-- Up Migration
-- Deleting and collecting (stored/retention.ts, stored/gc.ts). A deleted version keeps its
-- row and its lineage (who deleted it, when), but its trees stop protecting chunks; gc
-- then deletes the packs no live version needs and forgets the rows that named their
-- chunks, so a deleted version's root tree may be gone: versions.content_hash is no longer
-- a foreign key (commit_version checks the root is stored).
alter table strata.versions drop constraint versions_state_check;
alter table strata.versions add constraint versions_state_check check (state in ('committed', 'deleted'));
alter table strata.versions add column deleted_at timestamptz;
alter table strata.versions add column deleted_by text;
alter table strata.versions add constraint versions_deleted_when check ((state = 'deleted') = (deleted_at is not null));
alter table strata.versions drop constraint versions_content_hash_fkey;

-- A deleted dataset has every version deleted; pushing to its name again revives it,
-- numbering on from its last version, so every name@tag the lineage holds stays unique.
alter table strata.datasets add column deleted_at timestamptz;
alter table strata.datasets add column deleted_by text;

-- used_at: the last time a push (or any client asking known_chunks, missing_chunks or
-- unsound_blobs) learned that a chunk it will reference lives in this pack; packs created
-- or used within gc's grace are never collected. dying_at: gc has decided to delete the
-- object; from then on its chunks count as missing, and its rows go once the object is gone.
alter table strata.packs add column used_at timestamptz not null default now();
alter table strata.packs add column dying_at timestamptz;
create index packs_dying on strata.packs (id) where dying_at is not null;

-- Keep rules per dataset: a version is kept when any rule keeps it (the latest, one of
-- the last keep_last, younger than keep_within, tagged by hand, or used).
create table strata.retention_policies (
  dataset_id  bigint primary key references strata.datasets (id),
  keep_last   integer check (keep_last > 0),
  keep_within interval check (keep_within > interval '0'),
  set_by      text not null default session_user,
  set_at      timestamptz not null default now(),
  check (keep_last is not null or keep_within is not null)
);

-- What strata.apply_retention returns for each live version: why it is kept, or null
-- when the policy deletes it.
create type strata.retention_decision as (
  dataset      text,
  tag          text,
  seq          integer,
  created_at   timestamptz,
  kept_because text
);

-- One row per gc run: what it was asked, when it started (pushes that began more than
-- the grace before a run's start may not commit after it: stored/commits.ts), and what it did.
create table strata.gc_runs (
  id           bigint generated always as identity primary key,
  started_by   text not null default session_user,
  started_at   timestamptz not null default now(),
  grace        interval not null check (grace >= interval '1 hour'),
  cutoff       timestamptz not null,            -- started_at - grace: younger is protected
  repack_below real not null check (repack_below >= 0 and repack_below < 1),
  dry_run      boolean not null,
  finished_at  timestamptz,
  summary      jsonb
);

-- A run's plan: every pack it will delete, or repack (copy its live chunks elsewhere first).
create table strata.gc_planned_packs (
  run_id     bigint not null references strata.gc_runs (id),
  pack_id    bigint not null references strata.packs (id),
  action     text not null check (action in ('delete', 'repack')),
  size       bigint not null,
  live_bytes bigint not null,
  primary key (run_id, pack_id)
);

-- The live chunks of the packs a run repacks.
create table strata.gc_repack_chunks (
  run_id  bigint not null references strata.gc_runs (id),
  pack_id bigint not null,
  chunk   bytea not null,
  primary key (run_id, chunk)
);

-- Contents no live version used when a run planned; it drops those that lost a chunk.
-- Unlogged: after a crash the next run plans again.
create unlogged table strata.gc_dead_blobs (
  run_id bigint not null references strata.gc_runs (id),
  blob   bytea not null,
  primary key (run_id, blob)
);

