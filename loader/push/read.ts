// The reading stage of a push: every input file gets its content hash, kept by walk
// position in one table (not an object per file). Unchanged files come from the local
// index unread; files no larger than the smallest chunk are read whole and hashed once,
// in worker threads; the rest stream through the chunker. Every chunk goes to the
// dedup stage, which packs the ones the database lacks.

import { lstatSync, type Stats } from "node:fs";
import { chunkFiles } from "../chunk/files.js";
import type { ChunkParams } from "../chunk/params.js";
import { StrataError } from "../errors.js";
import type { ChunkDedup } from "./dedup.js";
import type { FileIndex } from "./file-index.js";
import { readSmallFiles } from "./small-files.js";
import { isTabular, type ReadFile } from "./tabular.js";
import { symlinkHash } from "./tree.js";
import { inputError, type InputList } from "./walk.js";

export interface ReadProgress {
  files: number;
  bytes: number;
}

export interface ReadOptions {
  params: ChunkParams;
  index: FileIndex | undefined;
  /** Read every file even when the index says it is unchanged (the index is still rewritten). */
  rereadAll: boolean;
  /** Of the contents the index vouches for, those the database lacks or cannot read (hex). */
  unsoundBlobs: (hashes: Buffer[]) => Promise<Set<string>>;
  dedup: ChunkDedup;
  /** File `i` was read (its hash is set): its contents, made of these chunks, are ones this push puts. */
  onContent: (i: number, chunkHashes: Buffer[]) => void;
  /** Symlink or file `i` needs no reading (its hash is set): a symlink, or contents the database has, as the index said. */
  onKnown?: (i: number) => void;
  /** Called as files and bytes are read. */
  onProgress: (p: ReadProgress) => void;
}

/** Hashes the index vouches for, per unsoundBlobs call. */
const INDEX_CHECK_BATCH = 20_000;

/** What a push read: each entry's hash by walk position. */
export class ReadResult {
  /** 32 bytes per walk position: a file's contents, a symlink's target; zeros for a folder. */
  private readonly hashes: Buffer;
  /** Tabular files read, for their row hashes. */
  readonly tabular: ReadFile[] = [];
  /** Files whose hash came from the local index, unread. */
  unchangedFiles = 0;

  constructor(readonly list: InputList) {
    this.hashes = Buffer.alloc(32 * list.count);
  }

  hashOf(i: number): Buffer {
    return this.hashes.subarray(32 * i, 32 * i + 32);
  }

  setHash(i: number, hash: Uint8Array | string): void {
    if (typeof hash === "string") this.hashes.write(hash, 32 * i, 32, "hex");
    else this.hashes.set(hash, 32 * i);
  }
}

/** True when the file's size, mtime or ctime differ from what the walk saw (it is being written). */
function changedSince(list: InputList, i: number): boolean {
  let st: Stats;
  try {
    st = lstatSync(list.abs(i));
  } catch (e) {
    throw inputError(list.abs(i), e);
  }
  const seen = list.stat(i);
  if (st.size !== seen.size || st.mtimeMs !== seen.mtimeMs || st.ctimeMs !== seen.ctimeMs) {
    list.setStat(i, { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino });
    return true;
  }
  return false;
}

function changedWhileRead(abs: string): StrataError {
  return new StrataError(
    `${abs} changed while it was being read; nothing was committed: push again once it is no longer being written`,
    "conflict",
  );
}

/** Reads into `out` (made by the caller when it needs hashes while the read goes on). */
export async function readInput(list: InputList, opts: ReadOptions, out = new ReadResult(list)): Promise<ReadResult> {
  const { index, dedup } = opts;
  const progress: ReadProgress = { files: 0, bytes: 0 };

  // Unchanged files (same size, mtime, ctime and inode as last time), symlinks and
  // folders need no reading; unless the database lacks the contents the index names (an
  // index of another database) or cannot read them (a damaged pack): those are read, and
  // so uploaded again.
  const toRead: number[] = [];
  const indexed: number[] = [];
  for (let i = 0; i < list.count; i++) {
    const kind = list.kind(i);
    if (kind === "symlink") {
      out.setHash(i, symlinkHash(list.target(i)!));
      opts.onKnown?.(i);
      progress.files++;
    } else if (kind === "file") {
      const known = opts.rereadAll ? undefined : index?.lookup(list, i);
      if (known === undefined) toRead.push(i);
      else {
        out.setHash(i, known);
        indexed.push(i);
      }
    }
  }
  for (let b = 0; b < indexed.length; b += INDEX_CHECK_BATCH) {
    const batch = indexed.slice(b, b + INDEX_CHECK_BATCH);
    const unsound = await opts.unsoundBlobs(batch.map((i) => out.hashOf(i)));
    for (const i of batch) {
      if (unsound.has(out.hashOf(i).toString("hex"))) toRead.push(i);
      else {
        out.unchangedFiles++;
        opts.onKnown?.(i);
        progress.files++;
      }
    }
  }

  const fileDone = (i: number, hash: Buffer, chunkHashes: Buffer[]): void => {
    out.setHash(i, hash);
    opts.onContent(i, chunkHashes);
    if (isTabular(list.name(i))) out.tabular.push({ abs: list.abs(i), path: list.path(i), size: list.size(i), hash: Buffer.from(hash) });
    progress.files++;
    opts.onProgress(progress);
  };

  // Files no larger than the smallest chunk are one chunk whose hash is the file's:
  // read and hashed in worker threads (small-files.ts), one hash each. The rest stream
  // through the chunker in one ordered pass.
  // Positions as one typed column, not a JS array: a million of them stay off the JS heap.
  const large: number[] = [];
  const small = new Int32Array(toRead.length);
  let smallCount = 0;
  for (const i of toRead) {
    if (list.size(i) <= opts.params.minSize) small[smallCount++] = i;
    else large.push(i);
  }
  toRead.length = 0;
  let n = 0;
  const smallFile = (k: number) => ({ abs: list.abs(small[k]!), ...list.stat(small[k]!) });
  for await (const r of readSmallFiles(smallCount, smallFile, opts.params.minSize)) {
    const i = small[n++]!;
    if (r.kind === "error") throw inputError(list.abs(i), r.error);
    if (r.stat !== undefined) list.setStat(i, r.stat);
    if (r.kind === "changing") throw changedWhileRead(list.abs(i));
    if (r.kind === "grew") {
      large.push(i);
      continue;
    }
    if (r.data.length > 0) await dedup.add(r.hash, r.data);
    progress.bytes += r.data.length;
    fileDone(i, r.hash, r.data.length > 0 ? [r.hash] : []);
  }

  let current = 0;
  let chunkHashes: Buffer[] = [];
  try {
    for await (const ev of chunkFiles(
      large.map((i) => list.abs(i)),
      opts.params,
      { recycle: true }, // chunk bytes in reused memory, released once stored or found known
    )) {
      if (ev.kind === "chunk") {
        chunkHashes.push(ev.sha256);
        await dedup.add(ev.sha256, ev.data, ev.release);
        progress.bytes += ev.length;
        opts.onProgress(progress);
      } else {
        const i = large[current++]!;
        if (changedSince(list, i)) throw changedWhileRead(list.abs(i));
        list.setStat(i, { ...list.stat(i), size: ev.size });
        fileDone(i, ev.sha256, chunkHashes);
        chunkHashes = [];
      }
    }
  } catch (e) {
    // Only file-system errors name an input file; a lost database or store is not one.
    const fsError = e as { code?: string; syscall?: string; path?: string };
    if (typeof fsError.code === "string" && typeof fsError.syscall === "string")
      throw inputError(fsError.path ?? (large[current] !== undefined ? list.abs(large[current]!) : list.root), e);
    throw e;
  }
  return out;
}
