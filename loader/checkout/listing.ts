// What a version holds, read from the SQL API: the version itself, its files and
// symlinks (strata.ls), and where each file's chunks live (strata.blob_chunks).
// Everything read here is checked before a byte is written: paths must stay inside
// the checkout, and chunk lists must be complete.

import type { StoredForm } from "../codec.js";
import { fromDatabaseError, StrataError } from "../errors.js";
import type { Session } from "../session.js";
import { type Entry, PathTable, parentOf } from "./table.js";

/** What a checkout reads: a dataset version, or a model version (`model`: dataset is the model's name, tag its number). */
export interface Snapshot {
  dataset: string;
  tag: string;
  id: number;
  /** Hex SHA-256 of the root tree. */
  contentHash: string;
  model?: boolean | undefined;
}

export type { Entry } from "./table.js";
export { parentOf };

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

export function describeVersion(v: { dataset: string; tag: string; model?: boolean | undefined }): string {
  return v.model ? `model:${v.dataset}/${v.tag}` : `${v.dataset}@${v.tag}`;
}

/** Rows fetched from the listing's cursor at a time. */
const LIST_BATCH = 10_000;

/**
 * Files, symlinks and empty folders of `v` under `prefix`, in path order (bytewise), with
 * checked paths, as columns. Read through a cursor a batch at a time, so a million rows
 * are never objects at once.
 */
export async function listTable(session: Session, v: Snapshot, prefix = ""): Promise<PathTable> {
  const table = new PathTable();
  const client = await session.pool.connect();
  try {
    await client.query("begin read only");
    await client.query(
      `declare entries no scroll cursor for select path, kind, executable, size, hash, target from ${v.model ? "strata.model_ls($1, $2::int, $3)" : "strata.ls($1, $2, $3)"}`,
      [v.dataset, v.tag, prefix],
    );
    for (;;) {
      const { rows } = await client.query<[string, string, boolean, string | number, Buffer, string | null]>({
        text: `fetch ${LIST_BATCH} from entries`,
        rowMode: "array",
      });
      for (const [path, kind, executable, size, hash, target] of rows) {
        checkPath(path, v);
        if (kind !== "file" && kind !== "symlink" && kind !== "dir") throw corruptListing(v, `${path} has unknown kind ${kind}`);
        if (kind === "symlink" && (target === null || target === "")) throw corruptListing(v, `symlink ${path} has no target`);
        table.add(path, { kind, executable, size: Number(size), hash, target: kind === "symlink" ? target! : undefined });
      }
      if (rows.length < LIST_BATCH) break;
    }
    await client.query("commit");
  } catch (e) {
    await client.query("rollback").catch(() => {});
    throw e instanceof StrataError ? e : fromDatabaseError(e);
  } finally {
    client.release();
  }
  return table;
}

/** The entries of `v` under `prefix` as objects (for a few paths: see listTable). */
export async function listEntries(session: Session, v: Snapshot, prefix = ""): Promise<Entry[]> {
  const t = await listTable(session, v, prefix);
  return Array.from({ length: t.count }, (_, i) => t.entry(i));
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
