// A database and its object store belong together: the database's chunk rows describe
// packs in that one store. Both keep one store id (the store in its object strata.json,
// the database in strata.settings) and every command checks they agree before it reads
// or writes chunks. The database hands out the id, so concurrent first pushes from one
// database agree on it; a store that has no id yet takes the database's only while the
// database describes no chunks.

import { randomUUID } from "node:crypto";
import { StoreError } from "./errors.js";
import type { ObjectStore } from "./store.js";

export const MARKER_KEY = "strata.json";

export interface StoreIdDb {
  /** The id the database has (`proposed` when it had none: claimed), and whether it has chunks (strata.claim_store). */
  claim(proposed: string): Promise<{ id: string; claimed: boolean; hasChunks: boolean }>;
}

async function readMarker(store: ObjectStore): Promise<string | undefined> {
  try {
    return (JSON.parse((await store.get(MARKER_KEY)).toString("utf8")) as { storeId: string }).storeId;
  } catch (e) {
    if (e instanceof StoreError && e.kind === "not_found") return undefined;
    throw e;
  }
}

/** Resolves when `store` is the database's store; otherwise says why not. */
export async function checkStoreIdentity(db: StoreIdDb, store: ObjectStore): Promise<{ ok: true } | { ok: false; why: string }> {
  const marker = await readMarker(store);
  const { id, claimed, hasChunks } = await db.claim(marker ?? randomUUID());
  if (marker !== undefined)
    return marker === id ? { ok: true } : { ok: false, why: `its store id is ${marker}; the database's chunks are in store ${id}` };
  if (!claimed && hasChunks) {
    // A loader of this database writes the marker before its first chunk, so chunks that
    // appeared since our first read came with a marker: read it again before refusing.
    const now = await readMarker(store);
    if (now === id) return { ok: true };
    return { ok: false, why: `it holds no Strata data; the database's chunks are in store ${id}` };
  }
  await store.put(MARKER_KEY, Buffer.from(`${JSON.stringify({ format: 1, storeId: id })}\n`));
  const stored = await readMarker(store);
  return stored === id ? { ok: true } : { ok: false, why: `another database claimed it first (store id ${stored})` };
}
