// What a row of a tabular file is, as a person comparing records sees it.
//
// CSV is read as lenient RFC 4180 readers (Python's csv module) read it: a field is
// quoted only when a quote opens it (at the start of the field); there "" is a quote and
// a LF is data; a quote anywhere else is data (10,12" ruler,s is three fields). A row
// ends at a LF outside a quoted field; a CR right before that LF belongs to the
// terminator.
//
// Two rows are the same record when their fields are: a row's identity is its canonical
// form, its fields written back with quotes only where they are needed (a field holding
// a comma, a quote or a LF), so "abc" and abc are one record. A row without a quote is
// its own canonical form and is never parsed. A JSON Lines row's identity is its value
// with object keys sorted and every number in one exact form (1.50, 1.5 and 15e-1 are
// one number; 12345678901234567890 keeps every digit); a line that is not JSON is its
// bytes. A UTF-8 byte order mark opens no row.

import { isLosslessNumber, parse as parseJson } from "lossless-json";

const LF = 10;
const CR = 13;
const QUOTE = 34;
const COMMA = 44;

enum State {
  /** Outside quotes (at a field start, or inside an unquoted field). */
  Unquoted,
  /** Inside a quoted field. */
  Quoted,
  /** Just after a quote inside a quoted field: "" (a quote), or the end of the field. */
  QuoteInQuoted,
}

/**
 * Cuts a byte stream into rows. Rows wholly inside an input chunk are passed as views of
 * it (valid only during the callback); a row that spans chunks is copied once. Rows
 * without quotes are found with two indexOf scans, not a byte loop.
 */
export class RowSplitter {
  private carry: Buffer[] = [];
  private state = State.Unquoted;

  constructor(
    private readonly csv: boolean,
    private readonly onRow: (row: Uint8Array) => void,
  ) {}

  push(input: Uint8Array): void {
    const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    const n = buf.length;
    let start = 0; // start of the current row in buf
    let pos = 0; // where scanning goes on
    // The next quote at or after pos, found once per quote (a scan per row would be quadratic).
    let quote = this.csv ? buf.indexOf(QUOTE) : -1;
    const quoteFrom = (from: number): number => {
      if (quote !== -1 && quote < from) quote = buf.indexOf(QUOTE, from);
      return quote;
    };
    while (pos < n || this.state === State.Unquoted) {
      if (this.csv && this.state === State.Quoted) {
        const q = quoteFrom(pos);
        if (q === -1) break;
        this.state = State.QuoteInQuoted;
        pos = q + 1;
        continue;
      }
      if (this.state === State.QuoteInQuoted) {
        if (pos >= n) break; // decided by the next chunk's first byte
        if (buf[pos] === QUOTE) {
          this.state = State.Quoted;
          pos++;
          continue;
        }
        this.state = State.Unquoted; // the field ended (or, leniently, goes on unquoted)
      }
      let nl = buf.indexOf(LF, pos);
      if (nl === -1) nl = n;
      if (this.csv) {
        let q = quoteFrom(pos);
        while (q !== -1 && q < nl && !this.opensField(buf, q, start)) q = quoteFrom(q + 1);
        if (q !== -1 && q < nl) {
          this.state = State.Quoted;
          pos = q + 1;
          continue;
        }
      }
      if (nl === n) break;
      this.emit(buf, start, nl);
      start = pos = nl + 1;
    }
    if (start < n) this.carry.push(Buffer.from(buf.subarray(start, n)));
  }

  /** Emit the last row (bytes after the last LF), if any. */
  end(): void {
    if (this.carry.length > 0) {
      const row = Buffer.concat(this.carry);
      this.carry = [];
      this.onRow(row);
    }
    this.state = State.Unquoted;
  }

  /** A quote at `q` opens a field when it starts the row or follows a comma. */
  private opensField(buf: Buffer, q: number, rowStart: number): boolean {
    if (q > rowStart) return buf[q - 1] === COMMA;
    if (q > 0) return true; // the row starts in this chunk, here
    const last = this.carry[this.carry.length - 1];
    return last === undefined || last[last.length - 1] === COMMA;
  }

  private emit(buf: Buffer, start: number, nl: number): void {
    this.state = State.Unquoted;
    if (this.carry.length > 0) {
      const row = Buffer.concat([...this.carry, buf.subarray(start, nl)]);
      this.carry = [];
      this.onRow(row.length > 0 && row[row.length - 1] === CR ? row.subarray(0, row.length - 1) : row);
      return;
    }
    const end = nl > start && buf[nl - 1] === CR ? nl - 1 : nl;
    this.onRow(buf.subarray(start, end));
  }
}

/** The fields of one CSV row (its terminator already removed), read leniently. */
export function csvFields(row: Uint8Array): Buffer[] {
  const b = Buffer.from(row.buffer, row.byteOffset, row.byteLength);
  const fields: Buffer[] = [];
  let field: number[] | undefined; // bytes of a field that needed unescaping
  let fieldStart = 0;
  let state = State.Unquoted;
  let atStart = true;
  const close = (end: number): void => {
    fields.push(field !== undefined ? Buffer.from(field) : b.subarray(fieldStart, end));
    field = undefined;
  };
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (state === State.Quoted) {
      if (c === QUOTE) state = State.QuoteInQuoted;
      else field!.push(c);
      continue;
    }
    if (state === State.QuoteInQuoted) {
      if (c === QUOTE) {
        field!.push(QUOTE);
        state = State.Quoted;
        continue;
      }
      state = State.Unquoted;
    }
    if (c === COMMA) {
      close(i);
      fieldStart = i + 1;
      atStart = true;
      continue;
    }
    if (c === QUOTE && atStart) {
      field = [];
      state = State.Quoted;
    } else if (field !== undefined) field.push(c);
    atStart = false;
  }
  close(b.length);
  return fields;
}

const NEEDS_QUOTES = /[",\n]/;

/** A CSV row's canonical form: its fields, quoted only where a comma, quote or LF needs it. */
export function canonicalCsvRow(row: Uint8Array): Uint8Array {
  if (!row.includes(QUOTE)) return row;
  return Buffer.from(
    csvFields(row)
      .map((f) => {
        const s = f.toString("latin1"); // byte-preserving: quoting looks at ASCII only
        return NEEDS_QUOTES.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
      })
      .join(","),
    "latin1",
  );
}

/** A JSON Lines row's canonical form: keys sorted, numbers exact and in one form; a line that is not JSON is itself. */
export function canonicalJsonRow(row: Uint8Array): Uint8Array {
  let value: unknown;
  try {
    value = parseJson(Buffer.from(row.buffer, row.byteOffset, row.byteLength).toString("utf8"));
  } catch {
    return row;
  }
  return Buffer.from(canonicalJson(value), "utf8");
}

function canonicalJson(v: unknown): string {
  if (isLosslessNumber(v)) return canonicalNumber(v.value);
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  const keys = Object.keys(v).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(",")}}`;
}

/**
 * A JSON number's text in one exact form: sign, significant digits d.ddd and a decimal
 * exponent (0 for zero): 1.50, 1.5 and 15e-1 all read 1.5e0.
 */
export function canonicalNumber(text: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (m === null) return text;
  const digits = `${m[2]}${m[3] ?? ""}`;
  const lead = digits.search(/[1-9]/);
  if (lead === -1) return "0";
  const significant = digits.slice(lead).replace(/0+$/, "");
  const exponent = BigInt(m[4] ?? "0") + BigInt(m[2]!.length - lead - 1);
  const mantissa = significant.length > 1 ? `${significant[0]}.${significant.slice(1)}` : significant;
  return `${m[1]}${mantissa}e${exponent}`;
}
