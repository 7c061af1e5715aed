// What a version holds, read from the SQL API: the version itself, its files and
// symlinks (strata.ls), and where each file's chunks live (strata.blob_chunks).
// Everything read here is checked before a byte is written: paths must stay inside
// the checkout, and chunk lists must be complete.

import type { StoredForm } from "../codec.js";
import { StrataError } from "../errors.js";
import type { Session } from "../session.js";

/** What a checkout reads: a dataset version, or a model version (`model`: dataset is the model's name, tag its number). */
export interface Snapshot {
  dataset: string;
  tag: string;
  id: number;
  /** Hex SHA-256 of the root tree. */
  contentHash: string;
  model?: boolean | undefined;
}

/** A file, symlink or empty folder of a version (folders that hold something are implied by their paths). */
export interface Entry {
  /** '/'-separated, relative to the version root. */
  path: string;
  kind: "file" | "symlink" | "dir";
  /** Files: the executable bit. */
  executable: boolean;
  size: number;
  /** SHA-256 of the file (of the target text for a symlink), hex. */
  hash: string;
  target?: string | undefined;
}

export interface ChunkRow {
  seq: number;
  /** SHA-256 of the chunk, hex. */
  hash: string;
  size: number;
  /** Pack object hash, hex. */
  pack: string;
  offset: number;
  stored: StoredForm;
}

/** Blobs per strata.blob_chunks call: a few thousand keeps each answer a few MiB. */
export const BLOB_BATCH = 2000;

/** The folder a checkout keeps its state in; versions may not contain it, push skips it. */
export const STATE_DIR = ".strata";

/** The folder part of a '/'-separated relative path ("" at the top). */
export function parentOf(rel: string): string {
  const i = rel.lastIndexOf("/");
  return i < 0 ? "" : rel.slice(0, i);
}

export function describeVersion(v: { dataset: string; tag: string; model?: boolean | undefined }): string {
  return v.model ? `model:${v.dataset}/${v.tag}` : `${v.dataset}@${v.tag}`;
}

/** Files, symlinks and empty folders of `v` under `prefix`, in path order, with checked paths. */
export async function listEntries(session: Session, v: Snapshot, prefix = ""): Promise<Entry[]> {
  const rows = await session.query<{ path: string; kind: string; executable: boolean; size: number; hash: Buffer; target: string | null }>(
    v.model
      ? "select path, kind, executable, size, hash, target from strata.model_ls($1, $2::int, $3)"
      : "select path, kind, executable, size, hash, target from strata.ls($1, $2, $3)",
    [v.dataset, v.tag, prefix],
  );
  return rows.map((r) => {
    checkPath(r.path, v);
    if (r.kind !== "file" && r.kind !== "symlink" && r.kind !== "dir") throw corruptListing(v, `${r.path} has unknown kind ${r.kind}`);
    if (r.kind === "symlink" && (r.target === null || r.target === "")) throw corruptListing(v, `symlink ${r.path} has no target`);
    const e: Entry = { path: r.path, kind: r.kind, executable: r.executable, size: r.size, hash: r.hash.toString("hex") };
    if (r.kind === "symlink") e.target = r.target!;
    return e;
  });
}

function checkPath(path: string, v: Snapshot): void {
  const parts = path.split("/");
  if (parts.some((p) => p === "" || p === "." || p === ".." || p.includes("\0")))
    throw corruptListing(v, `path ${JSON.stringify(path)} would leave the checkout folder`);
  if (parts[0] === STATE_DIR)
    throw new StrataError(`${describeVersion(v)} contains ${path}, but ${STATE_DIR}/ is reserved for the checkout's own state`, "usage");
}

function corruptListing(v: Snapshot, why: string): StrataError {
  return new StrataError(`the database lists a bad entry in ${describeVersion(v)}: ${why}`, "corrupt");
}

export interface BlobWanted {
  hash: string;
  size: number;
  /** For messages: a path holding these contents. */
  path: string;
}

/**
 * The ordered chunk list of each blob (at most BLOB_BATCH per call), checked to be
 * complete: seq 1..n without gaps, sizes adding up to the file size.
 */
export async function chunkLists(session: Session, blobs: readonly BlobWanted[]): Promise<Map<string, ChunkRow[]>> {
  const out = new Map<string, ChunkRow[]>();
  if (blobs.length === 0) return out;
  const rows = await session.query<{
    blob: Buffer;
    seq: number;
    chunk: Buffer;
    size: number;
    pack: Buffer;
    pack_offset: number;
    stored_size: number;
    codec: number;
  }>("select blob, seq, chunk, size, pack, pack_offset, stored_size, codec from strata.blob_chunks($1::bytea[])", [
    blobs.map((b) => Buffer.from(b.hash, "hex")),
  ]);
  for (const r of rows) {
    const blob = r.blob.toString("hex");
    let list = out.get(blob);
    if (list === undefined) {
      list = [];
      out.set(blob, list);
    }
    const stored = { size: r.stored_size, codec: r.codec };
    list.push({ seq: r.seq, hash: r.chunk.toString("hex"), size: r.size, pack: r.pack.toString("hex"), offset: r.pack_offset, stored });
  }
  for (const b of blobs) {
    const list = out.get(b.hash) ?? [];
    list.sort((x, y) => x.seq - y.seq);
    const total = list.reduce((n, c) => n + c.size, 0);
    const gapless = list.every((c, i) => c.seq === i + 1);
    if (!gapless || total !== b.size)
      throw new StrataError(
        `the database lists ${list.length} chunks of ${total} bytes for ${b.path}, which is ${b.size} bytes (missing chunk rows?)`,
        "corrupt",
      );
    out.set(b.hash, list);
  }
  return out;
}
