// Packs the database cannot see: a push asks which packs hold the chunks it is about to
// reuse (to check each exists with its recorded size, once per store and home), and
// reports the damaged ones; fsck pages through every pack and reports damage too. A
// damaged pack's chunks count as missing (stored/chunks.ts), so a later push uploads them
// again and register_pack moves their rows to the new pack.

import { arrayLength, emit, type Bytes, query, queryOne, raise, type SqlArray } from "./host";
import { closeMaintenance, openMaintenance } from "./history";

const MAX_BATCH = 100_000;

/** strata.known_chunks: the chunks of `hashes` stored in sound packs, with their pack and its size. */
export function knownChunks(hashes: SqlArray<Bytes> | undefined): void {
  if (hashes === undefined) return;
  if (arrayLength(hashes) > MAX_BATCH) raise("invalidArgument", `at most ${MAX_BATCH} hashes per call, got ${arrayLength(hashes)}`);
  for (const r of query<{ chunk: Bytes; pack: Bytes; size: number }>(
    `select c.hash as chunk, p.hash as pack, p.size
     from unnest($1::bytea[]) h join strata.chunks c on c.hash = h join strata.packs p on p.id = c.pack_id
     where p.damaged_at is null`,
    ["bytea[]"],
    hashes,
  ))
    emit(r.chunk, r.pack, r.size);
}

/** strata.mark_damaged_packs: record that these packs are missing or wrong in the store; returns how many were new. */
export function markDamagedPacks(packs: SqlArray<Bytes> | undefined, reason: string | undefined): number {
  if (packs === undefined || arrayLength(packs) === 0) return 0;
  if (reason === undefined || reason === "") return raise("invalidArgument", "say what is wrong with the packs");
  openMaintenance("mark damaged packs", `{"packs": ${arrayLength(packs)}}`);
  const n = queryOne<{ n: number }>(
    `with m as (update strata.packs set damaged_at = now(), damage = $2
                where hash = any($1::bytea[]) and damaged_at is null returning 1)
     select count(*)::int as n from m`,
    ["bytea[]", "text"],
    packs,
    reason,
  )!.n;
  closeMaintenance();
  return n;
}
