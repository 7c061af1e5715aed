-- A version's files, as SQL-language functions for the reason sql/20_diffs.sql gives:
-- listings can hold millions of rows, which stream from the executor (a row yielded from
-- PL/Lua costs about 10 us). strata._resolve_prefix (stored/prefixes.ts), which the
-- installer creates after this file, checks the arguments and finds the folder the
-- prefix names, raising Strata's errors (ST001, ST003, ST004) before any row is read.
-- JIT is off: the recursive walk's cost estimate is far above jit_above_cost, and
-- compiling took 130 of the 145 ms of listing a 1,000-file folder.
set local check_function_bodies = off;

-- The entries of folder tree `tree` whose names start with `rest`, and everything below
-- them, with paths from `base`: the walk strata.ls and strata.model_ls share. Empty
-- folders are listed (kind 'dir', the hash of the empty tree): they are part of a layout.
-- Plain SQL without SET clauses, so the planner inlines it into the caller's query.
create or replace function strata._tree_walk(tree bytea, base text, rest text)
returns table (path text, kind text, executable boolean, size bigint, hash bytea, target text)
language sql stable
as $$
with recursive walk (path, kind, executable, hash, size, target) as (
       select _tree_walk.base || e.name, e.kind, e.executable, e.hash, e.size, e.target
       from strata.tree_entries e
       where e.tree = _tree_walk.tree and starts_with(e.name, _tree_walk.rest)
       union all
       select w.path || '/' || e.name, e.kind, e.executable, e.hash, e.size, e.target
       from walk w join strata.tree_entries e on e.tree = w.hash
       where w.kind = 'dir')
select path, kind, executable, size, hash, target from walk
where kind <> 'dir' or hash = sha256(''::bytea)
$$;

-- Walks only the subtree the prefix names. (Dropped first: its result columns grew,
-- which create or replace cannot do.)
drop function if exists strata.ls(text, text, text);
create function strata.ls(dataset text, tag text, prefix text default '')
returns table (path text, kind text, executable boolean, size bigint, hash bytea, target text)
language sql stable set jit = off
as $$
select w.path, w.kind, w.executable, w.size, w.hash, w.target
from strata._resolve_prefix(ls.dataset, ls.tag, ls.prefix) s, strata._tree_walk(s.tree, s.base, s.rest) w
order by w.path collate "C"
$$;

comment on function strata.ls(text, text, text) is
  'Files, symlinks and empty folders of version tag (the latest when null) whose path starts with prefix, in path order; reads only the subtree the prefix names. hash: SHA-256 of the file contents (of the target for a symlink; of nothing for an empty folder). executable: the file''s executable bit.';

-- Index lookups only: the planner cannot see how many rows unnest and generate_series
-- give, guesses 10,000, and hashed the whole chunks table for every call (0.34 s per
-- 2,000 blobs at 300,000 chunks, growing with the table; 0.04 s by index).
drop function if exists strata.blob_chunks(bytea[]);
create function strata.blob_chunks(blobs bytea[])
returns table (blob bytea, seq integer, chunk bytea, size integer, pack bytea, pack_offset bigint, stored_size integer, codec smallint)
language sql stable set jit = off set enable_hashjoin = off set enable_mergejoin = off
as $$
select b.hash, i + 1, c.hash, c.size, p.hash, c.pack_offset, c.stored_size, c.codec
from (select distinct h from unnest(blob_chunks.blobs) h) u
join strata.blobs b on b.hash = u.h
cross join lateral generate_series(0, octet_length(b.chunks) / 32 - 1) i
join strata.chunks c on c.hash = substring(b.chunks from i * 32 + 1 for 32)
join strata.packs p on p.id = c.pack_id
order by b.hash, i
$$;

comment on function strata.blob_chunks(bytea[]) is
  'Every chunk of the given file contents in order, with its raw size, pack, offset, stored size and codec (0 raw, 1 zstd).';

set local check_function_bodies = on;
