// Row hashes of the tabular files (CSV, JSON Lines) a push read, for row-level diffs.
// Keyed by file contents: contents that already have row hashes, and files the local
// index says are unchanged, cost nothing more.

import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { hashRows, recordRows, tabularFormatOf, type RowHashes } from "../tabular/rows.js";
import type { Session } from "../session.js";
import { missingHashes } from "./protocol.js";

export interface ReadFile {
  abs: string;
  path: string;
  hash: Buffer;
}

export interface TabularRows {
  blob: Buffer;
  rows: RowHashes;
}

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
  const out: TabularRows[] = [];
  for (const f of lacking.map((h) => byHash.get(h.toString("hex"))!)) {
    const digest = createHash("sha256");
    const rows = await hashRows(
      tee(createReadStream(f.abs), (b) => digest.update(b)),
      f.path,
    );
    // a file rewritten since it was chunked would get row hashes of other contents
    if (rows && digest.digest().equals(f.hash)) out.push({ blob: f.hash, rows });
  }
  return out;
}

export async function recordTabularRows(session: Session, list: TabularRows[]): Promise<void> {
  for (const t of list) await recordRows(session, t.blob, t.rows);
}

async function* tee(source: AsyncIterable<Buffer>, also: (b: Buffer) => void): AsyncGenerator<Buffer> {
  for await (const b of source) {
    also(b);
    yield b;
  }
}
