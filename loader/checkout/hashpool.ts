// SHA-256 off the main thread, where there are cores to spare (see hashPool below). A checkout of large files hashes every byte twice (each
// chunk as it is fetched, each file as it is assembled); done on the main thread that
// leaves the writes waiting. A few worker threads hash copies of the bytes instead (a
// copy, into reused slabs, costs a fraction of a hash, and the caller keeps its buffers), and each file's
// running hash lives in one worker, which takes its updates in order. Small amounts are
// hashed in place: a message costs more than hashing a few KiB.

import { createHash } from "node:crypto";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

/** Below this many bytes, work is hashed on the calling thread. */
export const OFFLOAD_BYTES = 256 * 1024;
/** Bytes per message when many small buffers are sent together. */
const MESSAGE_BYTES = 4 * 1024 * 1024;

// Messages carry a slab: bytes to hash laid end to end (`lengths` cuts it), handed back
// once hashed so the main thread reuses it instead of allocating (and faulting in) anew.
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const running = new Map();
parentPort.on("message", (m) => {
  if (m.kind === "hash") {
    const hashes = [];
    let at = 0;
    for (const n of m.lengths) {
      hashes.push(createHash("sha256").update(new Uint8Array(m.slab, at, n)).digest("hex"));
      at += n;
    }
    parentPort.postMessage({ job: m.job, hashes, slab: m.slab }, [m.slab]);
  } else if (m.kind === "update") {
    let h = running.get(m.stream);
    if (h === undefined) running.set(m.stream, (h = createHash("sha256")));
    h.update(new Uint8Array(m.slab, 0, m.length));
    parentPort.postMessage({ slab: m.slab }, [m.slab]);
  } else if (m.kind === "digest") {
    const h = running.get(m.stream) ?? createHash("sha256");
    running.delete(m.stream);
    parentPort.postMessage({ job: m.job, hashes: [h.digest("hex")] });
  }
});
`;

interface Reply {
  job?: number;
  hashes?: string[];
  slab?: ArrayBuffer;
}

/** Bytes per slab; a larger piece gets a slab of its own size, not reused. */
const SLAB_BYTES = MESSAGE_BYTES;
/** Slabs kept for reuse at most (memory held: this many times SLAB_BYTES). */
const SLABS_KEPT = 16;

/** Slabs back from the workers, ready for reuse. */
const freeSlabs: ArrayBuffer[] = [];

function takeSlab(bytes: number): ArrayBuffer {
  if (bytes <= SLAB_BYTES) return freeSlabs.pop() ?? new ArrayBuffer(SLAB_BYTES);
  return new ArrayBuffer(bytes);
}

function giveBack(slab: ArrayBuffer): void {
  if (slab.byteLength === SLAB_BYTES && freeSlabs.length < SLABS_KEPT) freeSlabs.push(slab);
}

/** Copies `buffers` end to end into a slab (their total at most SLAB_BYTES, or one buffer). */
function packed(buffers: readonly Buffer[], bytes: number): ArrayBuffer {
  const slab = takeSlab(bytes);
  const view = new Uint8Array(slab);
  let at = 0;
  for (const b of buffers) {
    view.set(b, at);
    at += b.length;
  }
  return slab;
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
      if (r.slab !== undefined) giveBack(r.slab);
      if (r.job === undefined) return;
      const w = this.waiting.get(r.job);
      this.waiting.delete(r.job);
      if (this.waiting.size === 0) this.worker.unref();
      w?.resolve(r.hashes ?? []);
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

export function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

export class HashPool {
  private workers: HashWorker[] | undefined;
  private jobs = 0;
  private streams = 0;
  private turn = 0;

  /** `size` threads; none: everything is hashed in place. */
  constructor(private readonly size: number) {}

  /** The next worker in turn (started on first use): a running hash's updates are not answered, so no count of work in flight sees them. */
  private pick(): HashWorker {
    this.workers ??= Array.from({ length: this.size }, () => new HashWorker());
    const w = this.workers[this.turn++ % this.workers.length]!;
    if (w.failed !== undefined) throw w.failed;
    return w;
  }

  /** Hex SHA-256 of each buffer, in order. */
  async hashAll(buffers: readonly Buffer[]): Promise<string[]> {
    const total = buffers.reduce((n, b) => n + b.length, 0);
    if (total < OFFLOAD_BYTES || this.size === 0) return buffers.map(sha256);
    // Consecutive buffers in messages of about MESSAGE_BYTES, spread over the workers.
    const parts: Promise<string[]>[] = [];
    for (let i = 0; i < buffers.length; ) {
      const group: Buffer[] = [];
      let bytes = 0;
      while (i < buffers.length && (group.length === 0 || bytes + buffers[i]!.length <= MESSAGE_BYTES)) {
        bytes += buffers[i]!.length;
        group.push(buffers[i++]!);
      }
      const slab = packed(group, bytes);
      const job = ++this.jobs;
      parts.push(this.pick().ask({ kind: "hash", job, slab, lengths: group.map((b) => b.length) }, [slab], job));
    }
    return (await Promise.all(parts)).flat();
  }

  /** A running hash of `size` bytes to come: in a worker when large, else in place. */
  running(size: number): RunningHash {
    if (size < OFFLOAD_BYTES || this.size === 0) {
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
        // pieces of at most a slab each, so slabs are reused
        for (let at = 0; at < data.length; at += SLAB_BYTES) {
          const piece = data.subarray(at, at + SLAB_BYTES);
          const slab = packed([piece], piece.length);
          worker.tell({ kind: "update", stream, slab, length: piece.length }, [slab]);
        }
      },
      digest: async () => {
        const job = ++this.jobs;
        return (await worker.ask({ kind: "digest", job, stream }, [], job))[0]!;
      },
    };
  }
}

/**
 * The process's pool: its threads start on first use and never keep the process alive
 * when idle. Only with cores to spare: on two, the main thread and libuv's writers keep
 * both busy, and measured checkouts took as long with threads as without, for about half
 * again the CPU time (the copies, messages and collections).
 */
const cores = availableParallelism();
export const hashPool = new HashPool(cores > 2 ? Math.min(4, cores - 1) : 0);
