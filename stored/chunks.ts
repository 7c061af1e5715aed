// Chunks and packs: which chunks (and contents, trees, row hashes) the database lacks,
// and the registration of a pack once its object is stored.

import { checkHash } from "./hashes";
import { closeMaintenance, openMaintenance } from "./history";
import { arrayLength, type Bytes, emit, hex, query, queryOne, raise, type SqlArray } from "./host";
import { freshPacksCte } from "./packs";

/** Loaders ask in batches; more than this in one call is a mistake worth naming. */
const MAX_BATCH = 100_000;

// Chunks and contents a client may reuse mark their packs used (freshPacksCte): gc leaves
// them alone for its grace. A chunk in a damaged or dying pack is missing: it must be
// uploaded again.
const missingSql = {
  chunks: `with want as (select h, c.pack_id from unnest($1::bytea[]) h left join strata.chunks c on c.hash = h),
           ${freshPacksCte("select pack_id from want")}
           select w.h from want w left join fresh f on f.id = w.pack_id where f.id is null`,
  blobs: "select h from unnest($1::bytea[]) h where not exists (select 1 from strata.blobs b where b.hash = h)",
  trees: "select h from unnest($1::bytea[]) h where not exists (select 1 from strata.trees t where t.hash = h)",
  // contents that are missing, or use a chunk that is missing: a push reads such files
  // again even when its index vouches for them (a union of the two, not a subquery per
  // content over the parts: that was quadratic, 25 s per batch of 20,000)
  unsoundBlobs: `with want as (select distinct h from unnest($1::bytea[]) h),
                 parts as (select w.h, c.pack_id
                           from want w join strata.blobs b on b.hash = w.h
                           cross join lateral generate_series(0, octet_length(b.chunks) / 32 - 1) i
                           left join strata.chunks c on c.hash = substring(b.chunks from i * 32 + 1 for 32)),
                 ${freshPacksCte("select pack_id from parts")}
                 select w.h from want w where not exists (select 1 from strata.blobs b where b.hash = w.h)
                 union
                 select p.h from parts p left join fresh f on f.id = p.pack_id where f.id is null`,
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
 * Record a stored pack object and the chunks it holds (hash, offset, raw size, stored size
 * and codec each: 0 raw, 1 zstd; stored sizes and codecs both null mean every chunk is
 * raw). A chunk already known from another pack keeps its first location. Returns how many
 * chunks were new; `push` (push_begin's id) counts them and their raw bytes as its own.
 */
export function registerPack(
  pack: Bytes | undefined,
  size: number | undefined,
  hashes: SqlArray<Bytes> | undefined,
  offsets: SqlArray<number> | undefined,
  sizes: SqlArray<number> | undefined,
  push: number | undefined,
  storedSizes: SqlArray<number> | undefined,
  codecs: SqlArray<number> | undefined,
): number {
  checkHash("pack hash", pack);
  if (size === undefined || size <= 0) return raise("invalidArgument", "pack size must be positive");
  if (hashes === undefined || offsets === undefined || sizes === undefined)
    return raise("invalidArgument", "chunk hashes, offsets and sizes must not be null");
  if ((storedSizes === undefined) !== (codecs === undefined))
    return raise("invalidArgument", "give chunk stored sizes and codecs both, or neither (every chunk raw)");
  const stored = storedSizes ?? sizes;
  const n = arrayLength(hashes);
  const nOffsets = arrayLength(offsets);
  const nSizes = arrayLength(sizes);
  const nStored = arrayLength(stored);
  const nCodecs = codecs === undefined ? n : arrayLength(codecs);
  if (n === 0 || nOffsets !== n || nSizes !== n || nStored !== n || nCodecs !== n)
    return raise(
      "invalidArgument",
      `a pack needs one or more chunks with one offset, size, stored size and codec each (got ${n}, ${nOffsets}, ${nSizes}, ${nStored}, ${nCodecs})`,
    );
  const bad = query<{ why: string }>(
    `select case when octet_length(h) <> 32 then 'chunk hash is not 32 bytes'
                 when o is null or s is null or z is null or o < 0 or s <= 0 or z <= 0 then 'chunk offset, size or stored size is not positive'
                 when c is null or c not in (0, 1) then 'chunk codec ' || coalesce(c::text, 'null') || ' is not 0 (raw) or 1 (zstd)'
                 when c = 0 and z <> s then 'raw chunk of ' || s || ' bytes is stored in ' || z
                 else 'chunk at ' || o || '+' || z || ' ends past the pack (' || $6 || ' bytes)' end as why
     from unnest($1::bytea[], $2::bigint[], $3::int[], $4::int[], coalesce($5::smallint[], array_fill(0::smallint, array[cardinality($1::bytea[])])))
          as x(h, o, s, z, c)
     where h is null or octet_length(h) <> 32 or o is null or s is null or z is null or o < 0 or s <= 0 or z <= 0
        or c is null or c not in (0, 1) or (c = 0 and z <> s) or o + z > $6
     limit 1`,
    ["bytea[]", "bigint[]", "int[]", "int[]", "smallint[]", "bigint"],
    hashes,
    offsets,
    sizes,
    stored,
    codecs,
    size,
  )[0];
  if (bad !== undefined) return raise("invalidArgument", `pack ${hex(pack!)}: ${bad.why}`);
  const p = queryOne<{ id: number; dying: boolean }>(
    `with ins as (insert into strata.packs (hash, size, chunk_count) values ($1, $2, $3) on conflict (hash) do nothing
                  returning id, false as dying)
     select * from ins union all select id, dying_at is not null from strata.packs where hash = $1 limit 1`,
    ["bytea", "bigint", "int"],
    pack,
    size,
    n,
  )!;
  if (p.dying)
    raise(
      "invalidArgument",
      `pack ${hex(pack!)} is being deleted by gc`,
      undefined,
      "name every new pack uniquely (docs/push-protocol.md)",
    );
  const packId = p.id;
  // Rows first moved from damaged or dying packs, then the new rows: a row gc deletes
  // meanwhile (its pack was dying) is then inserted anew, never lost.
  const moved = relocate(pack!, packId, hashes, offsets, stored, codecs);
  const inserted = query<{ n: number; bytes: number }>(
    `with c as (
       insert into strata.chunks (hash, size, pack_id, pack_offset, stored_size, codec)
       select x.h, x.s, $1, x.o, x.z, coalesce(x.c, 0)
       from unnest($2::bytea[], $3::bigint[], $4::int[], $5::int[], $6::smallint[]) as x(h, o, s, z, c)
       on conflict (hash) do nothing
       returning stored_size)
     select count(*)::int as n, coalesce(sum(stored_size), 0)::bigint as bytes from c`,
    ["bigint", "bytea[]", "bigint[]", "int[]", "int[]", "smallint[]"],
    packId,
    hashes,
    offsets,
    sizes,
    stored,
    codecs,
  )[0]!;
  const counted = queryOne<{ id: number }>(
    "update strata.pushes set new_chunks = new_chunks + $2, new_bytes = new_bytes + $3 where id = $1 and version_id is null returning id",
    ["bigint", "bigint", "bigint"],
    push,
    inserted.n + moved.n,
    inserted.bytes + moved.bytes,
  );
  if (push !== undefined && counted === undefined) raise("invalidArgument", `there is no push ${push} in flight`);
  return inserted.n + moved.n + restore(pack!, size!, push);
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
     c as (select count(*) as n, coalesce(sum(stored_size), 0) as bytes from strata.chunks where pack_id = $1),
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
 * Chunks of this pack whose rows point into a damaged or dying pack move here, in the form
 * this pack keeps them (the pack is stored, and its chunks fit it): versions using a damaged pack become readable again, and
 * chunks gc is collecting live on. They count as the push's new bytes, since it uploaded them.
 */
function relocate(
  pack: Bytes,
  packId: number,
  hashes: SqlArray<Bytes>,
  offsets: SqlArray<number>,
  storedSizes: SqlArray<number>,
  codecs: SqlArray<number> | undefined,
): { n: number; bytes: number } {
  // Mostly no pack is damaged or dying (two probes of partial indexes), and then no chunk
  // needs looking up here: it was a look-up per chunk, 0.45 s of PostgreSQL's time per
  // 100,000 small files pushed.
  const troubled = queryOne(
    `select 1 from strata.packs where damaged_at is not null and id <> $1
     union all select 1 from strata.packs where dying_at is not null and id <> $1 limit 1`,
    ["bigint"],
    packId,
  );
  if (troubled === undefined) return { n: 0, bytes: 0 };
  const stale = queryOne(
    `select 1 from unnest($1::bytea[]) h join strata.chunks c on c.hash = h join strata.packs d on d.id = c.pack_id
     where (d.damaged_at is not null or d.dying_at is not null) and d.id <> $2 limit 1`,
    ["bytea[]", "bigint"],
    hashes,
    packId,
  );
  if (stale === undefined) return { n: 0, bytes: 0 };
  openMaintenance("relocate chunks", `{"pack": "${hex(pack)}"}`);
  const moved = queryOne<{ n: number; bytes: number }>(
    `with m as (
       update strata.chunks c set pack_id = $1, pack_offset = x.o, stored_size = x.z, codec = coalesce(x.c, 0)
       from unnest($2::bytea[], $3::bigint[], $4::int[], $5::smallint[]) as x(h, o, z, c), strata.packs d
       where c.hash = x.h and d.id = c.pack_id and (d.damaged_at is not null or d.dying_at is not null) and d.id <> $1
       returning c.stored_size)
     select count(*)::int as n, coalesce(sum(stored_size), 0)::bigint as bytes from m`,
    ["bigint", "bytea[]", "bigint[]", "int[]", "smallint[]"],
    packId,
    hashes,
    offsets,
    storedSizes,
    codecs,
  )!;
  closeMaintenance();
  return moved;
}
