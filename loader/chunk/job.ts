/**
 * One file (or stream) going through the pipeline.
 *
 * A producer loop reads blocks, finds boundaries on the main thread and posts
 * work to the hashing workers; the consumer pulls finished chunks in order.
 * Memory is bounded twice: at most `aheadLimit` bytes are read ahead of the
 * consumer, and at most `maxBlocks` shared blocks are held at once.
 */
import type { Block, BlockPool } from "./blocks.js";
import { FastCdc } from "./fastcdc.js";
import type { WorkerReply } from "./hash-worker.js";
import type { ResolvedParams } from "./params.js";
import type { ChunkPipeline, JobSink } from "./pipeline.js";
import type { ByteSource, Chunk, ChunkEvent } from "./types.js";

export const DEFAULT_READ_AHEAD = 64 * 1024 * 1024;

interface Pending {
  seq: number;
  offset: number;
  length: number;
  /** Blocks this chunk's bytes live in, released when the worker has copied them (a view: when handed out, as a lease). */
  blocks: Block[];
  digest: Buffer | null;
  data: Buffer | null;
  /** Where the worker copies the bytes when recycling (slabs.ts), and how to give that room back. */
  dst: SharedArrayBuffer | null;
  dstOff: number;
  release: (() => void) | undefined;
  /**
   * Recycling, a chunk within one block is not copied: it is hashed where it lies and handed
   * out as a view into the block (at viewOff), which is leased until the consumer releases it.
   */
  view: boolean;
  viewOff: number;
}

interface Segment {
  block: Block;
  len: number;
}

function toBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.length);
}

export class ChunkJob implements JobSink {
  private readonly id: number;
  private readonly pool: BlockPool;
  private readonly cdc: FastCdc;
  private readonly aheadLimit: number;
  private readonly maxBlocks: number;

  /** Chunks cut but not yet handed to the consumer, in order, from index `head`. */
  private queue: Pending[] = [];
  private head = 0;
  private first: Pending | null = null;
  private firstDigest: Buffer | null = null;
  private firstCutSent = false;
  private chunkCount = 0;

  private openStart = 0;
  private openLength = 0;
  private openSegs: (SharedArrayBuffer | number)[] = [];
  private openBlocks: Block[] = [];

  private size = 0;
  private inflight = 0;
  private blocksHeld = 0;
  private outstanding = 0;
  private fileDigest: Buffer | null = null;
  private produced = false;
  private readingDone = false;
  private endGiven = false;
  private stopped = false;
  private error: Error | null = null;
  private consumerWake: (() => void) | null = null;
  private producerWake: (() => void) | null = null;
  private readonly signal: AbortSignal | undefined;

  constructor(
    private readonly pipeline: ChunkPipeline,
    params: ResolvedParams,
    private readonly source: ByteSource,
    readAhead: number,
    signal?: AbortSignal,
    private readonly recycle = false,
  ) {
    this.pool = pipeline.pool;
    this.cdc = new FastCdc(params);
    const bs = this.pool.blockSize;
    // Below maxSize + 2 blocks the open chunk could fill the allowance and stall.
    this.aheadLimit = Math.max(readAhead, params.maxSize + 2 * bs);
    // The open chunk spans at most ceil(maxSize / bs) + 1 blocks; add the block
    // being chunked, the one being read, and a few so the hashing threads can lag.
    this.maxBlocks = Math.ceil(params.maxSize / bs) + 6;
    this.id = pipeline.register(this);
    this.signal = signal;
    if (signal !== undefined) {
      if (signal.aborted) this.fail(abortError(signal));
      else signal.addEventListener("abort", this.onAbort, { once: true });
    }
    void this.pump();
  }

  private readonly onAbort = (): void => {
    if (this.signal !== undefined) this.fail(abortError(this.signal));
  };

  private readonly onBlockFree = (): void => {
    this.blocksHeld--;
    this.wakeProducer();
  };

  // ---- producer -------------------------------------------------------------

  private async pump(): Promise<void> {
    let next: Promise<Segment | null> | null = null;
    try {
      next = this.readBlock();
      for (;;) {
        const seg: Segment | null = await next;
        next = null;
        if (seg === null) break;
        // Start the next read before chunking this block: the read runs on libuv's thread meanwhile.
        next = this.readBlock();
        this.consume(seg.block, seg.len);
      }
      if (!this.stopped) this.finishStream();
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
    } finally {
      // After a failure a read may still be in flight: let it land before the
      // close, or it could hit a reused file descriptor.
      if (next !== null) {
        const s = await next.catch(() => null);
        if (s !== null) this.pool.unref(s.block);
      }
      await this.source.close().catch(() => {});
      this.readingDone = true;
      this.maybeUnregister();
    }
  }

  private async readBlock(): Promise<Segment | null> {
    while (!this.stopped && (this.inflight >= this.aheadLimit || this.blocksHeld >= this.maxBlocks)) {
      await new Promise<void>((resolve) => {
        this.producerWake = resolve;
      });
    }
    if (this.stopped) return null;
    this.blocksHeld++;
    const block = this.pool.acquire(this.onBlockFree);
    let n: number;
    try {
      n = await this.source.read(block.bytes);
    } catch (err) {
      this.pool.unref(block);
      throw err;
    }
    if (n === 0 || this.stopped) {
      this.pool.unref(block);
      return null;
    }
    this.size += n;
    this.inflight += n;
    return { block, len: n };
  }

  private consume(block: Block, len: number): void {
    const cuts = this.cdc.push(block.bytes.subarray(0, len));
    let firstCut = -1;
    if (!this.firstCutSent && cuts.length > 0) {
      firstCut = cuts[0]!;
      this.firstCutSent = true;
    }
    this.pool.ref(block);
    this.outstanding++;
    this.pipeline.toFileWorker({ t: "update", job: this.id, ref: block.id, sab: block.sab, off: 0, len, cut: firstCut });
    let prev = 0;
    for (const cut of cuts) {
      this.extendOpen(block, prev, cut);
      this.closeOpen();
      prev = cut;
    }
    if (prev < len) this.extendOpen(block, prev, len);
    this.pool.unref(block); // the reader's own ref
  }

  private extendOpen(block: Block, from: number, to: number): void {
    this.pool.ref(block);
    this.openSegs.push(block.sab, from, to - from);
    this.openBlocks.push(block);
    this.openLength += to - from;
  }

  private closeOpen(): void {
    const p: Pending = {
      seq: this.chunkCount++,
      offset: this.openStart,
      length: this.openLength,
      blocks: this.openBlocks,
      digest: null,
      data: null,
      dst: null,
      dstOff: 0,
      release: undefined,
      view: this.recycle && this.openBlocks.length === 1,
      viewOff: this.openSegs[1] as number,
    };
    if (this.recycle && !p.view) {
      const room = this.pipeline.slabs.take(p.length);
      p.dst = room.slab.sab;
      p.dstOff = room.offset;
      p.release = room.release;
    }
    if (p.seq === 0) {
      this.first = p;
      p.digest = this.firstDigest;
    }
    this.outstanding++;
    // The first chunk's digest comes from the whole-file hash (Hash.copy at the
    // first cut, or the file digest itself when the file is one chunk).
    this.pipeline.toChunkWorker({
      t: "chunk",
      job: this.id,
      seq: p.seq,
      segs: this.openSegs,
      hash: p.seq !== 0,
      dst: p.dst,
      dstOff: p.dstOff,
      copy: !p.view,
    });
    this.queue.push(p);
    this.openStart += this.openLength;
    this.openLength = 0;
    this.openSegs = [];
    this.openBlocks = [];
  }

  private finishStream(): void {
    this.cdc.finish();
    if (this.openLength > 0) this.closeOpen();
    this.outstanding++;
    this.pipeline.toFileWorker({ t: "end", job: this.id });
    this.produced = true;
  }

  // ---- worker replies -------------------------------------------------------

  onReply(msg: WorkerReply): void {
    switch (msg.t) {
      case "updated":
        this.outstanding--;
        this.pool.unref(this.pool.get(msg.ref));
        break;
      case "first":
        this.firstDigest = toBuffer(msg.digest);
        if (this.first !== null) this.first.digest = this.firstDigest;
        break;
      case "digest":
        this.outstanding--;
        this.fileDigest = toBuffer(msg.digest);
        if (this.chunkCount === 1 && this.first !== null && this.first.digest === null) {
          this.first.digest = this.fileDigest;
        }
        break;
      case "chunk": {
        this.outstanding--;
        const p = this.pending(msg.seq);
        if (!p.view || this.stopped) this.releaseBlocks(p);
        if (!this.stopped) {
          if (msg.data !== null) p.data = toBuffer(msg.data);
          else if (p.view) p.data = Buffer.from(p.blocks[0]!.sab, p.viewOff, p.length);
          else p.data = Buffer.from(p.dst!, p.dstOff, p.length);
          if (msg.digest !== null) p.digest = toBuffer(msg.digest);
        } else {
          p.release?.(); // the worker is done writing there; nobody will read it
        }
        break;
      }
      case "error":
        this.outstanding--;
        if (msg.ref >= 0) this.pool.unref(this.pool.get(msg.ref));
        if (msg.seq >= 0) {
          const p = this.pending(msg.seq);
          this.releaseBlocks(p);
          p.release?.();
        }
        this.fail(new Error(`chunk hashing worker failed: ${msg.message}`));
        break;
    }
    this.wakeConsumer();
    this.maybeUnregister();
  }

  onFatal(err: Error): void {
    this.fail(err);
  }

  private pending(seq: number): Pending {
    const first = this.queue[this.head];
    const p = first === undefined ? undefined : this.queue[this.head + seq - first.seq];
    if (p === undefined || p.seq !== seq) throw new Error(`chunk pipeline: reply for unknown chunk ${seq}`);
    return p;
  }

  /** The job lets go of a view chunk's block; the consumer holds it until the release this returns. */
  private leaseView(p: Pending): () => void {
    const pool = this.pool;
    const block = p.blocks[0]!;
    pool.lease(block);
    this.releaseBlocks(p);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      pool.unlease(block);
    };
  }

  private releaseBlocks(p: Pending): void {
    for (const b of p.blocks) this.pool.unref(b);
    p.blocks = [];
  }

  // ---- consumer -------------------------------------------------------------

  /** The next chunk, then the end record, then null. Throws the job's error. */
  async next(): Promise<ChunkEvent | null> {
    for (;;) {
      if (this.error !== null) throw this.error;
      const p = this.queue[this.head];
      if (p !== undefined) {
        if (p.data !== null && p.digest !== null) {
          this.queue[this.head++] = undefined as unknown as Pending;
          if (this.head > 1024 && this.head * 2 > this.queue.length) {
            this.queue = this.queue.slice(this.head);
            this.head = 0;
          }
          this.inflight -= p.length;
          this.wakeProducer();
          const ev: Chunk = { kind: "chunk", index: p.seq, offset: p.offset, length: p.length, sha256: p.digest, data: p.data };
          if (p.view) ev.release = this.leaseView(p);
          else if (p.release !== undefined) ev.release = p.release;
          return ev;
        }
      } else if (this.produced && this.fileDigest !== null) {
        if (this.endGiven) return null;
        this.endGiven = true;
        this.detachSignal();
        return { kind: "end", sha256: this.fileDigest, size: this.size, chunkCount: this.chunkCount };
      }
      await new Promise<void>((resolve) => {
        this.consumerWake = resolve;
      });
    }
  }

  /** The consumer stopped early: stop reading and let go of everything. */
  cancel(): void {
    this.stop();
  }

  private fail(err: Error): void {
    if (this.error !== null || this.endGiven) return;
    this.error = err;
    this.stop();
    this.wakeConsumer();
  }

  private stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.detachSignal();
    // Queued after every update of this job, so the worker drops the hash for good.
    if (!this.produced) this.pipeline.toFileWorker({ t: "drop", job: this.id });
    for (const b of this.openBlocks) this.pool.unref(b);
    this.openBlocks = [];
    this.openSegs = [];
    for (let i = this.head; i < this.queue.length; i++) {
      const p = this.queue[i]!;
      // Room whose bytes arrived is free again; the rest is freed as the worker replies.
      if (p.data !== null) {
        p.release?.();
        if (p.view) this.releaseBlocks(p);
      }
      p.data = null;
    }
    this.wakeProducer();
    this.maybeUnregister();
  }

  private detachSignal(): void {
    this.signal?.removeEventListener("abort", this.onAbort);
  }

  private maybeUnregister(): void {
    if (this.readingDone && this.outstanding === 0 && (this.stopped || this.fileDigest !== null)) {
      this.pipeline.unregister(this.id);
    }
  }

  private wakeConsumer(): void {
    const w = this.consumerWake;
    this.consumerWake = null;
    w?.();
  }

  private wakeProducer(): void {
    const w = this.producerWake;
    this.producerWake = null;
    w?.();
  }
}

function abortError(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new Error(`chunking aborted: ${String(r)}`);
}
