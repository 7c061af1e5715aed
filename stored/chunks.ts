// Chunks and packs: which chunks (and contents, trees, row hashes) the database lacks,
// and the registration of a pack once its object is stored.

import { checkHash } from "./hashes";
import { closeMaintenance, openMaintenance } from "./history";
import { arrayLength, type Bytes, emit, hex, query, queryOne, raise, type SqlArray } from "./host";

/** Loaders ask in batches; more than this in one call is a mistake worth naming. */
const MAX_BATCH = 100_000;

const missingSql = {
  // a chunk in a damaged pack (stored/packs.ts) is missing: it must be uploaded again
  chunks: `select h from unnest($1::bytea[]) h where not exists (
             select 1 from strata.chunks c join strata.packs p on p.id = c.pack_id where c.hash = h and p.damaged_at is null)`,
  blobs: "select h from unnest($1::bytea[]) h where not exists (select 1 from strata.blobs b where b.hash = h)",
  trees: "select h from unnest($1::bytea[]) h where not exists (select 1 from strata.trees t where t.hash = h)",
  // contents that are missing, or use a chunk that is missing or in a damaged pack: a push
  // reads such files again even when its index vouches for them
  unsoundBlobs: `select h from unnest($1::bytea[]) h
                 where not exists (select 1 from strata.blobs b where b.hash = h)
                    or exists (select 1 from strata.blobs b, generate_series(0, octet_length(b.chunks) / 32 - 1) i
                               where b.hash = h and not exists (
                                 select 1 from strata.chunks c join strata.packs p on p.id = c.pack_id
                                 where c.hash = substring(b.chunks from i * 32 + 1 for 32) and p.damaged_at is null))`,
  // row hashes under this release's rule (stored/rows.ts)
  rowHashes:
    "select h from unnest($1::bytea[]) h where not exists (select 1 from strata.tabular_rows t where t.blob = h and t.hashing = 2)",
} as const;

function missing(kind: keyof typeof missingSql, hashes: SqlArray<Bytes> | undefined): void {
  if (hashes === undefined) return;
  const n = arrayLength(hashes);
  if (n > MAX_BATCH) raise("invalidArgument", `at most ${MAX_BATCH} hashes per call, got ${n}`);
  for (const r of query<{ h: Bytes }>(missingSql[kind], ["bytea[]"], hashes)) emit(r.h);
}

export function missingChunks(hashes: SqlArray<Bytes> | undefined): void {
  missing("chunks", hashes);
}
export function missingBlobs(hashes: SqlArray<Bytes> | undefined): void {
  missing("blobs", hashes);
}
export function missingTrees(hashes: SqlArray<Bytes> | undefined): void {
  missing("trees", hashes);
}
export function missingRowHashes(hashes: SqlArray<Bytes> | undefined): void {
  missing("rowHashes", hashes);
}
export function unsoundBlobs(hashes: SqlArray<Bytes> | undefined): void {
  missing("unsoundBlobs", hashes);
}

/**
 * Record a stored pack object and the chunks it holds (hash, offset, size each). A
 * chunk already known from another pack keeps its first location. Returns how many
 * chunks were new; `push` (push_begin's id) counts them and their bytes as its own.
 */
export function registerPack(
  pack: Bytes | undefined,
  size: number | undefined,
  hashes: SqlArray<Bytes> | undefined,
  offsets: SqlArray<number> | undefined,
  sizes: SqlArray<number> | undefined,
  push: number | undefined,
): number {
  checkHash("pack hash", pack);
  if (size === undefined || size <= 0) return raise("invalidArgument", "pack size must be positive");
  if (hashes === undefined || offsets === undefined || sizes === undefined)
    return raise("invalidArgument", "chunk hashes, offsets and sizes must not be null");
  const n = arrayLength(hashes);
  const nOffsets = arrayLength(offsets);
  const nSizes = arrayLength(sizes);
  if (n === 0 || nOffsets !== n || nSizes !== n)
    return raise("invalidArgument", `a pack needs one or more chunks with one offset and size each (got ${n}, ${nOffsets}, ${nSizes})`);
  const bad = query<{ why: string }>(
    `select case when octet_length(h) <> 32 then 'chunk hash is not 32 bytes'
                 when o is null or s is null or o < 0 or s <= 0 then 'chunk offset or size is not positive'
                 else 'chunk at ' || o || '+' || s || ' ends past the pack (' || $4 || ' bytes)' end as why
     from unnest($1::bytea[], $2::bigint[], $3::int[]) as x(h, o, s)
     where h is null or octet_length(h) <> 32 or o is null or s is null or o < 0 or s <= 0 or o + s > $4
     limit 1`,
    ["bytea[]", "bigint[]", "int[]", "bigint"],
    hashes,
    offsets,
    sizes,
    size,
  )[0];
  if (bad !== undefined) return raise("invalidArgument", `pack ${hex(pack!)}: ${bad.why}`);
  const inserted = query<{ n: number; counted: number }>(
    `with ins as (
       insert into strata.packs (hash, size, chunk_count) values ($1, $2, $3)
       on conflict (hash) do nothing
       returning id),
     p as (select id from ins union all select id from strata.packs where hash = $1 limit 1),
     c as (
       insert into strata.chunks (hash, size, pack_id, pack_offset, stored_size)
       select x.h, x.s, p.id, x.o, x.s from unnest($4::bytea[], $5::bigint[], $6::int[]) as x(h, o, s), p
       on conflict (hash) do nothing
       returning size),
     counted as (
       update strata.pushes set new_chunks = new_chunks + (select count(*) from c),
                                new_bytes = new_bytes + (select coalesce(sum(size), 0) from c)
       where id = $7 and version_id is null returning 1)
     select (select count(*)::int from c) as n, (select count(*)::int from counted) as counted`,
    ["bytea", "bigint", "int", "bytea[]", "bigint[]", "int[]", "bigint"],
    pack,
    size,
    n,
    hashes,
    offsets,
    sizes,
    push,
  );
  if (push !== undefined && inserted[0]!.counted === 0) raise("invalidArgument", `there is no push ${push} in flight`);
  return inserted[0]!.n + restore(pack!, size!, push) + relocate(pack!, hashes, offsets, push);
}

/**
 * A pack marked damaged, registered again: the loader has just stored it anew (it
 * replaces what is there), so it is sound again and its chunks readable. Its chunks count
 * as the push's new bytes. Returns how many chunks it holds.
 */
function restore(pack: Bytes, size: number, push: number | undefined): number {
  const damaged = queryOne<{ id: number; size: number }>(
    "select id, size from strata.packs where hash = $1 and damaged_at is not null",
    ["bytea"],
    pack,
  );
  if (damaged === undefined) return 0;
  if (damaged.size !== size) raise("integrityFailure", `pack ${hex(pack)} is registered with ${damaged.size} bytes, not ${size}`);
  openMaintenance("restore pack", `{"pack": "${hex(pack)}"}`);
  const n = queryOne<{ n: number }>(
    `with r as (update strata.packs set damaged_at = null, damage = null where id = $1 returning id),
     c as (select count(*) as n, coalesce(sum(size), 0) as bytes from strata.chunks where pack_id = $1),
     counted as (update strata.pushes p set new_chunks = new_chunks + c.n, new_bytes = new_bytes + c.bytes from c where p.id = $2 returning 1)
     select (select n from c)::int as n`,
    ["bigint", "bigint"],
    damaged.id,
    push,
  )!.n;
  closeMaintenance();
  return n;
}

/**
 * Chunks of this pack whose rows point into a damaged pack move here (the pack is stored,
 * and its chunks fit it): their versions become readable again. They count as the
 * push's new bytes, since it uploaded them. Returns how many moved.
 */
function relocate(pack: Bytes, hashes: SqlArray<Bytes>, offsets: SqlArray<number>, push: number | undefined): number {
  const damaged = queryOne(
    `select 1 from unnest($1::bytea[]) h join strata.chunks c on c.hash = h join strata.packs d on d.id = c.pack_id
     where d.damaged_at is not null limit 1`,
    ["bytea[]"],
    hashes,
  );
  if (damaged === undefined) return 0;
  openMaintenance("relocate chunks", `{"pack": "${hex(pack)}"}`);
  const moved = queryOne<{ n: number }>(
    `with m as (
       update strata.chunks c set pack_id = p.id, pack_offset = x.o
       from unnest($2::bytea[], $3::bigint[]) as x(h, o), strata.packs p, strata.packs d
       where p.hash = $1 and c.hash = x.h and d.id = c.pack_id and d.damaged_at is not null
       returning c.size),
     counted as (
       update strata.pushes set new_chunks = new_chunks + (select count(*) from m),
                                new_bytes = new_bytes + (select coalesce(sum(size), 0) from m)
       where id = $4 returning 1)
     select count(*)::int as n from m`,
    ["bytea", "bytea[]", "bigint[]", "bigint"],
    pack,
    hashes,
    offsets,
    push,
  )!.n;
  closeMaintenance();
  return moved;
}
