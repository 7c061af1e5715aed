// New chunks travel in pack objects of about `packSize` bytes (a million small files
// make a few hundred PUTs, not a million). A pack is stored first and registered in
// the database after, so a chunk row always points at bytes that exist; a crash in
// between leaves an unregistered pack, which the next push simply does not reuse.
// A pack is named by the SHA-256 of a salt unique to its writer (the push, or the gc run
// that repacks) and its chunks' hashes in order: 32 bytes of hashing per chunk instead of
// a pass over the pack. A name is never written twice, so gc deleting a pack can never
// delete a newer upload of the same chunks. Readers verify every chunk they take from a pack.
// A chunk enters compressed when that pays (loader/codec.ts): the encoding runs on the
// thread pool while more chunks arrive, and a pack is sealed by its stored bytes.

import { createHash } from "node:crypto";
import { compressionLevel, type Encoded, encodeChunk, RAW } from "../codec.js";
import type { ObjectStore } from "../store/index.js";
import { packKey } from "../store/index.js";

export interface PackerDb {
  registerPack(
    pack: Buffer,
    size: number,
    hashes: Buffer[],
    offsets: number[],
    sizes: number[],
    storedSizes: number[],
    codecs: number[],
  ): Promise<void>;
}

export interface PackerOptions {
  /** Unique to this writer, e.g. `push:42` (see packName). */
  salt: string;
  /** Seal a pack once it holds this many bytes (default 16 MiB). */
  packSize?: number;
  /** Packs being uploaded at once; adding waits beyond it (default 3). Memory is about (inFlight + 1) x packSize. */
  inFlight?: number;
  /** zstd level for chunks that pay to compress, 0 to store every chunk raw (default: STRATA_COMPRESSION, loader/codec.ts). */
  compression?: number;
}

export interface PackerStats {
  packs: number;
  chunks: number;
  /** Bytes stored in packs (compressed where it paid). */
  bytes: number;
  /** The same chunks' raw bytes. */
  rawBytes: number;
}

interface Part {
  hash: Buffer;
  size: number;
  encoded: Encoded | Promise<Encoded>;
  /** Gives the raw bytes' memory back (ChunkOptions.recycle) once no longer read: stored, or compressed. */
  release: (() => void) | undefined;
}
type Settled = Part & { encoded: Encoded };

export class Packer {
  private parts: Part[] = [];
  /** Stored bytes of the parts encoded so far, and raw bytes of those still encoding. */
  private size = 0;
  private encoding = 0;
  private readonly uploads = new Set<Promise<void>>();
  private failure: unknown;
  readonly stats: PackerStats = { packs: 0, chunks: 0, bytes: 0, rawBytes: 0 };
  private readonly packSize: number;
  private readonly inFlight: number;
  private readonly compression: number;

  constructor(
    private readonly store: ObjectStore,
    private readonly db: PackerDb,
    private readonly opts: PackerOptions,
  ) {
    this.packSize = opts.packSize ?? 16 * 1024 * 1024;
    this.inFlight = opts.inFlight ?? 3;
    this.compression = opts.compression ?? compressionLevel();
  }

  /**
   * Add a chunk the database lacks; resolves once there is room for more. `release` is
   * called once `data` is no longer read (its pack is stored, or it was compressed).
   */
  async add(hash: Buffer, data: Buffer, release?: () => void): Promise<void> {
    this.throwIfFailed();
    this.parts.push({ hash, size: data.length, encoded: encodeChunk(data, this.compression), release });
    this.encoding += data.length;
    // Wait for the encodings once they hold a quarter pack of raw bytes: memory stays bounded.
    if (this.encoding >= this.packSize / 4) await this.settle();
    if (this.size >= this.packSize) await this.seal();
  }

  /** Add a chunk in the form it is already stored in (gc copies stored bytes, never recompresses). */
  async addStored(hash: Buffer, size: number, encoded: Encoded): Promise<void> {
    this.throwIfFailed();
    this.parts.push({ hash, size, encoded, release: undefined });
    this.size += encoded.bytes.length;
    if (this.size >= this.packSize) await this.seal();
  }

  /** Store and register everything added so far. */
  async flush(): Promise<void> {
    if (this.parts.length > 0) await this.seal();
    await Promise.all(this.uploads);
    this.throwIfFailed();
  }

  /** Wait for the chunks being encoded and count their stored bytes. */
  private async settle(): Promise<void> {
    if (this.encoding === 0) return;
    const parts = this.parts;
    this.encoding = 0;
    for (const p of parts)
      if (p.encoded instanceof Promise) {
        p.encoded = await p.encoded;
        this.size += p.encoded.bytes.length;
        if (p.encoded.codec !== RAW) {
          p.release?.(); // the pack takes the frame, not the raw bytes
          p.release = undefined;
        }
      }
  }

  private async seal(): Promise<void> {
    await this.settle();
    const parts = this.parts;
    this.parts = [];
    this.size = 0;
    while (this.uploads.size >= this.inFlight) await Promise.race(this.uploads);
    this.throwIfFailed();
    const upload = this.upload(parts as Settled[]).catch((e) => {
      this.failure ??= e;
    });
    this.uploads.add(upload);
    void upload.finally(() => this.uploads.delete(upload));
  }

  private async upload(parts: Settled[]): Promise<void> {
    const hashes = parts.map((p) => p.hash);
    const packHash = packName(this.opts.salt, hashes);
    // Replace whatever is there: a name is this writer's alone, so an object already under
    // it is left by a killed attempt of the same writer, or damaged.
    await this.store.put(
      packKey(packHash.toString("hex")),
      parts.map((p) => p.encoded.bytes),
      { replace: true },
    );
    for (const p of parts) p.release?.();
    const offsets: number[] = [];
    let offset = 0;
    for (const p of parts) {
      offsets.push(offset);
      offset += p.encoded.bytes.length;
    }
    const sizes = parts.map((p) => p.size);
    await this.db.registerPack(
      packHash,
      offset,
      hashes,
      offsets,
      sizes,
      parts.map((p) => p.encoded.bytes.length),
      parts.map((p) => p.encoded.codec),
    );
    this.stats.packs++;
    this.stats.chunks += parts.length;
    this.stats.bytes += offset;
    this.stats.rawBytes += sizes.reduce((a, b) => a + b, 0);
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
