-- Up Migration
-- The push protocol as function calls (docs/push-protocol.md): file contents and trees are
-- content-addressed objects put in batches (strata.put_blobs, strata.put_trees), each
-- verified as it arrives; a version is a commit of a stored root tree. A push row counts
-- the chunk bytes the push stored first (a version's new_bytes) and marks work in flight.

-- Files record their executable bit (as git does: regular or executable); it is part of
-- the tree hash (entry kind byte 'x' for an executable file, 'f' otherwise), so trees
-- stored before keep their hashes.
alter table strata.tree_entries add column executable boolean not null default false;
alter table strata.tree_entries add constraint tree_entries_executable_files check (not executable or kind = 'file');

create table strata.pushes (
  id          bigint generated always as identity primary key,
  dataset     text not null,
  started_by  text not null default current_user,
  started_at  timestamptz not null default now(),
  new_chunks  bigint not null default 0 check (new_chunks >= 0),
  new_bytes   bigint not null default 0 check (new_bytes >= 0),
  -- the version it committed; null while in flight, or when it failed
  version_id  bigint references strata.versions (id),
  finished_at timestamptz
);

-- Which rule made a file's row hashes: 1 hashed each row's bytes, 2 hashes each row's
-- canonical record (loader/tabular/records.ts). Row sets of different rules are never
-- compared; the loader rehashes a rule-1 file when it meets it again.
alter table strata.tabular_rows add column hashing smallint not null default 1 check (hashing in (1, 2));
