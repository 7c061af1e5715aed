/**
 * The shared machinery behind chunkFile/chunkStream: the hashing workers and
 * the read-block pool, reused across files so a file costs no thread start.
 *
 * Threads: the main thread reads (through libuv) and finds boundaries; one
 * worker keeps the whole-file SHA-256, which is sequential by nature; the
 * chunk worker(s) copy each chunk out of the shared blocks into a buffer the
 * caller owns and hash it. On two cores the OS balances these three.
 */
import { Worker } from "node:worker_threads";
import { BlockPool } from "./blocks.js";
import { SlabPool } from "./slabs.js";
import { HASH_WORKER_SOURCE, type WorkerReply, type WorkerRequest } from "./hash-worker.js";

export interface PipelineOptions {
  /** Workers that copy and hash chunks (the whole-file hash has its own). Default 1. */
  chunkWorkers?: number;
  /** Size of one read, and of one shared block. Default 4 MiB. */
  blockSize?: number;
  /** Size of the slabs recycled chunks are carved from (slabs.ts). Default 16 MiB. */
  slabSize?: number;
}

/** What a running job exposes to the pipeline's message dispatch. */
export interface JobSink {
  onReply(msg: WorkerReply): void;
  /** A worker died: the job must fail. */
  onFatal(err: Error): void;
}

export const DEFAULT_BLOCK_SIZE = 4 * 1024 * 1024;
/**
 * Free blocks kept. Chunks handed out as views lease their blocks until the consumer
 * releases them (a push: until their pack is stored), so a push keeps ~35 blocks in use
 * (read-ahead, dedup batches, packs being written); fewer kept than that, blocks are
 * dropped and made anew, and the dropped ones linger until a GC (a 6 GiB push made 88
 * blocks with 16 kept: 527 MiB peak RSS).
 */
const BLOCKS_KEPT = 64;
const SLAB_SIZE = 16 * 1024 * 1024;
/** Free slabs kept: enough for the chunks a push holds downstream (dedup batches, packs being written). */
const SLABS_KEPT = 12;

export class ChunkPipeline {
  readonly pool: BlockPool;
  /** Room for chunk bytes when a job recycles (slabs.ts). */
  readonly slabs: SlabPool;
  private readonly fileWorker: Worker;
  private readonly chunkWorkers: Worker[];
  private readonly jobs = new Map<number, JobSink>();
  private nextJob = 1;
  private nextChunkWorker = 0;
  /** Requests sent and not yet answered; workers keep the process alive only while this is > 0. */
  private busy = 0;
  private fatal: Error | null = null;
  private closed = false;

  constructor(opts: PipelineOptions = {}) {
    const n = opts.chunkWorkers ?? 1;
    const blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
    if (!Number.isSafeInteger(n) || n < 1 || n > 64) {
      throw new RangeError(`chunkWorkers must be an integer from 1 to 64, got ${n}`);
    }
    if (!Number.isSafeInteger(blockSize) || blockSize < 4096 || blockSize > 256 * 1024 * 1024) {
      throw new RangeError(`blockSize must be an integer from 4096 to 256 MiB, got ${blockSize}`);
    }
    this.pool = new BlockPool(blockSize, BLOCKS_KEPT);
    const slabSize = opts.slabSize ?? SLAB_SIZE;
    if (!Number.isSafeInteger(slabSize) || slabSize < 4096)
      throw new RangeError(`slabSize must be an integer of at least 4096, got ${slabSize}`);
    this.slabs = new SlabPool(slabSize, SLABS_KEPT);
    this.fileWorker = this.spawn();
    this.chunkWorkers = Array.from({ length: n }, () => this.spawn());
  }

  private spawn(): Worker {
    const w = new Worker(HASH_WORKER_SOURCE, { eval: true, name: "strata-chunk-hash" });
    w.unref();
    w.on("message", (msg: WorkerReply) => {
      if (msg.t !== "first" && --this.busy === 0) for (const x of this.workers()) x.unref();
      // Replies for a job that already went away are dropped: nothing waits for them.
      this.jobs.get(msg.job)?.onReply(msg);
    });
    w.on("error", (err: Error) => this.die(err));
    w.on("exit", (code) => {
      if (!this.closed) this.die(new Error(`chunk hashing worker exited with code ${code}`));
    });
    return w;
  }

  private die(err: Error): void {
    if (this.fatal !== null) return;
    this.fatal = err;
    for (const job of this.jobs.values()) job.onFatal(err);
    this.jobs.clear();
    void this.close();
  }

  /** False once a worker died or close() was called: make a new pipeline. */
  get usable(): boolean {
    return this.fatal === null && !this.closed;
  }

  register(sink: JobSink): number {
    if (this.fatal !== null) throw this.fatal;
    if (this.closed) throw new Error("chunk pipeline is closed");
    const id = this.nextJob++;
    this.jobs.set(id, sink);
    return id;
  }

  unregister(id: number): void {
    this.jobs.delete(id);
  }

  /** Whole-file hash messages go to one worker, so they stay in order. */
  toFileWorker(msg: WorkerRequest): void {
    this.post(this.fileWorker, msg);
  }

  /** Chunk messages go round-robin; replies carry the chunk's sequence number. */
  toChunkWorker(msg: WorkerRequest): void {
    this.post(this.chunkWorkers[this.nextChunkWorker++ % this.chunkWorkers.length]!, msg);
  }

  private post(w: Worker, msg: WorkerRequest): void {
    // Ref only while answers are awaited: an iterator abandoned mid-file must not keep the process alive.
    if (msg.t !== "drop" && this.busy++ === 0) for (const x of this.workers()) x.ref();
    w.postMessage(msg);
  }

  private workers(): Worker[] {
    return [this.fileWorker, ...this.chunkWorkers];
  }

  /** Stops the workers. Jobs still running fail. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = this.fatal ?? new Error("chunk pipeline closed");
    for (const job of this.jobs.values()) job.onFatal(err);
    this.jobs.clear();
    await Promise.all(this.workers().map((w) => w.terminate()));
  }
}

let shared: ChunkPipeline | null = null;

/** The process-wide pipeline used when none is passed; created on first use, replaced if it died. */
export function defaultPipeline(): ChunkPipeline {
  if (shared === null || !shared.usable) shared = new ChunkPipeline();
  return shared;
}
