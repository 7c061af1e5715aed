// The local chunk cache: verified chunk bytes under <dir>/<2 hex>/<64 hex>, so a
// second checkout of the same data from a remote store reads no packs. Entries are
// written to a temp name and renamed (a reader never sees half an entry) and are
// verified on every read: a damaged entry is deleted and the chunk fetched again.
// The cache is best effort: failing to write an entry never fails a checkout.

import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";

import type { Session } from "../session.js";
import { FileStore, type ObjectStore } from "../store/index.js";

/**
 * True when the store's packs are local files already (file:// store): caching
 * their chunks would only copy bytes, so callers pass no cacheDir for it.
 */
export function isLocalStore(store: ObjectStore): boolean {
  return store instanceof FileStore || store.describe().startsWith("file:");
}

/** The conventional cache folder under a Strata home. */
export function defaultCacheDir(strataHome: string): string {
  return join(strataHome, "cache", "chunks");
}

/** The cache a session's reads use: none for a local store, else the home's. */
export function chunkCacheDir(session: Session): string | undefined {
  return isLocalStore(session.store) ? undefined : defaultCacheDir(session.home);
}

export interface CacheStats {
  hits: number;
  misses: number;
  /** Entries that failed verification and were deleted. */
  dropped: number;
  written: number;
}

export class ChunkCache {
  readonly stats: CacheStats = { hits: 0, misses: 0, dropped: 0, written: 0 };

  constructor(readonly dir: string) {}

  pathOf(hash: string): string {
    return join(this.dir, hash.slice(0, 2), hash);
  }

  /** The chunk's bytes when cached and intact, else undefined. */
  async get(hash: string): Promise<Buffer | undefined> {
    let data: Buffer;
    try {
      data = await readFile(this.pathOf(hash));
    } catch {
      this.stats.misses++;
      return undefined;
    }
    if (createHash("sha256").update(data).digest("hex") === hash) {
      this.stats.hits++;
      return data;
    }
    this.stats.dropped++;
    this.stats.misses++;
    await unlink(this.pathOf(hash)).catch(() => {});
    return undefined;
  }

  /** Stores verified bytes; errors (disk full, read-only) are swallowed. */
  async put(hash: string, data: Buffer): Promise<void> {
    const final = this.pathOf(hash);
    const tmp = join(this.dir, hash.slice(0, 2), `.tmp-${process.pid}-${randomBytes(6).toString("hex")}`);
    try {
      await mkdir(join(this.dir, hash.slice(0, 2)), { recursive: true });
      await writeFile(tmp, data);
      await rename(tmp, final);
      this.stats.written++;
    } catch {
      await unlink(tmp).catch(() => {});
    }
  }
}
