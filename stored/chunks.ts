// Chunks and packs: which chunks the database lacks, and the registration of a pack
// once its object is stored.

import { checkHash, hexOf } from "./hashes";
import { query, raise, statement } from "./host/pg";

/** Loaders ask in batches; more than this in one call is a mistake worth naming. */
const MAX_BATCH = 100_000;

const missingSql = {
  chunks: "select h from unnest($1::bytea[]) h where not exists (select 1 from strata.chunks c where c.hash = h)",
  blobs: "select h from unnest($1::bytea[]) h where not exists (select 1 from strata.blobs b where b.hash = h)",
  trees: "select h from unnest($1::bytea[]) h where not exists (select 1 from strata.trees t where t.hash = h)",
} as const;

function missing(kind: keyof typeof missingSql, hashes: PgArray<string> | undefined): void {
  if (hashes === undefined) return;
  if (hashes.len() > MAX_BATCH) raise("invalidArgument", `at most ${MAX_BATCH} hashes per call, got ${hashes.len()}`);
  for (const r of statement(missingSql[kind], ["bytea[]"]).rows<{ h: string }>(hashes)) coroutine.yield(r.h);
}

export function missingChunks(hashes: PgArray<string> | undefined): void {
  missing("chunks", hashes);
}
export function missingBlobs(hashes: PgArray<string> | undefined): void {
  missing("blobs", hashes);
}
export function missingTrees(hashes: PgArray<string> | undefined): void {
  missing("trees", hashes);
}

/**
 * Record a stored pack object and the chunks it holds (hash, offset, size each). A
 * chunk already known from another pack keeps its first location. Returns how many
 * chunks were new.
 */
export function registerPack(
  pack: string | undefined,
  size: number | undefined,
  hashes: PgArray<string> | undefined,
  offsets: PgArray<number> | undefined,
  sizes: PgArray<number> | undefined,
): number {
  checkHash("pack hash", pack);
  if (size === undefined || size <= 0) return raise("invalidArgument", "pack size must be positive");
  if (hashes === undefined || offsets === undefined || sizes === undefined)
    return raise("invalidArgument", "chunk hashes, offsets and sizes must not be null");
  const n = hashes.len();
  if (n === 0 || offsets.len() !== n || sizes.len() !== n)
    return raise(
      "invalidArgument",
      `a pack needs one or more chunks with one offset and size each (got ${n}, ${offsets.len()}, ${sizes.len()})`,
    );
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
  if (bad !== undefined) return raise("invalidArgument", `pack ${hexOf(pack!)}: ${bad.why}`);
  const inserted = query<{ n: number }>(
    `with p as (
       insert into strata.packs (hash, size, chunk_count) values ($1, $2, $3)
       on conflict (hash) do update set hash = excluded.hash
       returning id),
     c as (
       insert into strata.chunks (hash, size, pack_id, pack_offset, stored_size)
       select x.h, x.s, p.id, x.o, x.s from unnest($4::bytea[], $5::bigint[], $6::int[]) as x(h, o, s), p
       on conflict (hash) do nothing
       returning 1)
     select count(*)::int as n from c`,
    ["bytea", "bigint", "int", "bytea[]", "bigint[]", "int[]"],
    pack,
    size,
    n,
    hashes,
    offsets,
    sizes,
  );
  return inserted[0]!.n;
}
