-- Diffs that can return many rows are SQL-language functions: their rows stream straight
-- from the executor. (Rows yielded one by one from PL/Lua cost about 10 us each, so a
-- diff of a million paths would spend seconds in Lua.) The stored logic still checks the
-- arguments and resolves the versions: strata._diff_sides and strata._diff_rows_sides
-- raise Strata's errors (ST001, ST003, ST004, ST010) before any row is produced.
--
-- strata.diff and strata.diff_rows call those PL/Lua functions, which the installer
-- creates after this file: their bodies are checked when first called, not here.
-- JIT is off in them: the recursive walk's cost estimate is far above jit_above_cost, and
-- compiling took longer (0.5 s) than the whole diff of 10,000 changes.
set local check_function_bodies = off;

-- Walk two Merkle trees at once: each step full-joins the entries of a pair of folders
-- (a's and b's at the same path) by name, keeps the names whose kind, hash or executable
-- bit differ (a mode change is a change), and
-- descends into the sides that are folders; equal subtrees are never read. A folder on
-- one side only is paired with nothing, so its files come out one by one. `base` is the
-- path of the two trees with a trailing '/' ('' at the root); `rest` what names at that
-- first level must start with. Rows: one per changed file or symlink, one per path
-- whose kind changed (for a folder side with the folder's total size), and one per empty
-- folder added or removed (it holds nothing to list), in no order.
-- (The walk starts from one seed row rather than from the first level's join: the
-- planner then expects few rows and picks index lookups, right when changes are few.)
drop function if exists strata._diff_walk(bytea, bytea, text, text);
create function strata._diff_walk(tree_a bytea, tree_b bytea, base text, rest text)
returns table (path text, change text, kind_a text, kind_b text, size_a bigint, size_b bigint, hash_a bytea, hash_b bytea,
               executable_a boolean, executable_b boolean)
language sql stable
as $$
with recursive walk (path, below, pfx, kind_a, kind_b, hash_a, hash_b, size_a, size_b, exec_a, exec_b, dir_a, dir_b) as (
  select ''::text, _diff_walk.base, _diff_walk.rest, null::text, null::text, null::bytea, null::bytea, null::bigint,
         null::bigint, null::boolean, null::boolean, _diff_walk.tree_a, _diff_walk.tree_b
  where _diff_walk.tree_a is distinct from _diff_walk.tree_b
  union all
  select w.below || x.name, w.below || x.name || '/', ''::text, x.ka, x.kb, x.ha, x.hb, x.sa, x.sb, x.xa, x.xb,
         case when x.ka = 'dir' then x.ha end, case when x.kb = 'dir' then x.hb end
  from walk w
  cross join lateral (
    select coalesce(a.name, b.name) as name, a.kind as ka, b.kind as kb, a.hash as ha, b.hash as hb, a.size as sa, b.size as sb,
           a.executable as xa, b.executable as xb
    from (select e.name, e.kind, e.hash, e.size, e.executable from strata.tree_entries e
          where e.tree = w.dir_a and (w.pfx = '' or starts_with(e.name, w.pfx))) a
    full join (select e.name, e.kind, e.hash, e.size, e.executable from strata.tree_entries e
               where e.tree = w.dir_b and (w.pfx = '' or starts_with(e.name, w.pfx))) b on a.name = b.name
    where a.kind is distinct from b.kind or a.hash is distinct from b.hash or a.executable is distinct from b.executable) x
  where w.dir_a is not null or w.dir_b is not null)
select path,
       case when kind_a is null then 'added' when kind_b is null then 'removed'
            when kind_a = kind_b then 'modified' else 'type_changed' end,
       kind_a, kind_b, size_a, size_b, hash_a, hash_b, exec_a, exec_b
from walk
where coalesce(kind_a, 'dir') <> 'dir' or coalesce(kind_b, 'dir') <> 'dir'
   or (kind_a is null and hash_b = sha256(''::bytea)) or (kind_b is null and hash_a = sha256(''::bytea))
$$;

-- shared_bytes: the bytes of b's chunk uses that a's file at the same path also has:
-- one aggregation of the modified files' chunks by (path, chunk), sizes looked up for the
-- matches only, and attached to the rows by a window over path (the same sort as the
-- output order). Nothing joins two sets of changes with each other: with the walk's
-- small row estimates the planner could make such a join a nested loop, quadratic on a
-- large diff; a per-file comparison of chunk lists would be quadratic on large files.
drop function if exists strata.diff(text, text, text, text, text);
create function strata.diff(dataset text, tag_a text, tag_b text, prefix text default '', dataset_b text default null)
returns table (path text, change text, kind_a text, kind_b text, size_a bigint, size_b bigint, shared_bytes bigint,
               hash_a bytea, hash_b bytea, executable_a boolean, executable_b boolean)
language sql stable set jit = off
as $$
with sides as materialized (
       select * from strata._diff_sides(diff.dataset, diff.tag_a, diff.tag_b, diff.prefix, diff.dataset_b)),
     changes as materialized (
       select w.* from sides s cross join lateral strata._diff_walk(s.tree_a, s.tree_b, s.base, s.rest) w),
     modified as materialized (select path, hash_a, hash_b from changes where kind_a = 'file' and kind_b = 'file'),
     uses as (
       select x.path, x.h, bool_or(x.side = 'a') as in_a, count(*) filter (where x.side = 'b') as nb
       from (select m.path, 'a' as side, substring(b.chunks from i * 32 + 1 for 32) as h
             from modified m join strata.blobs b on b.hash = m.hash_a
             cross join lateral generate_series(0, octet_length(b.chunks) / 32 - 1) i
             union all
             select m.path, 'b', substring(b.chunks from i * 32 + 1 for 32)
             from modified m join strata.blobs b on b.hash = m.hash_b
             cross join lateral generate_series(0, octet_length(b.chunks) / 32 - 1) i) x
       group by x.path, x.h),
     shared as (
       select u.path, sum(u.nb * c.size)::bigint as bytes
       from uses u join strata.chunks c on c.hash = u.h where u.in_a and u.nb > 0 group by u.path),
     both_ as (
       select path, change, kind_a, kind_b, size_a, size_b, hash_a, hash_b, executable_a, executable_b, null::bigint as bytes
       from changes
       union all
       select path, null, null, null, null, null, null, null, null, null, bytes from shared)
select path, change, kind_a, kind_b, size_a, size_b,
       case when kind_b is distinct from 'file' then null
            when kind_a = 'file' then coalesce(shared_bytes, 0)
            else 0::bigint end,
       hash_a, hash_b, executable_a, executable_b
from (select r.*, sum(r.bytes) over (partition by r.path collate "C") as shared_bytes from both_ r) x
where change is not null
order by path collate "C"
$$;

comment on function strata.diff(text, text, text, text, text) is
  'Changed paths under prefix from version tag_a of dataset to tag_b (of dataset_b when given): added, removed, modified (contents or executable bit), type_changed, in path order, empty folders included; walks both trees and skips equal subtrees. shared_bytes: bytes of b''s file in chunks that a''s file at that path also has (null when b has no file there). hash_a/hash_b: content hashes (blob, tree or symlink target). executable_a/executable_b: the files'' executable bits.';

-- The rows of two row-hash lists that are not equal at the same row number: after this
-- positional pass (one walk over both arrays side by side, streaming) in-place edits
-- leave only the edited rows. side 'a' or 'b', the row's hash and its row number.
create or replace function strata._rows_unpaired(blob_a bytea, blob_b bytea)
returns table (side text, h bigint, n bigint)
language sql stable
as $$
with z as materialized (
  select ha, hb, n from (
    select unnest(p.a) as ha, unnest(p.b) as hb, generate_series(1, greatest(cardinality(p.a), cardinality(p.b))) as n
    from (select coalesce((select t.row_hashes from strata.tabular_rows t where t.blob = _rows_unpaired.blob_a), '{}'::bigint[]) as a,
                 coalesce((select t.row_hashes from strata.tabular_rows t where t.blob = _rows_unpaired.blob_b), '{}'::bigint[]) as b) p) s
  where ha is distinct from hb)
select 'a', ha, n from z where ha is not null
union all
select 'b', hb, n from z where hb is not null
$$;

-- Multiset row diff: rows equal at the same row number pair first; the rest pair by
-- occurrence, the k-th remaining copy of a hash in a with the k-th in b (in row order):
-- one sort of the unpaired rows by (hash, side, row number) gives each row its k and the
-- counts of its hash on both sides (window functions, no join of large sets). What is
-- left is removed (row number in a) or added (row number in b). A file missing on one
-- side: all rows of the other.
create or replace function strata.diff_rows(dataset text, tag_a text, tag_b text, path text, dataset_b text default null)
returns table (change text, row_number bigint, row_hash bigint)
language sql stable set jit = off
as $$
with sides as materialized (
       select * from strata._diff_rows_sides(diff_rows.dataset, diff_rows.tag_a, diff_rows.tag_b, diff_rows.path, diff_rows.dataset_b)),
     r as (
       select x.side, x.h, x.n,
              row_number() over (partition by x.h, x.side order by x.n) as k,
              count(*) filter (where x.side = 'a') over (partition by x.h) as na,
              count(*) filter (where x.side = 'b') over (partition by x.h) as nb
       from sides s cross join lateral strata._rows_unpaired(s.blob_a, s.blob_b) x
       where s.blob_a <> s.blob_b)
select case side when 'a' then 'removed' else 'added' end, n, h from r
where case side when 'a' then k > nb else k > na end
union all
select case when s.blob_a is null then 'added' else 'removed' end, x.n, x.h
from sides s
cross join lateral (select t.row_hashes from strata.tabular_rows t where t.blob = coalesce(s.blob_a, s.blob_b)) t
cross join lateral unnest(t.row_hashes) with ordinality as x(h, n)
where (s.blob_a is null) <> (s.blob_b is null)
order by 2, 1 desc
$$;

comment on function strata.diff_rows(text, text, text, text, text) is
  'Rows of the tabular file at path removed from tag_a (row number in a) or added in tag_b (row number in b), duplicates counted (equal rows at the same row number pair first); a file missing in one version counts as empty. Row text is read from the file by the loader (loader/tabular/rows.ts rowTexts).';

set local check_function_bodies = on;
