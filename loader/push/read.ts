// The reading stage of a push: every input file becomes a record (path, kind, content
// hash, size). Unchanged files come from the local index unread; files no larger than
// the smallest chunk are read whole and hashed once; the rest stream through the
// chunker. Every chunk goes to the dedup stage, which packs the ones the database lacks.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { chunkFiles } from "../chunk/files.js";
import type { ChunkParams } from "../chunk/params.js";
import type { ChunkDedup } from "./dedup.js";
import type { FileIndex } from "./file-index.js";
import type { BlobRecord } from "./protocol.js";
import { isTabular, type ReadFile } from "./tabular.js";
import { symlinkHash, type FileRecord } from "./tree.js";
import { inputError, type InputFile } from "./walk.js";

export interface ReadProgress {
  files: number;
  bytes: number;
}

export interface ReadResult {
  records: FileRecord[];
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
  /** Read every file even when the index says it is unchanged. */
  rereadAll: boolean;
  dedup: ChunkDedup;
  /** Called as files and bytes are read. */
  onProgress: (p: ReadProgress) => void;
}

export async function readInput(root: string, files: readonly InputFile[], opts: ReadOptions): Promise<ReadResult> {
  const { index, dedup } = opts;
  const records: FileRecord[] = [];
  const blobs = new Map<string, BlobRecord>();
  const tabular: ReadFile[] = [];
  const progress: ReadProgress = { files: 0, bytes: 0 };
  let unchangedFiles = 0;

  // Unchanged files (same size, mtime and inode as last time) and symlinks need no reading.
  const toRead: InputFile[] = [];
  for (const f of files) {
    const known = f.kind === "file" && !opts.rereadAll ? index?.lookup(f) : undefined;
    if (f.kind === "symlink") {
      records.push({ path: f.path, kind: "symlink", hash: symlinkHash(f.target!), size: 0, target: f.target });
    } else if (known) {
      records.push({ path: f.path, kind: "file", hash: known, size: f.size });
      index!.record(f, known);
      unchangedFiles++;
    } else {
      toRead.push(f);
      continue;
    }
    progress.files++;
  }

  const fileDone = (f: InputFile, hash: Buffer, size: number, chunkHashes: Buffer[]): void => {
    const key = hash.toString("hex");
    if (!blobs.has(key)) blobs.set(key, { hash, size, chunks: chunkHashes.length === 1 ? chunkHashes[0]! : Buffer.concat(chunkHashes) });
    index?.record(f, hash);
    records.push({ path: f.path, kind: "file", hash, size });
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
    let data: Buffer;
    try {
      data = readFileSync(f.abs);
    } catch (e) {
      throw inputError(f.abs, e);
    }
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
        fileDone(large[current++]!, ev.sha256, ev.size, chunkHashes);
        chunkHashes = [];
      }
    }
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code) throw inputError((e as { path?: string }).path ?? large[current]?.abs ?? root, e);
    throw e;
  }
  return { records, blobs: [...blobs.values()], tabular, unchangedFiles };
}
