// Fetching chunks: from the local cache when it has them, else from their packs with
// one getRanges call per pack (the store merges neighbouring ranges into few reads).
// Every chunk is verified against its SHA-256 (or its file's, see verifiedChunks)
// whatever its source; the error names the file and chunk, because that is what the
// person running checkout knows.

import { decodeChunk, type StoredForm } from "../codec.js";
import { StrataError } from "../errors.js";
import { isStoreError, packKey, type ObjectStore } from "../store/index.js";
import type { Session } from "../session.js";
import type { BufferLease } from "./bufferpool.js";
import type { ChunkCache } from "./cache.js";
import { hashPool, sha256 } from "./hashpool.js";
import { eachLimited } from "../parallel.js";

export interface ChunkNeed {
  hash: string;
  size: number;
  pack: string;
  offset: number;
  /** How the pack keeps it (raw, `size` bytes, when absent). */
  stored?: StoredForm | undefined;
  /** For messages: a file holding this chunk, and the chunk's 1-based place in it. */
  path: string;
  seq: number;
  /**
   * Verified by the hash of every file it is written into, not by its own (see
   * verifiedChunks); set by stage.ts only, and never with a cache, which keeps verified chunks.
   */
  byFile?: boolean;
}

export interface FetchStats {
  /** Chunks and chunk bytes read from the store. */
  chunksFetched: number;
  bytesFetched: number;
  /** Chunks and bytes served by the local cache. */
  chunksCached: number;
  bytesCached: number;
}

export function chunkMismatch(need: { path: string; seq: number }, source: string): StrataError {
  return new StrataError(`chunk ${need.seq} of ${need.path} does not match its hash (${source} returned corrupt data)`, "corrupt");
}

/** Where chunks are now, by hex hash (strata.chunk_locations). */
export type Relocate = (hashes: string[]) => Promise<Map<string, { pack: string; offset: number; stored: StoredForm }>>;

export class ChunkFetcher {
  readonly stats: FetchStats = { chunksFetched: 0, bytesFetched: 0, chunksCached: 0, bytesCached: 0 };

  constructor(
    private readonly store: ObjectStore,
    private readonly cache: ChunkCache | undefined,
    private readonly concurrency: number,
    /** Asked once when a pack is missing: gc may have moved its chunks to a new pack and deleted it. */
    private readonly relocate?: Relocate,
  ) {}

  /** Whether chunks may be verified by their files' hashes (ChunkNeed.byFile): not when they go into the cache. */
  get verifiesByFile(): boolean {
    return this.cache === undefined;
  }

  /**
   * The bytes of every needed chunk, by hash; chunks already in `have` are not fetched again.
   * Pack reads land in buffers of `lease` when given: the caller releases it once done with the bytes.
   */
  async fetch(needs: readonly ChunkNeed[], have?: ReadonlyMap<string, Buffer>, lease?: BufferLease): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>();
    const wanted = new Map<string, ChunkNeed>();
    for (const n of needs) {
      const known = have?.get(n.hash);
      if (known !== undefined) out.set(n.hash, known);
      else if (!wanted.has(n.hash)) wanted.set(n.hash, n.byFile === true && !this.verifiesByFile ? { ...n, byFile: false } : n);
    }
    let missing = [...wanted.values()];
    if (this.cache !== undefined) missing = await this.fromCache(this.cache, missing, out);

    const byPack = new Map<string, ChunkNeed[]>();
    for (const n of missing) {
      const list = byPack.get(n.pack);
      if (list === undefined) byPack.set(n.pack, [n]);
      else list.push(n);
    }
    await eachLimited([...byPack], this.concurrency, async ([pack, list]) => {
      const data = await verifiedChunks(list, await this.readPack(pack, list, lease), "the store");
      await eachLimited(list, 8, async (n, i) => {
        const bytes = data[i]!;
        this.stats.chunksFetched++;
        this.stats.bytesFetched += bytes.length;
        out.set(n.hash, bytes);
        await this.cache?.put(n.hash, bytes);
      });
    });
    return out;
  }

  private async fromCache(cache: ChunkCache, needs: ChunkNeed[], out: Map<string, Buffer>): Promise<ChunkNeed[]> {
    const rest: ChunkNeed[] = [];
    await eachLimited(needs, 16, async (n) => {
      const bytes = await cache.get(n.hash);
      if (bytes === undefined) {
        rest.push(n);
        return;
      }
      this.stats.chunksCached++;
      this.stats.bytesCached += bytes.length;
      out.set(n.hash, bytes);
    });
    return rest;
  }

  /** The chunks' raw bytes, each undefined when its stored bytes do not decode. */
  private async readPack(
    pack: string,
    list: readonly ChunkNeed[],
    lease: BufferLease | undefined,
    moved = false,
  ): Promise<(Buffer | undefined)[]> {
    const key = packKey(pack);
    try {
      const stored = await this.store.getRanges(
        key,
        list.map((n) => ({ offset: n.offset, length: n.stored?.size ?? n.size })),
        lease === undefined ? undefined : { alloc: lease.alloc },
      );
      return await Promise.all(stored.map((b, i) => decodeChunk(b, list[i]!.stored?.codec ?? 0, list[i]!.size)));
    } catch (e) {
      const first = list[0]!;
      if (isStoreError(e, "not_found") && !moved && this.relocate !== undefined) {
        const now = await this.relocate(list.map((n) => n.hash));
        if (list.every((n) => now.has(n.hash) && now.get(n.hash)!.pack !== pack)) return this.readMoved(list, now, lease);
      }
      if (isStoreError(e, "not_found"))
        throw new StrataError(
          `pack ${key} holding chunk ${first.seq} of ${first.path} is missing from ${this.store.describe()}`,
          "corrupt",
          { cause: e },
        );
      if (isStoreError(e, "bad_range"))
        throw new StrataError(
          `pack ${key} holding chunk ${first.seq} of ${first.path} is shorter than the database says (${this.store.describe()})`,
          "corrupt",
          { cause: e },
        );
      throw e;
    }
  }

  /** Read chunks from where they are now, pack by pack, answered in the order of `list`. */
  private async readMoved(
    list: readonly ChunkNeed[],
    now: Map<string, { pack: string; offset: number; stored: StoredForm }>,
    lease: BufferLease | undefined,
  ): Promise<(Buffer | undefined)[]> {
    const byPack = new Map<string, { need: ChunkNeed; at: number }[]>();
    list.forEach((n, at) => {
      const where = now.get(n.hash)!;
      const need = { ...n, pack: where.pack, offset: where.offset, stored: where.stored };
      byPack.set(where.pack, [...(byPack.get(where.pack) ?? []), { need, at }]);
    });
    const out: (Buffer | undefined)[] = new Array(list.length);
    for (const [pack, items] of byPack) {
      const data = await this.readPack(
        pack,
        items.map((i) => i.need),
        lease,
        true,
      );
      items.forEach((i, k) => {
        out[i.at] = data[k];
      });
    }
    return out;
  }
}

/** Where chunks are now, asked of the database. */
export function locator(s: Session): Relocate {
  return async (hashes) => {
    const rows = await s.query<{ chunk: Buffer; pack: Buffer; pack_offset: number; stored_size: number; codec: number }>(
      "select * from strata.chunk_locations($1::bytea[])",
      [hashes.map((h) => Buffer.from(h, "hex"))],
    );
    return new Map(
      rows.map((r) => [
        r.chunk.toString("hex"),
        { pack: r.pack.toString("hex"), offset: Number(r.pack_offset), stored: { size: r.stored_size, codec: r.codec } },
      ]),
    );
  };
}

/**
 * The chunks' bytes as read from their packs and decoded, checked to be exactly what each chunk's
 * hash names (hashed off the main thread when large); the one place where stored bytes
 * become trusted chunk bytes. A chunk marked `byFile` is checked here for its size only:
 * the file it goes into is hashed whole before it is renamed into place (stage.ts), and
 * that hash, which the version's trees name, binds every byte of the chunk too, so each
 * byte of a checkout is hashed once, not twice. On a mismatch stage.ts hashes the file's
 * chunks one by one (chunkAtFault) to name the bad one.
 */
export async function verifiedChunks(
  needs: readonly ChunkNeed[],
  decoded: readonly (Buffer | undefined)[],
  source: string,
): Promise<Buffer[]> {
  const raw = needs.map((n, i) => {
    const b = decoded[i]; // undefined: the stored bytes did not decode to the chunk's size
    if (b === undefined || b.length !== n.size) throw chunkMismatch(n, source);
    return b;
  });
  const own = needs.flatMap((n, i) => (n.byFile === true ? [] : [i]));
  const hashes = await hashPool.hashAll(own.map((i) => raw[i]!));
  own.forEach((i, k) => {
    if (hashes[k] !== needs[i]!.hash) throw chunkMismatch(needs[i]!, source);
  });
  return raw;
}

/**
 * The first of a file's chunks (in order, `size` bytes each) whose bytes in `read` do not
 * match its hash, or undefined: asked when a file assembled from chunks verified by its
 * hash (`byFile`) does not match it, to tell a corrupt chunk from a damaged database.
 */
export async function chunkAtFault<C extends { hash: string; size: number }>(
  chunks: readonly C[],
  read: (offset: number, length: number) => Promise<Buffer>,
): Promise<C | undefined> {
  let at = 0;
  for (const c of chunks) {
    if (sha256(await read(at, c.size)) !== c.hash) return c;
    at += c.size;
  }
  return undefined;
}
