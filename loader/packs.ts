// Pack objects in the store and pack rows in the database, each in hash order, so fsck
// and gc can merge the two in one pass in bounded memory.

import type { Session } from "./session.js";

export interface StoredPack {
  hex: string;
  size: number;
  modified: Date;
}

export interface PackRow {
  hash: Buffer;
  size: number;
  damaged: boolean;
  chunk_count: number;
  /** gc is deleting it (its object may be gone already). */
  dying: boolean;
}

const PAGE = 5000;

/** Every pack object in the store, in hash order (keys sort as their hashes do). */
export async function* storePacks(s: Session): AsyncGenerator<StoredPack> {
  for await (const e of s.store.list("packs/")) {
    const m = /^packs\/[0-9a-f]{2}\/([0-9a-f]{64})$/.exec(e.key);
    if (m !== null) yield { hex: m[1]!, size: e.size, modified: e.modified };
  }
}

/** Every pack row, in pages. */
export async function* dbPacks(s: Session): AsyncGenerator<PackRow> {
  let after: Buffer | null = null;
  for (;;) {
    const rows: PackRow[] = await s.query<PackRow>("select * from strata.packs_page($1, $2)", [after, PAGE]);
    yield* rows;
    if (rows.length < PAGE) return;
    after = rows[rows.length - 1]!.hash;
  }
}

/**
 * The store's pack objects merged with the rows: each object with its row (undefined
 * when no row knows it), then each row that has no object (object undefined).
 */
export async function* mergePacks(s: Session): AsyncGenerator<{ object?: StoredPack; row?: PackRow }> {
  const listing = storePacks(s)[Symbol.asyncIterator]();
  let next = await listing.next();
  for await (const row of dbPacks(s)) {
    const hex = row.hash.toString("hex");
    while (!next.done && next.value.hex < hex) {
      yield { object: next.value };
      next = await listing.next();
    }
    if (!next.done && next.value.hex === hex) {
      yield { object: next.value, row };
      next = await listing.next();
    } else yield { row };
  }
  for (; !next.done; next = await listing.next()) yield { object: next.value };
}
