// SHA-256 off the main thread. A checkout of large files hashes every byte twice (each
// chunk as it is fetched, each file as it is assembled); done on the main thread that
// leaves the writes waiting. A few worker threads hash copies of the bytes instead (a
// copy costs a fraction of a hash, and the caller keeps its buffers), and each file's
// running hash lives in one worker, which takes its updates in order. Small amounts are
// hashed in place: a message costs more than hashing a few KiB.

import { createHash } from "node:crypto";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

/** Below this many bytes, work is hashed on the calling thread. */
export const OFFLOAD_BYTES = 256 * 1024;
/** Bytes per message when many small buffers are sent together. */
const MESSAGE_BYTES = 4 * 1024 * 1024;

const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const running = new Map();
parentPort.on("message", (m) => {
  if (m.kind === "hash") {
    parentPort.postMessage({ job: m.job, hashes: m.buffers.map((b) => createHash("sha256").update(new Uint8Array(b)).digest("hex")) });
  } else if (m.kind === "update") {
    let h = running.get(m.stream);
    if (h === undefined) running.set(m.stream, (h = createHash("sha256")));
    h.update(new Uint8Array(m.buffer));
  } else if (m.kind === "digest") {
    const h = running.get(m.stream) ?? createHash("sha256");
    running.delete(m.stream);
    parentPort.postMessage({ job: m.job, hashes: [h.digest("hex")] });
  }
});
`;

interface Reply {
  job: number;
  hashes: string[];
}

/** A running SHA-256 whose digest is awaited. */
export interface RunningHash {
  update(data: Buffer): void;
  digest(): Promise<string>;
}

/** One worker; referenced (keeping the process alive) only while it owes answers. */
class HashWorker {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: (h: string[]) => void; reject: (e: unknown) => void }>();
  failed: unknown;

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, { eval: true });
    this.worker.on("message", (r: Reply) => {
      const w = this.waiting.get(r.job);
      this.waiting.delete(r.job);
      if (this.waiting.size === 0) this.worker.unref();
      w?.resolve(r.hashes);
    });
    const fail = (e: unknown): void => {
      this.failed ??= e;
      for (const w of this.waiting.values()) w.reject(e);
      this.waiting.clear();
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => fail(new Error(`a hashing thread stopped (exit code ${code})`)));
    // After the listeners: adding a 'message' listener refs the worker again.
    this.worker.unref();
  }

  get load(): number {
    return this.waiting.size;
  }

  /** Posts a message whose answer is awaited. */
  ask(message: object, transfer: ArrayBuffer[], job: number): Promise<string[]> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      if (this.waiting.size === 0) this.worker.ref();
      this.waiting.set(job, { resolve, reject });
      this.worker.postMessage(message, transfer);
    });
  }

  /** Posts a message with no answer (a running hash's update; its digest is awaited). */
  tell(message: object, transfer: ArrayBuffer[]): void {
    if (this.failed === undefined) this.worker.postMessage(message, transfer);
  }
}

/** A copy of `data` in an ArrayBuffer of its own, to be moved to a worker. */
function ownCopy(data: Buffer): ArrayBuffer {
  const copy = new ArrayBuffer(data.length);
  new Uint8Array(copy).set(data);
  return copy;
}

export function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

export class HashPool {
  private workers: HashWorker[] | undefined;
  private jobs = 0;
  private streams = 0;

  constructor(private readonly size = Math.max(1, Math.min(4, availableParallelism()))) {}

  /** The least busy worker (started on first use). */
  private pick(): HashWorker {
    this.workers ??= Array.from({ length: this.size }, () => new HashWorker());
    let best = this.workers[0]!;
    for (const w of this.workers) if (w.load < best.load) best = w;
    if (best.failed !== undefined) throw best.failed;
    return best;
  }

  /** Hex SHA-256 of each buffer, in order. */
  async hashAll(buffers: readonly Buffer[]): Promise<string[]> {
    const total = buffers.reduce((n, b) => n + b.length, 0);
    if (total < OFFLOAD_BYTES) return buffers.map(sha256);
    // Consecutive buffers in messages of about MESSAGE_BYTES, spread over the workers.
    const parts: Promise<string[]>[] = [];
    for (let i = 0; i < buffers.length; ) {
      const copies: ArrayBuffer[] = [];
      let bytes = 0;
      while (i < buffers.length && (copies.length === 0 || bytes + buffers[i]!.length <= MESSAGE_BYTES)) {
        bytes += buffers[i]!.length;
        copies.push(ownCopy(buffers[i++]!));
      }
      const job = ++this.jobs;
      parts.push(this.pick().ask({ kind: "hash", job, buffers: copies }, copies, job));
    }
    return (await Promise.all(parts)).flat();
  }

  /** A running hash of `size` bytes to come: in a worker when large, else in place. */
  running(size: number): RunningHash {
    if (size < OFFLOAD_BYTES) {
      const h = createHash("sha256");
      return {
        update: (data) => h.update(data),
        digest: async () => h.digest("hex"),
      };
    }
    const worker = this.pick();
    const stream = ++this.streams;
    return {
      update: (data) => {
        const copy = ownCopy(data);
        worker.tell({ kind: "update", stream, buffer: copy }, [copy]);
      },
      digest: async () => {
        const job = ++this.jobs;
        return (await worker.ask({ kind: "digest", job, stream }, [], job))[0]!;
      },
    };
  }
}

/** The process's pool: its threads start on first use and never keep the process alive when idle. */
export const hashPool = new HashPool();
