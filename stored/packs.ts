// Packs the database cannot see: a push asks which packs hold the chunks it is about to
// reuse (to check each exists with its recorded size, once per store and home), and
// reports the damaged ones; fsck pages through every pack and reports damage too. A
// damaged pack's chunks count as missing (stored/chunks.ts), so a later push uploads them
// again and register_pack moves their rows to the new pack. Asking which chunks exist marks
// their packs used, which protects them from gc for its grace.

import { arrayLength, emit, type Bytes, query, queryOne, raise, type SqlArray } from "./host";
import { closeMaintenance, openMaintenance } from "./history";

const MAX_BATCH = 100_000;

/**
 * A CTE `fresh (id, hash, size)`: the packs among `packIds` (a query of pack ids) that are
 * neither damaged nor dying, marked used now. What a client learns it may reuse, gc leaves
 * alone for its grace (stored/gc.ts): each pack is locked in id order (no deadlock between
 * two pushes) and checked again once locked, so a pack gc marked dying meanwhile is left out.
 */
export function freshPacksCte(packIds: string): string {
  return `fresh as (
    update strata.packs p set used_at = now()
    from (select id from strata.packs where id in (${packIds}) and damaged_at is null and dying_at is null
          order by id for update) l
    where p.id = l.id
    returning p.id, p.hash, p.size)`;
}

/** strata.known_chunks: the chunks of `hashes` stored in sound packs, with their pack and its size; those packs count as used now. */
export function knownChunks(hashes: SqlArray<Bytes> | undefined): void {
  if (hashes === undefined) return;
  if (arrayLength(hashes) > MAX_BATCH) raise("invalidArgument", `at most ${MAX_BATCH} hashes per call, got ${arrayLength(hashes)}`);
  for (const r of query<{ chunk: Bytes; pack: Bytes; size: number }>(
    `with want as (select c.hash as chunk, c.pack_id from unnest($1::bytea[]) h join strata.chunks c on c.hash = h),
     ${freshPacksCte("select pack_id from want")}
     select w.chunk, f.hash as pack, f.size from want w join fresh f on f.id = w.pack_id`,
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
