// Which chunks to upload: those the database lacks, those in packs that turn out not to
// be in the store (verify.ts), and none this push has packed already. Chunks wait in a
// batch (bounded in count and bytes) so the database is asked once per batch, not once
// per chunk.

import type { Packer } from "./packer.js";
import type { PackVerifier } from "./verify.js";

export interface KnownChunk {
  chunk: Buffer;
  /** The pack the database says holds it, and that pack's recorded size. */
  pack: Buffer;
  packSize: number;
}

export interface DedupDb {
  /** The chunks among `hashes` the database has in sound packs (strata.known_chunks). */
  knownChunks(hashes: Buffer[]): Promise<KnownChunk[]>;
  /** Report packs missing from the store or of another size (strata.mark_damaged_packs). */
  markDamaged(packs: Buffer[], reason: string): Promise<void>;
}

export interface DedupStats {
  chunks: number;
  bytes: number;
  newChunks: number;
  newBytes: number;
  /** Packs found missing or of another size in the store, whose chunks were uploaded again. */
  damagedPacks: number;
}

interface Pending {
  hash: Buffer;
  key: string;
  data: Buffer;
  /** Gives the bytes' memory back to the chunker (ChunkOptions.recycle), once they are packed or not needed. */
  release: (() => void) | undefined;
}

export class ChunkDedup {
  private batch: Pending[] = [];
  private batchBytes = 0;
  /** The batch being checked and packed, if any. */
  private running: Promise<void> = Promise.resolve();
  /**
   * Hex hashes this push has packed whose pack is not registered yet (so must not be
   * packed again). Once registered the database answers for them (known_chunks), so
   * they are forgotten: the set holds a few packs' worth, not every chunk of the push.
   */
  private readonly pending = new Set<string>();
  /** Chunks added whose batch has been checked (so each is known, or pending until its pack is registered). */
  private checked = 0;
  readonly stats: DedupStats = { chunks: 0, bytes: 0, newChunks: 0, newBytes: 0, damagedPacks: 0 };

  constructor(
    private readonly db: DedupDb,
    private readonly packer: Packer,
    private readonly verifier: PackVerifier,
    private readonly maxCount = 2048,
    private readonly maxBytes = 16 * 1024 * 1024,
  ) {}

  async add(hash: Buffer, data: Buffer, release?: () => void): Promise<void> {
    this.stats.chunks++;
    this.stats.bytes += data.length;
    this.batch.push({ hash, key: hash.toString("hex"), data, release });
    this.batchBytes += data.length;
    if (this.batch.length >= this.maxCount || this.batchBytes >= this.maxBytes) {
      // One batch is checked while the next fills: the reader does not wait on the
      // database's answer, only on the batch before (so batches stay in order).
      await this.running;
      this.running = this.check(this.take());
      this.running.catch(() => {}); // seen by the next add or drain
    }
  }

  /** Check and pack everything added so far. */
  async drain(): Promise<void> {
    await this.running;
    await this.check(this.take());
  }

  /** How many chunks have been added so far: the mark `inDatabase` takes. */
  get added(): number {
    return this.stats.chunks;
  }

  /**
   * Whether these chunks (hashes back to back), all added before mark `added`, are in
   * the database now: their batch was checked and none waits for its pack to be registered.
   */
  inDatabase(chunks: Buffer, added: number): boolean {
    if (added > this.checked) return false;
    for (let at = 0; at < chunks.length; at += 32) if (this.pending.has(chunks.toString("hex", at, at + 32))) return false;
    return true;
  }

  /** These chunks' pack is registered: the database knows them from now on. */
  registered(hashes: readonly Buffer[]): void {
    for (const h of hashes) this.pending.delete(h.toString("hex"));
  }

  private take(): Pending[] {
    const batch = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    return batch;
  }

  private async check(batch: Pending[]): Promise<void> {
    await this.checkBatch(batch);
    this.checked += batch.length;
  }

  private async checkBatch(batch: Pending[]): Promise<void> {
    const unseen = new Map<string, Pending>();
    for (const c of batch) {
      if (this.pending.has(c.key) || unseen.has(c.key))
        c.release?.(); // packed already
      else unseen.set(c.key, c);
    }
    if (unseen.size === 0) return;
    const known = await this.db.knownChunks([...unseen.values()].map((c) => c.hash));
    const packs = new Map<string, number>();
    for (const k of known) packs.set(k.pack.toString("hex"), k.packSize);
    const damaged = new Set(await this.verifier.damaged(packs));
    if (damaged.size > 0) {
      await this.db.markDamaged(
        [...damaged].map((h) => Buffer.from(h, "hex")),
        "missing from the store, or of another size, when a push came to reuse it",
      );
      this.stats.damagedPacks += damaged.size;
    }
    for (const k of known) {
      const key = k.chunk.toString("hex");
      if (damaged.has(k.pack.toString("hex"))) continue;
      unseen.get(key)?.release?.();
      unseen.delete(key);
    }
    for (const [key, c] of unseen) {
      this.pending.add(key);
      this.stats.newChunks++;
      this.stats.newBytes += c.data.length;
      await this.packer.add(c.hash, c.data, c.release);
    }
  }
}
