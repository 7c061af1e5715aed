// Row hashes of the tabular files (CSV, JSON Lines) a push read, for row-level diffs.
// Keyed by file contents: contents that already have row hashes, and files the local
// index says are unchanged, cost nothing more. Big tables hash in worker threads, as
// many at once as there are cores: every row of a table is parsed and hashed.

import { availableParallelism } from "node:os";
import { moduleWorker } from "../module-worker.js";
import { mapLimited } from "../parallel.js";
import type { Session } from "../session.js";
import { fileRows, type RowHashes, recordRows, tabularFormatOf } from "../tabular/rows.js";
import { missingHashes } from "./protocol.js";

export interface ReadFile {
  abs: string;
  path: string;
  /** Its size when it was read (picks inline or worker hashing). */
  size: number;
  hash: Buffer;
}

export interface TabularRows {
  blob: Buffer;
  rows: RowHashes;
}

/** Files from this size on hash in a worker thread; below, starting one costs more than it saves. */
export const WORKER_BYTES = 4 * 1024 * 1024;

export function isTabular(path: string): boolean {
  return tabularFormatOf(path) !== undefined;
}

/**
 * Row hashes of the given tabular files whose contents have none recorded under this
 * loader's rule (new files, and files hashed by an older rule, which this replaces).
 */
export async function tabularRowsOf(session: Session, files: ReadFile[]): Promise<TabularRows[]> {
  const byHash = new Map(files.map((f) => [f.hash.toString("hex"), f]));
  if (byHash.size === 0) return [];
  const lacking = await missingHashes(
    session,
    "missing_row_hashes",
    [...byHash.values()].map((f) => f.hash),
  );
  return hashTabularFiles(lacking.map((h) => byHash.get(h.toString("hex"))!));
}

/**
 * Row hashes of `files`; a file rewritten since it was chunked (its bytes no longer have
 * its hash) gets none. Files of at least `workerBytes` hash in worker threads.
 */
export async function hashTabularFiles(files: ReadFile[], workerBytes = WORKER_BYTES): Promise<TabularRows[]> {
  const sorted = [...files].sort((a, b) => b.size - a.size); // the biggest first, so the workers finish together
  const results = await mapLimited(sorted, availableParallelism(), (f) =>
    f.size >= workerBytes ? rowsInWorker(f.abs, f.path) : fileRows(f.abs, f.path),
  );
  const out: TabularRows[] = [];
  results.forEach((r, i) => {
    const f = sorted[i]!;
    if (r.rows && r.digest.equals(f.hash)) out.push({ blob: f.hash, rows: r.rows });
  });
  return out;
}

function rowsInWorker(abs: string, name: string): Promise<{ rows: RowHashes | undefined; digest: Buffer }> {
  return new Promise((resolve, reject) => {
    const w = moduleWorker(new URL("../tabular/rows-worker.js", import.meta.url), { abs, name });
    w.once("message", (m: { rows: RowHashes | undefined; digest: Uint8Array }) => {
      resolve({ rows: m.rows, digest: Buffer.from(m.digest.buffer, m.digest.byteOffset, m.digest.byteLength) });
      void w.terminate();
    });
    w.once("error", reject);
    w.once("exit", (code) => reject(new Error(`row hashing of ${name} stopped (exit ${code})`)));
  });
}

export async function recordTabularRows(session: Session, list: TabularRows[]): Promise<void> {
  for (const t of list) await recordRows(session, t.blob, t.rows);
}
