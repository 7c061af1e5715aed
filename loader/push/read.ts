// The reading stage of a push: every input file becomes a record (path, kind, content
// hash, size). Unchanged files come from the local index unread; files no larger than
// the smallest chunk are read whole and hashed once; the rest stream through the
// chunker. Every chunk goes to the dedup stage, which packs the ones the database lacks.

import { createHash } from "node:crypto";
import { lstatSync, readFileSync, type Stats } from "node:fs";
import { chunkFiles } from "../chunk/files.js";
import type { ChunkParams } from "../chunk/params.js";
import { StrataError } from "../errors.js";
import type { ChunkDedup } from "./dedup.js";
import type { FileIndex } from "./file-index.js";
import type { BlobRecord } from "./protocol.js";
import { isTabular, type ReadFile } from "./tabular.js";
import { symlinkHash, type PushedPath } from "./tree.js";
import { inputError, type InputFile } from "./walk.js";

export interface ReadProgress {
  files: number;
  bytes: number;
}

export interface ReadResult {
  records: PushedPath[];
  /** Distinct file contents read by this push. */
  blobs: BlobRecord[];
  /** Tabular files read, for their row hashes. */
  tabular: ReadFile[];
  /** Files whose hash came from the local index, unread. */
  unchangedFiles: number;
}

export interface ReadOptions {
  params: ChunkParams;
  index: FileIndex | undefined;
  /** Read every file even when the index says it is unchanged (the index is still rewritten). */
  rereadAll: boolean;
  /** Of the contents the index vouches for, those the database lacks or cannot read (hex). */
  unsoundBlobs: (hashes: Buffer[]) => Promise<Set<string>>;
  dedup: ChunkDedup;
  /** Called as files and bytes are read. */
  onProgress: (p: ReadProgress) => void;
}

const EMPTY = Buffer.alloc(32);
/** Reads of a small file that keeps changing under us before the push gives up. */
const READ_ATTEMPTS = 3;

/** True when the file's size, mtime or ctime differ from what the walk saw (it is being written). */
function changedSince(f: InputFile): boolean {
  let st: Stats;
  try {
    st = lstatSync(f.abs);
  } catch (e) {
    throw inputError(f.abs, e);
  }
  if (st.size !== f.size || st.mtimeMs !== f.mtimeMs || st.ctimeMs !== f.ctimeMs) {
    Object.assign(f, { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino });
    return true;
  }
  return false;
}

function changedWhileRead(f: InputFile): StrataError {
  return new StrataError(
    `${f.abs} changed while it was being read; nothing was committed: push again once it is no longer being written`,
    "conflict",
  );
}

/** A small file's bytes, read again when it changed during the read (a torn read is never committed). */
function readWhole(f: InputFile): Buffer {
  for (let attempt = 1; ; attempt++) {
    let data: Buffer;
    try {
      data = readFileSync(f.abs);
    } catch (e) {
      throw inputError(f.abs, e);
    }
    if (!changedSince(f) && data.length === f.size) return data;
    if (attempt === READ_ATTEMPTS) throw changedWhileRead(f);
  }
}

export async function readInput(root: string, files: readonly InputFile[], opts: ReadOptions): Promise<ReadResult> {
  const { index, dedup } = opts;
  const records: PushedPath[] = [];
  const blobs = new Map<string, BlobRecord>();
  const tabular: ReadFile[] = [];
  const progress: ReadProgress = { files: 0, bytes: 0 };
  let unchangedFiles = 0;

  // Unchanged files (same size, mtime, ctime and inode as last time), symlinks and
  // folders need no reading; unless the database lacks the contents the index names (an
  // index of another database) or cannot read them (a damaged pack): those are read, and
  // so uploaded again.
  const toRead: InputFile[] = [];
  const indexed: [InputFile, Buffer][] = [];
  for (const f of files) {
    const known = f.kind === "file" && !opts.rereadAll ? index?.lookup(f) : undefined;
    if (f.kind === "dir") records.push({ path: f.path, kind: "dir", hash: EMPTY, size: 0 });
    else if (f.kind === "symlink") {
      records.push({ path: f.path, kind: "symlink", hash: symlinkHash(f.target!), size: 0, target: f.target });
      progress.files++;
    } else if (known) indexed.push([f, known]);
    else toRead.push(f);
  }
  const unsound = await opts.unsoundBlobs(indexed.map(([, h]) => h));
  for (const [f, known] of indexed) {
    if (unsound.has(known.toString("hex"))) {
      toRead.push(f);
      continue;
    }
    records.push({ path: f.path, kind: "file", executable: f.executable, hash: known, size: f.size });
    index!.record(f, known);
    unchangedFiles++;
    progress.files++;
  }

  const fileDone = (f: InputFile, hash: Buffer, size: number, chunkHashes: Buffer[]): void => {
    const key = hash.toString("hex");
    if (!blobs.has(key)) blobs.set(key, { hash, size, chunks: chunkHashes.length === 1 ? chunkHashes[0]! : Buffer.concat(chunkHashes) });
    index?.record(f, hash);
    records.push({ path: f.path, kind: "file", executable: f.executable, hash, size });
    if (isTabular(f.path)) tabular.push({ abs: f.abs, path: f.path, hash });
    progress.files++;
    opts.onProgress(progress);
  };

  // Files no larger than the smallest chunk are one chunk whose hash is the file's:
  // read each with one synchronous call (far cheaper per file than the async path)
  // and hash it once. The rest stream through the chunker in one ordered pass.
  const large: InputFile[] = [];
  for (const f of toRead) {
    if (f.size > opts.params.minSize) {
      large.push(f);
      continue;
    }
    const data = readWhole(f);
    if (data.length > opts.params.minSize) {
      large.push(f); // it grew since the walk
      continue;
    }
    const hash = createHash("sha256").update(data).digest();
    if (data.length > 0) await dedup.add(hash, data);
    progress.bytes += data.length;
    fileDone(f, hash, data.length, data.length > 0 ? [hash] : []);
  }

  let current = 0;
  let chunkHashes: Buffer[] = [];
  try {
    for await (const ev of chunkFiles(
      large.map((f) => f.abs),
      opts.params,
    )) {
      if (ev.kind === "chunk") {
        chunkHashes.push(ev.sha256);
        await dedup.add(ev.sha256, ev.data);
        progress.bytes += ev.length;
        opts.onProgress(progress);
      } else {
        const f = large[current++]!;
        if (changedSince(f)) throw changedWhileRead(f);
        fileDone(f, ev.sha256, ev.size, chunkHashes);
        chunkHashes = [];
      }
    }
  } catch (e) {
    // Only file-system errors name an input file; a lost database or store is not one.
    const fsError = e as { code?: string; syscall?: string; path?: string };
    if (typeof fsError.code === "string" && typeof fsError.syscall === "string")
      throw inputError(fsError.path ?? large[current]?.abs ?? root, e);
    throw e;
  }
  return { records, blobs: [...blobs.values()], tabular, unchangedFiles };
}
