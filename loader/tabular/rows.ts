// Row hashes of tabular files, for row-level diffs (strata.record_tabular_rows,
// strata.diff_rows). A file is tabular by its name: `.csv` (its first row is the header,
// which must not be empty), `.jsonl` / `.ndjson` (every row is a record).
//
// What a row is, and when two rows are the same record, is records.ts: rows end at a LF
// outside a quoted CSV field, and a row's hash is that of its canonical form (CSV fields
// quoted only where needed, JSON with sorted keys and exact numbers). Every terminated
// row counts, an empty one too, so row numbers are record numbers (the CSV header is not
// one). A UTF-8 byte order mark before the first row is not part of it.
//
// A row's hash is the first 8 bytes of the SHA-256 of its canonical form, read as a
// big-endian signed 64-bit integer: PostgreSQL's bigint. ROW_HASHING names this rule;
// row hashes recorded under another rule are never compared with these.
//
// Everything streams: memory is the hashes (8 bytes a row) plus one row carried across
// input chunks.

import crypto from "node:crypto";
import { createReadStream } from "node:fs";
import os from "node:os";
import type { Session } from "../session.js";
import { canonicalCsvRow, canonicalJsonRow, RowSplitter } from "./records.js";

export { RowSplitter };

/** The row-hashing rule of this loader: 2 hashes canonical records (1 hashed raw row bytes). */
export const ROW_HASHING = 2;

export type TabularFormat = "csv" | "jsonl";

export interface RowHashes {
  format: TabularFormat;
  /** The CSV header line (decoded as UTF-8); null for JSON Lines. */
  header: string | null;
  rowCount: number;
  /** Row i (1-based) has hash hashes[i - 1]. */
  hashes: BigInt64Array;
}

type Source = AsyncIterable<Uint8Array> | Iterable<Uint8Array> | Uint8Array;

/** The tabular format a file name implies, or undefined. */
export function tabularFormatOf(name: string): TabularFormat | undefined {
  const lower = name.toLowerCase();
  if (lower.endsWith(".csv")) return "csv";
  if (lower.endsWith(".jsonl") || lower.endsWith(".ndjson")) return "jsonl";
  return undefined;
}

const hashHex: (data: Uint8Array | string) => string =
  typeof crypto.hash === "function" ? (d) => crypto.hash("sha256", d, "hex") : (d) => crypto.createHash("sha256").update(d).digest("hex");

/** The hash of one row: the first 8 bytes of the SHA-256 of its canonical form, signed big-endian. */
export function rowHash(row: Uint8Array, format: TabularFormat): bigint {
  const canonical = format === "csv" ? canonicalCsvRow(row) : canonicalJsonRow(row);
  return BigInt.asIntN(64, BigInt(`0x${hashHex(canonical).slice(0, 16)}`));
}

/** A growable BigInt64Array filled from 32-bit halves (no BigInt per row). */
class HashList {
  private words = new Int32Array(2048);
  length = 0;
  private readonly little = os.endianness() === "LE";

  add(hex: string): void {
    if (2 * this.length + 2 > this.words.length) {
      const bigger = new Int32Array(this.words.length * 2);
      bigger.set(this.words);
      this.words = bigger;
    }
    const hi = parseInt(hex.slice(0, 8), 16) | 0;
    const lo = parseInt(hex.slice(8, 16), 16) | 0;
    const i = 2 * this.length++;
    this.words[i] = this.little ? lo : hi;
    this.words[i + 1] = this.little ? hi : lo;
  }

  done(): BigInt64Array {
    return new BigInt64Array(this.words.buffer, 0, this.length).slice();
  }
}

async function feed(source: Source, splitter: RowSplitter): Promise<void> {
  if (source instanceof Uint8Array) splitter.push(source);
  else if (Symbol.asyncIterator in source) for await (const c of source as AsyncIterable<Uint8Array>) splitter.push(c);
  else for (const c of source as Iterable<Uint8Array>) splitter.push(c);
  splitter.end();
}

function stripBom(b: Uint8Array): Uint8Array {
  return b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? b.subarray(3) : b;
}

/**
 * The row hashes of a file, or undefined when it is not tabular: its name is not .csv,
 * .jsonl or .ndjson, or it is a CSV without a (non-empty) header line.
 */
export async function hashRows(source: Source, name: string): Promise<RowHashes | undefined> {
  const format = tabularFormatOf(name);
  if (format === undefined) return undefined;
  const list = new HashList();
  let header: string | null = null;
  let first = true;
  const canonical = format === "csv" ? canonicalCsvRow : canonicalJsonRow;
  await feed(
    source,
    new RowSplitter(format === "csv", (row) => {
      if (first) {
        first = false;
        row = stripBom(row);
        if (format === "csv") {
          header = Buffer.from(row).toString("utf8");
          return;
        }
      }
      list.add(hashHex(canonical(row)));
    }),
  );
  if (format === "csv" && !header) return undefined;
  return { format, header, rowCount: list.length, hashes: list.done() };
}

/** The row hashes of the file at `abs` (named `name`), and the SHA-256 of the bytes they were read from. */
export async function fileRows(abs: string, name: string): Promise<{ rows: RowHashes | undefined; digest: Buffer }> {
  const digest = crypto.createHash("sha256");
  const rows = await hashRows(
    tee(createReadStream(abs, { highWaterMark: 1 << 20 }), (b) => digest.update(b)),
    name,
  );
  return { rows, digest: digest.digest() };
}

async function* tee(source: AsyncIterable<Buffer>, also: (b: Buffer) => void): AsyncGenerator<Buffer> {
  for await (const b of source) {
    also(b);
    yield b;
  }
}

/**
 * The bytes of the given rows (1-based row numbers as diff_rows reports them; the CSV
 * header is not a row), read from the file's contents: the text diff_rows cannot give.
 */
export async function rowTexts(source: Source, name: string, rowNumbers: Iterable<number | bigint | string>): Promise<Map<number, Buffer>> {
  const format = tabularFormatOf(name);
  if (format === undefined) throw new Error(`${name} is not a tabular file (.csv, .jsonl, .ndjson)`);
  const wanted = new Set<number>();
  for (const r of rowNumbers) wanted.add(Number(r));
  const out = new Map<number, Buffer>();
  let n = format === "csv" ? -1 : 0;
  await feed(
    source,
    new RowSplitter(format === "csv", (row) => {
      n++;
      if (n > 0 && wanted.has(n)) out.set(n, Buffer.from(n === 1 && format === "jsonl" ? stripBom(row) : row));
    }),
  );
  return out;
}

/**
 * The hashes as a bigint[] in PostgreSQL's binary array format, for a bigint[] parameter:
 * node-postgres sends a Buffer as a binary value, which the server reads with array_recv.
 * 12 bytes a row and no decimal text to write or parse (a file can have millions of rows).
 */
export function pgBigintArrayBinary(hashes: BigInt64Array): Buffer {
  const n = hashes.length;
  const out = Buffer.allocUnsafe(20 + 12 * n);
  out.writeInt32BE(1, 0); // dimensions
  out.writeInt32BE(0, 4); // no nulls
  out.writeInt32BE(20, 8); // element type: int8's oid
  out.writeInt32BE(n, 12); // length of the dimension
  out.writeInt32BE(1, 16); // its lower bound
  for (let i = 0, at = 20; i < n; i++, at += 12) {
    out.writeInt32BE(8, at);
    out.writeBigInt64BE(hashes[i]!, at + 4);
  }
  return out;
}

/** Record a file's row hashes under ROW_HASHING (idempotent); `blob` is its 32-byte content hash. Returns the row count. */
export async function recordRows(session: Session, blob: Buffer, rows: RowHashes): Promise<number> {
  const r = await session.query<{ n: string | number }>("select strata.record_tabular_rows($1, $2, $3, $4::bigint[], $5::smallint) as n", [
    blob,
    rows.format,
    rows.header,
    pgBigintArrayBinary(rows.hashes),
    ROW_HASHING,
  ]);
  return Number(r[0]!.n);
}
