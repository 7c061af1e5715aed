// Which chunks to upload: those neither known to the database nor already packed by
// this push. Chunks wait in a batch (bounded in count and bytes) so the database is
// asked once per batch, not once per chunk.

import type { Packer } from "./packer.js";

export interface DedupDb {
  /** The hashes among `hashes` that the database lacks. */
  missingChunks(hashes: Buffer[]): Promise<Buffer[]>;
}

export interface DedupStats {
  chunks: number;
  bytes: number;
  newChunks: number;
  newBytes: number;
}

export class ChunkDedup {
  private batch: { hash: Buffer; key: string; data: Buffer }[] = [];
  private batchBytes = 0;
  /** Hex hashes this push has packed (and so must not pack again). */
  readonly packed = new Set<string>();
  readonly stats: DedupStats = { chunks: 0, bytes: 0, newChunks: 0, newBytes: 0 };

  constructor(
    private readonly db: DedupDb,
    private readonly packer: Packer,
    private readonly maxCount = 2048,
    private readonly maxBytes = 16 * 1024 * 1024,
  ) {}

  async add(hash: Buffer, data: Buffer): Promise<void> {
    this.stats.chunks++;
    this.stats.bytes += data.length;
    this.batch.push({ hash, key: hash.toString("hex"), data });
    this.batchBytes += data.length;
    if (this.batch.length >= this.maxCount || this.batchBytes >= this.maxBytes) await this.drain();
  }

  async drain(): Promise<void> {
    const batch = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    const unseen = new Map<string, { hash: Buffer; data: Buffer }>();
    for (const c of batch) if (!this.packed.has(c.key)) unseen.set(c.key, c);
    if (unseen.size === 0) return;
    const missing = await this.db.missingChunks([...unseen.values()].map((c) => c.hash));
    for (const h of missing) {
      const key = h.toString("hex");
      const c = unseen.get(key);
      if (!c || this.packed.has(key)) continue;
      this.packed.add(key);
      this.stats.newChunks++;
      this.stats.newBytes += c.data.length;
      await this.packer.add(c.hash, c.data);
    }
  }
}
