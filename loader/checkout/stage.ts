// Writing the files a checkout needs to temp names (beside their final place, see
// checkout.ts), to be renamed into place only once every file is complete and verified
// (apply.ts): a failure leaves the checkout as it was. Work goes by contents, not by
// path: identical files are assembled once and copied. Chunks are fetched in batches of about
// `batchBytes` (many small files share one batch, so their ranges merge into few
// reads; a big file spans several), and the next batch is fetched while the
// current one is written. A chunk needed again by a later batch is kept in memory.

import { createHash } from "node:crypto";
import { closeSync, openSync, writevSync } from "node:fs";
import { chmod, copyFile, type FileHandle, open, stat } from "node:fs/promises";

import { StrataError } from "../errors.js";
import type { Session } from "../session.js";
import { type BufferLease, BufferPool } from "./bufferpool.js";
import { type ChunkFetcher, type ChunkNeed, chunkAtFault, chunkMismatch } from "./fetch.js";
import { hashPool, type RunningHash } from "./hashpool.js";
import { BLOB_BATCH, chunkLists, type ChunkRow } from "./listing.js";
import { eachLimited } from "../parallel.js";
import type { PathTable } from "./table.js";

export interface StageOptions {
  concurrency: number;
  /** Chunk bytes fetched per batch. */
  batchBytes: number;
  /** Chunks kept in memory for later batches, at most this many bytes. */
  retainBytes: number;
  /** Called after each file is staged with its size (copies included). */
  onFile?: (bytes: number) => void;
}

/** One file contents and every path that holds it. */
interface Contents {
  hash: string;
  size: number;
  /** Positions in the listing of the paths holding it; the first is written, the others copied. */
  paths: number[];
  /** For messages: the first path. */
  name: string;
  executable: boolean[];
  /** One chunk whose hash is the file's: verifying the chunk verified the file. */
  oneChunk?: boolean;
  /** Its chunks, when several: to name a bad one when the file does not match its hash. */
  chunks?: ChunkRow[];
}

interface Piece {
  blob: Contents;
  chunk: ChunkRow;
  last: boolean;
}

interface Writer {
  fh: FileHandle;
  /** The file's running hash; none when its one chunk's hash is the file's. */
  hash: RunningHash | undefined;
}

const EMPTY_HASH = createHash("sha256").digest("hex");

/** Files up to this size, whole in one batch, are written by writeSmall. */
const SMALL_FILE = 256 * 1024;
/** Files writeSmall writes between two turns of the event loop. */
const SMALL_SLICE = 256;

/** File modes before the umask: what git gives regular and executable files. */
const MODE = { regular: 0o666, executable: 0o777 };

/**
 * Writes the files at positions `files` of `entries` (regular files only), each to
 * `tempOf(position)` (which must not exist), with its executable bit. Contents are
 * looked up and fetched BLOB_BATCH at a time, so what is held per file is a few numbers.
 */
export async function stageFiles(
  session: Session,
  fetcher: ChunkFetcher,
  entries: PathTable,
  files: readonly number[],
  tempOf: (position: number) => string,
  opts: StageOptions,
): Promise<void> {
  const { firsts, next } = sameContents(entries, files);
  const contents = (k: number): Contents => {
    const i = files[k]!;
    const b: Contents = { hash: entries.hash(i), size: entries.size(i), paths: [], name: entries.path(i), executable: [] };
    for (let c = k; c >= 0; c = next[c]!) {
      b.paths.push(files[c]!);
      b.executable.push(entries.executable(files[c]!));
    }
    return b;
  };
  const create = (blob: Contents) => open(tempOf(blob.paths[0]!), "wx", blob.executable[0] ? MODE.executable : MODE.regular);
  const writers = new Map<string, Writer>();

  const finish = async (blob: Contents, w: Writer): Promise<void> => {
    await w.fh.close();
    writers.delete(blob.hash);
    await complete(blob, w.hash === undefined ? blob.hash : await w.hash.digest());
  };

  /** Checks the file written to the first path's temp name (whose bytes hash to `got`), then makes its copies. */
  const complete = async (blob: Contents, got: string): Promise<void> => {
    const first = tempOf(blob.paths[0]!);
    if (got !== blob.hash) {
      const bad = blob.chunks === undefined ? undefined : await chunkAtFault(blob.chunks, fileReader(first));
      if (bad !== undefined) throw chunkMismatch({ path: blob.name, seq: bad.seq }, "the store");
      throw new StrataError(
        `${blob.name} does not match its hash (its verified chunks assemble to ${got}, the version says ${blob.hash}; the database is damaged)`,
        "corrupt",
      );
    }
    const firstMode = blob.paths.length > 1 ? (await stat(first)).mode & 0o777 : 0;
    for (let i = 1; i < blob.paths.length; i++) {
      const copy = tempOf(blob.paths[i]!);
      await copyFile(first, copy, 1); // COPYFILE_EXCL: never onto something there
      // the copy has the first file's mode: give it its own executable bit
      if (blob.executable[i] !== blob.executable[0])
        await chmod(copy, blob.executable[i] ? firstMode | ((firstMode & 0o444) >> 2) : firstMode & ~0o111);
    }
    for (let i = 0; i < blob.paths.length; i++) opts.onFile?.(blob.size);
  };

  const writePieces = async (pieces: readonly Piece[], data: ReadonlyMap<string, Buffer>): Promise<void> => {
    // Pieces of one blob are contiguous and in order.
    const runs: Piece[][] = [];
    for (const p of pieces) {
      const run = runs[runs.length - 1];
      if (run !== undefined && run[0]!.blob === p.blob) run.push(p);
      else runs.push([p]);
    }
    const small: Piece[][] = [];
    const rest: Piece[][] = [];
    for (const r of runs) (r[0]!.chunk.seq === 1 && r[r.length - 1]!.last && r[0]!.blob.size <= SMALL_FILE ? small : rest).push(r);
    const done = await Promise.allSettled([writeSmall(small, data), eachLimited(rest, opts.concurrency, (r) => writeRun(r, data))]);
    for (const d of done) if (d.status === "rejected") throw d.reason;
  };

  /**
   * Small files whole in this batch are written with synchronous calls, a slice between
   * two turns of the event loop: a promise per open, write and close cost twice the CPU of
   * the calls themselves (on libuv's threads and here), and small-file checkouts are made
   * of little else. Larger files are written in parallel as they come (writeRun).
   */
  const writeSmall = async (runs: readonly Piece[][], data: ReadonlyMap<string, Buffer>): Promise<void> => {
    for (let r = 0; r < runs.length; r++) {
      if (r % SMALL_SLICE === SMALL_SLICE - 1) await new Promise((resolve) => setImmediate(resolve));
      const run = runs[r]!;
      const blob = run[0]!.blob;
      const buffers = run.map((p) => data.get(p.chunk.hash)!);
      const fd = openSync(tempOf(blob.paths[0]!), "wx", blob.executable[0] ? MODE.executable : MODE.regular);
      try {
        writeAllSync(fd, buffers);
      } finally {
        closeSync(fd);
      }
      let got = blob.hash; // one chunk, verified as the file (fetch.ts)
      if (!blob.oneChunk) {
        const h = createHash("sha256");
        for (const b of buffers) h.update(b);
        got = h.digest("hex");
      }
      await complete(blob, got);
    }
  };

  const writeRun = async (run: Piece[], data: ReadonlyMap<string, Buffer>): Promise<void> => {
    const blob = run[0]!.blob;
    let w = writers.get(blob.hash);
    if (w === undefined) {
      w = { fh: await create(blob), hash: blob.oneChunk ? undefined : hashPool.running(blob.size) };
      writers.set(blob.hash, w);
    }
    const buffers = run.map((p) => data.get(p.chunk.hash)!);
    // The write starts first (on libuv's threads), so hashing the same bytes here overlaps it.
    const written = writeAll(w.fh, buffers);
    try {
      if (w.hash !== undefined) for (const b of buffers) w.hash.update(b);
    } finally {
      await written;
    }
    if (run[run.length - 1]!.last) await finish(blob, w);
  };

  try {
    for (const k of firsts) {
      if (entries.size(files[k]!) !== 0) continue;
      const b = contents(k);
      if (b.hash !== EMPTY_HASH)
        throw new StrataError(`${b.name} is empty but its recorded hash is ${b.hash}; the database is damaged`, "corrupt");
      const w: Writer = { fh: await create(b), hash: hashPool.running(0) };
      writers.set(b.hash, w);
      await finish(b, w);
    }
    const sized = firsts.filter((k) => entries.size(files[k]!) > 0);
    const groups = function* () {
      for (let g = 0; g < sized.length; g += BLOB_BATCH) yield sized.slice(g, g + BLOB_BATCH).map(contents);
    };
    await runBatches(
      fetcher,
      batchesOf(session, groups(), fetcher.verifiesByFile, opts.batchBytes),
      opts.batchBytes,
      opts.retainBytes,
      writePieces,
    );
  } finally {
    for (const w of writers.values()) await w.fh.close().catch(() => {});
  }
}

/**
 * Files of the same contents, by position k in `files`: `firsts` the first holder of each
 * contents in order, `next[k]` the next holder after k (-1: none). An open-addressing
 * table over the hashes, not a map of hex strings.
 */
function sameContents(entries: PathTable, files: readonly number[]): { firsts: number[]; next: Int32Array } {
  const m = files.length;
  const next = new Int32Array(m).fill(-1);
  const tail = new Int32Array(m);
  const firsts: number[] = [];
  let cap = 1024;
  while (cap < 2 * m) cap *= 2;
  const table = new Int32Array(cap).fill(-1);
  for (let k = 0; k < m; k++) {
    const i = files[k]!;
    let slot = entries.hashBytes(i).readUInt32LE(0) & (cap - 1);
    for (; table[slot]! >= 0; slot = (slot + 1) & (cap - 1)) {
      const f = table[slot]!;
      if (entries.sameHash(files[f]!, entries, i)) break;
    }
    const f = table[slot]!;
    if (f < 0) {
      table[slot] = k;
      tail[k] = k;
      firsts.push(k);
    } else {
      next[tail[f]!] = k;
      tail[f] = k;
    }
  }
  return { firsts, next };
}

function cutBatches(blobs: readonly Contents[], lists: ReadonlyMap<string, ChunkRow[]>, batchBytes: number): Piece[][] {
  const batches: Piece[][] = [];
  let current: Piece[] = [];
  let bytes = 0;
  for (const blob of blobs) {
    const chunks = lists.get(blob.hash)!;
    // fetch.ts verifies every chunk against its hash before it is written
    blob.oneChunk = chunks.length === 1 && chunks[0]!.hash === blob.hash && chunks[0]!.size === blob.size;
    if (!blob.oneChunk) blob.chunks = chunks;
    chunks.forEach((chunk, i) => {
      current.push({ blob, chunk, last: i === chunks.length - 1 });
      bytes += chunk.size;
      if (bytes >= batchBytes) {
        batches.push(current);
        current = [];
        bytes = 0;
      }
    });
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * The chunks that only files of several chunks use: each such file is hashed whole as it is
 * written, which verifies them (fetch.ts, verifiedChunks). A file of one chunk has no running
 * hash, so its chunk is verified by its own hash, wherever else it is used.
 */
function verifiedByFile(batches: readonly Piece[][]): Set<string> {
  const byFile = new Set<string>();
  for (const batch of batches) for (const p of batch) if (!p.blob.oneChunk) byFile.add(p.chunk.hash);
  if (byFile.size > 0) for (const batch of batches) for (const p of batch) if (p.blob.oneChunk) byFile.delete(p.chunk.hash);
  return byFile;
}

/** A batch of pieces to fetch and write, numbered across groups of contents. */
interface Batch {
  pieces: Piece[];
  index: number;
  /** Chunks verified by their files' hashes (verifiedByFile), in this batch's group. */
  byFile: ReadonlySet<string>;
  /** The index of the last batch using each chunk of this batch's group. */
  lastUse: ReadonlyMap<string, number>;
}

/**
 * The batches of each group of contents in turn; the next group's chunk lists are asked
 * for while this group's batches are fetched and written, so the database's answer is
 * not waited for (a group of small files is a single batch).
 */
async function* batchesOf(
  session: Session,
  groups: Iterator<Contents[]>,
  byFileAllowed: boolean,
  batchBytes: number,
): AsyncGenerator<Batch> {
  const listsOf = (group: Contents[] | undefined) =>
    group === undefined
      ? undefined
      : chunkLists(
          session,
          group.map((b) => ({ hash: b.hash, size: b.size, path: b.name })),
        ).then((lists) => ({ group, lists }));
  let index = 0;
  let next = listsOf(groups.next().value ?? undefined);
  while (next !== undefined) {
    const { group, lists } = await next;
    next = listsOf(groups.next().value ?? undefined);
    next?.catch(() => {}); // awaited next round; a failure before must not leave it unhandled
    const cut = cutBatches(group, lists, batchBytes);
    const byFile = byFileAllowed ? verifiedByFile(cut) : new Set<string>();
    const lastUse = new Map<string, number>();
    cut.forEach((pieces, k) => {
      for (const p of pieces) lastUse.set(p.chunk.hash, index + k);
    });
    for (const pieces of cut) yield { pieces, index: index++, byFile, lastUse };
  }
}

/** Fetches batch i + 1 while batch i is written; keeps chunks that later batches need again. */
async function runBatches(
  fetcher: ChunkFetcher,
  batches: AsyncIterator<Batch>,
  batchBytes: number,
  retainBytes: number,
  write: (pieces: readonly Piece[], data: ReadonlyMap<string, Buffer>) => Promise<void>,
): Promise<void> {
  const retained = new Map<string, Buffer>();
  /** The last batch needing each retained chunk. */
  const retainedUntil = new Map<string, number>();
  let retainedSize = 0;
  const needs = (batch: Batch): ChunkNeed[] =>
    batch.pieces.map((p) => ({
      hash: p.chunk.hash,
      size: p.chunk.size,
      pack: p.chunk.pack,
      offset: p.chunk.offset,
      stored: p.chunk.stored,
      path: p.blob.name,
      seq: p.chunk.seq,
      byFile: batch.byFile.has(p.chunk.hash),
    }));
  const fetchNext = async (lease: BufferLease) => {
    const r = await batches.next();
    return r.done === true ? undefined : { batch: r.value, data: await fetcher.fetch(needs(r.value), retained, lease) };
  };

  // Two batches' reads are live at once (one written, one fetched): keep as much idle for the next two.
  const pool = new BufferPool(2 * batchBytes);
  let lease = pool.lease();
  let next = fetchNext(lease);
  for (;;) {
    const got = await next;
    if (got === undefined) break;
    const { batch, data } = got;
    const current = lease;
    for (const [hash, bytes] of data) {
      const last = batch.lastUse.get(hash)!;
      if (last > batch.index && !retained.has(hash) && retainedSize + bytes.length <= retainBytes) {
        retained.set(hash, Buffer.from(bytes)); // a copy: slices would pin whole merged reads
        retainedUntil.set(hash, last);
        retainedSize += bytes.length;
      }
    }
    lease = pool.lease();
    next = fetchNext(lease);
    next.catch(() => {}); // awaited next round; a write failure must not leave it unhandled
    try {
      await write(batch.pieces, data);
    } catch (e) {
      await next.catch(() => {});
      throw e;
    }
    current.release(); // written, and what later batches need was copied
    for (const [hash, bytes] of retained) {
      if (retainedUntil.get(hash)! <= batch.index) {
        retained.delete(hash);
        retainedUntil.delete(hash);
        retainedSize -= bytes.length;
      }
    }
  }
}

/** Reads of a closed temp file, each opening it anew (only after a mismatch). */
function fileReader(path: string): (offset: number, length: number) => Promise<Buffer> {
  return async (offset, length) => {
    const fh = await open(path, "r");
    try {
      const buf = Buffer.alloc(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
        if (bytesRead === 0) break; // short: the hash will not match
        done += bytesRead;
      }
      return buf.subarray(0, done);
    } finally {
      await fh.close();
    }
  };
}

function writeAllSync(fd: number, buffers: Buffer[]): void {
  const rest = buffers.filter((b) => b.length > 0);
  while (rest.length > 0) {
    let bytesWritten = writevSync(fd, rest);
    while (rest.length > 0 && bytesWritten >= rest[0]!.length) bytesWritten -= rest.shift()!.length;
    if (bytesWritten > 0) rest[0] = rest[0]!.subarray(bytesWritten);
  }
}

async function writeAll(fh: FileHandle, buffers: Buffer[]): Promise<void> {
  const rest = buffers.filter((b) => b.length > 0);
  while (rest.length > 0) {
    let { bytesWritten } = await fh.writev(rest);
    // A short write: drop what went out and retry the remainder.
    while (rest.length > 0 && bytesWritten >= rest[0]!.length) bytesWritten -= rest.shift()!.length;
    if (bytesWritten > 0) rest[0] = rest[0]!.subarray(bytesWritten);
  }
}
