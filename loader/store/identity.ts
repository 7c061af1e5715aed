// A database and its object store belong together: the database's chunk rows describe
// packs in that one store. Both record one store id (the store in its object
// strata.json, the database in strata.settings) and every command checks they agree
// before it reads or writes chunks.

import { randomUUID } from "node:crypto";
import { StoreError } from "./errors.js";
import type { ObjectStore } from "./store.js";

export const MARKER_KEY = "strata.json";

/** The store's id, creating its marker when the store is new. */
export async function storeId(store: ObjectStore): Promise<string> {
  const read = async () => (JSON.parse((await store.get(MARKER_KEY)).toString("utf8")) as { storeId: string }).storeId;
  try {
    return await read();
  } catch (e) {
    if (!(e instanceof StoreError && e.kind === "not_found")) throw e;
  }
  await store.put(MARKER_KEY, Buffer.from(JSON.stringify({ format: 1, storeId: randomUUID() }) + "\n"));
  // two loaders may create it at once: the one stored is the one that counts
  return read();
}
