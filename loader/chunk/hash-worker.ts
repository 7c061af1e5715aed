/**
 * The hashing worker: SHA-256 off the main thread, over bytes that the main
 * thread read into SharedArrayBuffer blocks (shared, never copied to get here).
 *
 * The worker runs from source text (`eval: true`) rather than from a module
 * file, so it starts the same under tsx, under tap and from compiled output,
 * and needs no TypeScript loader inside the worker. Keep it small: the message
 * types below are the contract, and the tests exercise every message.
 */

/** Main -> worker. */
export type WorkerRequest =
  /** Feed the whole-file hash of `job`; when cut >= 0, report the digest of the first `cut` bytes of this segment plus all before it (the file's first chunk). */
  | { t: "update"; job: number; ref: number; sab: SharedArrayBuffer; off: number; len: number; cut: number }
  /** Finish the whole-file hash of `job`. */
  | { t: "end"; job: number }
  /** Drop the state of `job` (the consumer stopped early or it failed). */
  | { t: "drop"; job: number }
  /**
   * Copy a chunk's segments (flattened triples sab, off, len) into one buffer, and hash it when `hash`:
   * into `dst` at `dstOff` when given (a recycled slab, slabs.ts), else into a new buffer sent back.
   */
  | {
      t: "chunk";
      job: number;
      seq: number;
      segs: (SharedArrayBuffer | number)[];
      hash: boolean;
      dst: SharedArrayBuffer | null;
      dstOff: number;
      /** False: the chunk is one segment, hashed where it lies and not copied (its bytes stay in the block). */
      copy: boolean;
    };

/** Worker -> main. */
export type WorkerReply =
  | { t: "updated"; job: number; ref: number }
  | { t: "first"; job: number; digest: Uint8Array }
  | { t: "digest"; job: number; digest: Uint8Array }
  /** `data` is null when the bytes went to the request's `dst`. */
  | { t: "chunk"; job: number; seq: number; digest: Uint8Array | null; data: Uint8Array | null }
  /** Ends a request that failed; ref / seq name the block or chunk it held (-1 if none). */
  | { t: "error"; job: number; ref: number; seq: number; message: string };

export const HASH_WORKER_SOURCE = `
'use strict';
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const files = new Map();

function onUpdate(m) {
  let h = files.get(m.job);
  if (h === undefined) { h = createHash('sha256'); files.set(m.job, h); }
  const bytes = new Uint8Array(m.sab, m.off, m.len);
  if (m.cut >= 0) {
    h.update(bytes.subarray(0, m.cut));
    // Hash.copy() shares the work done so far: the first chunk costs no second pass.
    parentPort.postMessage({ t: 'first', job: m.job, digest: h.copy().digest() });
    h.update(bytes.subarray(m.cut));
  } else {
    h.update(bytes);
  }
  parentPort.postMessage({ t: 'updated', job: m.job, ref: m.ref });
}

function onEnd(m) {
  const h = files.get(m.job) ?? createHash('sha256');
  files.delete(m.job);
  parentPort.postMessage({ t: 'digest', job: m.job, digest: h.digest() });
}

function onChunk(m) {
  const segs = m.segs;
  if (!m.copy) {
    const digest = m.hash ? createHash('sha256').update(new Uint8Array(segs[0], segs[1], segs[2])).digest() : null;
    parentPort.postMessage({ t: 'chunk', job: m.job, seq: m.seq, digest, data: null });
    return;
  }
  let total = 0;
  for (let i = 2; i < segs.length; i += 3) total += segs[i];
  // allocUnsafeSlow: an unpooled, unzeroed ArrayBuffer of its own, so it can be transferred.
  const data = m.dst !== null ? new Uint8Array(m.dst, m.dstOff, total) : Buffer.allocUnsafeSlow(total);
  let at = 0;
  for (let i = 0; i < segs.length; i += 3) {
    data.set(new Uint8Array(segs[i], segs[i + 1], segs[i + 2]), at);
    at += segs[i + 2];
  }
  const digest = m.hash ? createHash('sha256').update(data).digest() : null;
  if (m.dst !== null) parentPort.postMessage({ t: 'chunk', job: m.job, seq: m.seq, digest, data: null });
  else parentPort.postMessage({ t: 'chunk', job: m.job, seq: m.seq, digest, data }, [data.buffer]);
}

parentPort.on('message', (m) => {
  try {
    if (m.t === 'update') onUpdate(m);
    else if (m.t === 'end') onEnd(m);
    else if (m.t === 'drop') files.delete(m.job);
    else if (m.t === 'chunk') onChunk(m);
    else throw new Error('unknown message ' + String(m.t));
  } catch (err) {
    files.delete(m.job);
    const ref = m.t === 'update' ? m.ref : -1;
    const seq = m.t === 'chunk' ? m.seq : -1;
    parentPort.postMessage({ t: 'error', job: m.job, ref, seq, message: String((err && err.stack) || err) });
  }
});
`;
