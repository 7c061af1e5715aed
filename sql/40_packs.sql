-- What fsck reads (loader/fsck/fsck.ts): every pack in pages, the chunks of one pack, and
-- the files that damaged packs make unreadable, by dataset, version and path. Set work:
-- SQL-language functions. (Marking packs damaged: stored/packs.ts.)
set local check_function_bodies = off;

-- (Dropped first: its result columns grew, which create or replace cannot do.)
drop function if exists strata.packs_page(bytea, integer);
create function strata.packs_page(after bytea, n integer)
returns table (hash bytea, size bigint, damaged boolean, chunk_count bigint, dying boolean)
language sql stable
as $$
select p.hash, p.size, p.damaged_at is not null, (select count(*) from strata.chunks c where c.pack_id = p.id), p.dying_at is not null
from strata.packs p where packs_page.after is null or p.hash > packs_page.after
order by p.hash limit packs_page.n
$$;

comment on function strata.packs_page(bytea, integer) is
  'Packs in hash order after `after` (all from the start when null), n at most: their recorded size, whether they are marked damaged, how many chunks they hold now, and whether gc is deleting them.';

drop function if exists strata.pack_chunks(bytea);
create function strata.pack_chunks(pack bytea)
returns table (chunk bytea, pack_offset bigint, size integer, stored_size integer, codec smallint)
language sql stable
as $$
select c.hash, c.pack_offset, c.size, c.stored_size, c.codec from strata.chunks c join strata.packs p on p.id = c.pack_id
where p.hash = pack_chunks.pack order by c.pack_offset
$$;

comment on function strata.pack_chunks(bytea) is
  'The chunks a pack holds (hash, offset, raw size, stored size, codec: 0 raw, 1 zstd), in offset order: what fsck --full decodes and hashes.';

-- Damaged packs that still hold chunks -> the contents using those chunks -> the trees
-- holding those contents, up to the roots -> the versions with such a root, walked down
-- through affected trees only, to the paths of the affected files.
create or replace function strata.damage_report()
returns table (dataset text, tag text, path text)
language sql stable set jit = off
as $$
with recursive
  bad_chunks as materialized (
    select c.hash from strata.chunks c join strata.packs p on p.id = c.pack_id where p.damaged_at is not null),
  bad_blobs as materialized (
    select b.hash from strata.blobs b
    where exists (select 1 from bad_chunks)
      and exists (select 1 from generate_series(0, octet_length(b.chunks) / 32 - 1) i
                  where substring(b.chunks from i * 32 + 1 for 32) in (select hash from bad_chunks))),
  up (tree) as (
    select e.tree from strata.tree_entries e where e.kind = 'file' and e.hash in (select hash from bad_blobs)
    union
    select e.tree from up u join strata.tree_entries e on e.kind = 'dir' and e.hash = u.tree),
  affected as materialized (select tree from up),
  down (version_id, path, kind, hash) as (
    select v.id, e.name, e.kind, e.hash
    from strata.versions v join strata.tree_entries e on e.tree = v.content_hash
    where v.content_hash in (select tree from affected)
      and ((e.kind = 'dir' and e.hash in (select tree from affected)) or (e.kind = 'file' and e.hash in (select hash from bad_blobs)))
    union all
    select d.version_id, d.path || '/' || e.name, e.kind, e.hash
    from down d join strata.tree_entries e on e.tree = d.hash
    where d.kind = 'dir'
      and ((e.kind = 'dir' and e.hash in (select tree from affected)) or (e.kind = 'file' and e.hash in (select hash from bad_blobs))))
select ds.name, v.tag, d.path
from down d join strata.versions v on v.id = d.version_id join strata.datasets ds on ds.id = v.dataset_id
where d.kind = 'file'
order by ds.name, v.seq, d.path collate "C"
$$;

comment on function strata.damage_report() is
  'Every file of every version that a damaged pack makes unreadable (dataset, tag, path); empty when nothing is damaged, or when pushes have uploaded the damaged chunks again.';

drop function if exists strata.chunk_locations(bytea[]);
create function strata.chunk_locations(chunks bytea[])
returns table (chunk bytea, pack bytea, pack_offset bigint, stored_size integer, codec smallint)
language sql stable
as $$
select c.hash, p.hash, c.pack_offset, c.stored_size, c.codec
from (select distinct h from unnest(chunk_locations.chunks) h) u join strata.chunks c on c.hash = u.h join strata.packs p on p.id = c.pack_id
$$;

comment on function strata.chunk_locations(bytea[]) is
  'Where these chunks are now and how they are kept (pack, offset, stored size, codec: 0 raw, 1 zstd): a reader whose pack gc removed after repacking asks again.';

set local check_function_bodies = on;
