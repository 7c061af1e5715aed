// New chunks travel in pack objects of about `packSize` bytes (a million small files
// make a few hundred PUTs, not a million). A pack is stored first and registered in
// the database after, so a chunk row always points at bytes that exist; a crash in
// between leaves an unregistered pack, which the next push simply does not reuse.
// A pack is named by the SHA-256 of a salt unique to its writer (the push, or the gc run
// that repacks) and its chunks' hashes in order: 32 bytes of hashing per chunk instead of
// a pass over the pack. A name is never written twice, so gc deleting a pack can never
// delete a newer upload of the same chunks. Readers verify every chunk they take from a pack.

import { createHash } from "node:crypto";
import type { ObjectStore } from "../store/index.js";
import { packKey } from "../store/index.js";

export interface PackerDb {
  registerPack(pack: Buffer, size: number, hashes: Buffer[], offsets: number[], sizes: number[]): Promise<void>;
}

export interface PackerOptions {
  /** Unique to this writer, e.g. `push:42` (see packName). */
  salt: string;
  /** Seal a pack once it holds this many bytes (default 16 MiB). */
  packSize?: number;
  /** Packs being uploaded at once; adding waits beyond it (default 3). Memory is about (inFlight + 1) x packSize. */
  inFlight?: number;
}

export interface PackerStats {
  packs: number;
  chunks: number;
  bytes: number;
}

export class Packer {
  private parts: Buffer[] = [];
  private hashes: Buffer[] = [];
  private size = 0;
  private readonly uploads = new Set<Promise<void>>();
  private failure: unknown;
  readonly stats: PackerStats = { packs: 0, chunks: 0, bytes: 0 };
  private readonly packSize: number;
  private readonly inFlight: number;

  constructor(
    private readonly store: ObjectStore,
    private readonly db: PackerDb,
    private readonly opts: PackerOptions,
  ) {
    this.packSize = opts.packSize ?? 16 * 1024 * 1024;
    this.inFlight = opts.inFlight ?? 3;
  }

  /** Add a chunk the database lacks; resolves once there is room for more. */
  async add(hash: Buffer, data: Buffer): Promise<void> {
    this.throwIfFailed();
    this.parts.push(data);
    this.hashes.push(hash);
    this.size += data.length;
    if (this.size >= this.packSize) await this.seal();
  }

  /** Store and register everything added so far. */
  async flush(): Promise<void> {
    if (this.size > 0) await this.seal();
    await Promise.all(this.uploads);
    this.throwIfFailed();
  }

  private async seal(): Promise<void> {
    const parts = this.parts;
    const hashes = this.hashes;
    this.parts = [];
    this.hashes = [];
    this.size = 0;
    while (this.uploads.size >= this.inFlight) await Promise.race(this.uploads);
    this.throwIfFailed();
    const upload = this.upload(parts, hashes).catch((e) => {
      this.failure ??= e;
    });
    this.uploads.add(upload);
    void upload.finally(() => this.uploads.delete(upload));
  }

  private async upload(parts: Buffer[], hashes: Buffer[]): Promise<void> {
    const packHash = packName(this.opts.salt, hashes);
    // Replace whatever is there: a name is this writer's alone, so an object already under
    // it is left by a killed attempt of the same writer, or damaged.
    await this.store.put(packKey(packHash.toString("hex")), parts, { replace: true });
    const offsets: number[] = [];
    let offset = 0;
    for (const p of parts) {
      offsets.push(offset);
      offset += p.length;
    }
    await this.db.registerPack(
      packHash,
      offset,
      hashes,
      offsets,
      parts.map((p) => p.length),
    );
    this.stats.packs++;
    this.stats.chunks += parts.length;
    this.stats.bytes += offset;
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}

/** The name of a pack of writer `salt` holding these chunks in this order. */
export function packName(salt: string, chunkHashes: readonly Buffer[]): Buffer {
  const h = createHash("sha256").update(`strata pack ${salt}\n`);
  for (const c of chunkHashes) h.update(c);
  return h.digest();
}
