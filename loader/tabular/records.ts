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
//
// Every row of a file is canonicalised and hashed, so speed matters: csvFields is the
// readable definition of a CSV row's fields and canonicalCsvRow does the same in one
// pass; the lossless JSON parser is the definition for JSON and the engine's JSON.parse
// takes the rows where both must agree (tests compare the two on random rows).

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

/** Scratch for canonical CSV rows: a field's bytes, then the row written out. */
let fieldBytes = Buffer.allocUnsafe(4096);
let rowOut = Buffer.allocUnsafe(3 * 4096 + 2);

/**
 * A CSV row's canonical form: its fields (as csvFields reads them), quoted only where a
 * comma, quote or LF needs it. One pass over the bytes, no field objects: a row with
 * quotes is the common case of text columns. The result may be a view of scratch
 * memory, valid until the next call.
 */
export function canonicalCsvRow(row: Uint8Array): Uint8Array {
  if (!row.includes(QUOTE)) return row;
  const n = row.length;
  if (fieldBytes.length < n) fieldBytes = Buffer.allocUnsafe(2 * n);
  if (rowOut.length < 3 * n + 2) rowOut = Buffer.allocUnsafe(6 * n + 2); // each byte a doubled quote, plus two quotes
  const field = fieldBytes;
  const out = rowOut;
  let o = 0;
  let i = 0;
  for (;;) {
    let len = 0;
    let special = false; // holds a comma, quote or LF: written quoted
    if (i < n && row[i] === QUOTE) {
      for (i++; i < n; ) {
        const c = row[i++]!;
        if (c === QUOTE) {
          if (i < n && row[i] === QUOTE) i++;
          else break; // the closing quote; what follows up to a comma is data
        }
        if (c === QUOTE || c === COMMA || c === LF) special = true;
        field[len++] = c;
      }
    }
    while (i < n && row[i] !== COMMA) {
      const c = row[i++]!;
      if (c === QUOTE || c === LF) special = true;
      field[len++] = c;
    }
    if (special) {
      out[o++] = QUOTE;
      for (let k = 0; k < len; k++) {
        const c = field[k]!;
        if (c === QUOTE) out[o++] = QUOTE;
        out[o++] = c;
      }
      out[o++] = QUOTE;
    } else for (let k = 0; k < len; k++) out[o++] = field[k]!;
    if (i >= n) break;
    out[o++] = COMMA;
    i++; // the comma
  }
  return out.subarray(0, o);
}

/**
 * A JSON Lines row's canonical form (bytes, or a string meaning its UTF-8): keys sorted,
 * numbers exact and in one form; a line that is not JSON is itself. Rows whose numbers a double holds exactly and whose keys
 * are distinct (nearly all) take the engine's JSON.parse; the rest the lossless parser.
 */
export function canonicalJsonRow(row: Uint8Array): Uint8Array | string {
  const text = Buffer.from(row.buffer, row.byteOffset, row.byteLength).toString("utf8");
  const keys = keysIfPlain(text);
  if (keys >= 0) {
    try {
      const seen = { keys: 0 };
      const out = canonicalPlain(JSON.parse(text), seen);
      if (seen.keys === keys) return out;
    } catch {
      // not JSON, or a key the plain path does not take: the lossless parser decides
    }
  }
  return canonicalJsonRowLossless(row);
}

/** canonicalJsonRow by the lossless parser alone: the definition the fast path must match. */
export function canonicalJsonRowLossless(row: Uint8Array): Uint8Array | string {
  let value: unknown;
  try {
    value = parseJson(Buffer.from(row.buffer, row.byteOffset, row.byteLength).toString("utf8"));
  } catch {
    return row;
  }
  return canonicalJson(value);
}

/**
 * How many object keys `text` has (a string followed by a colon), or -1 when one of its
 * numbers may not survive a double: a decimal exponent beyond +-290, or more than 15
 * significant digits unless the double prints back as the same number. Up to 15 digits
 * a double gives back the same decimal value, so canonicalNumber(String(value)) is
 * canonicalNumber(text).
 */
function keysIfPlain(text: string): number {
  const n = text.length;
  let keys = 0;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let j = text.indexOf('"', i + 1);
      while (j !== -1 && escaped(text, j)) j = text.indexOf('"', j + 1);
      if (j === -1) return -1;
      i = j + 1;
      while (i < n && isJsonSpace(text.charCodeAt(i))) i++;
      if (text.charCodeAt(i) === 58) keys++; // ':'
      continue;
    }
    if (c === 45 || (c >= 48 && c <= 57)) {
      const start = i;
      if (c === 45) i++;
      let first = -1; // position among the mantissa's digits of the first and last non-zero
      let last = -1;
      let digits = 0;
      let intDigits = -1;
      for (; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d >= 48 && d <= 57) {
          if (d !== 48) {
            if (first < 0) first = digits;
            last = digits;
          }
          digits++;
        } else if (d === 46 && intDigits < 0) intDigits = digits;
        else break;
      }
      if (intDigits < 0) intDigits = digits;
      let exp = 0;
      const e = text.charCodeAt(i);
      if (e === 101 || e === 69) {
        i++;
        let sign = 1;
        const s = text.charCodeAt(i);
        if (s === 45 || s === 43) {
          if (s === 45) sign = -1;
          i++;
        }
        for (; i < n; i++) {
          const d = text.charCodeAt(i);
          if (d < 48 || d > 57) break;
          exp = exp * 10 + d - 48;
          if (exp > 1000) return -1;
        }
        exp *= sign;
      }
      if (first >= 0 && Math.abs(exp + intDigits - first - 1) > 290) return -1;
      if (first >= 0 && last - first >= 15) {
        // 16 or 17 digits: exact when it is the shortest form of its double, as printed
        // by JavaScript, Python and most writers of floats
        const token = text.slice(start, i);
        const back = String(Number(token));
        if (back !== token && canonicalNumber(back) !== canonicalNumber(token)) return -1;
      }
      continue;
    }
    i++;
  }
  return keys;
}

/** Whether the character at `at` follows an odd number of backslashes. */
function escaped(text: string, at: number): boolean {
  let k = at - 1;
  while (k >= 0 && text.charCodeAt(k) === 92) k--;
  return (at - k) % 2 === 0;
}

function isJsonSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/** canonicalJson of a JSON.parse value (numbers are doubles here); counts the keys it meets. */
function canonicalPlain(v: unknown, seen: { keys: number }): string {
  if (typeof v === "number") return canonicalDouble(v);
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  let out: string;
  if (Array.isArray(v)) {
    out = "[";
    for (let i = 0; i < v.length; i++) out += (i > 0 ? "," : "") + canonicalPlain(v[i], seen);
    return `${out}]`;
  }
  const keys = Object.keys(v).sort();
  seen.keys += keys.length;
  out = "{";
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    // the lossless parser sets an object's prototype for this key: let it decide
    if (k === "__proto__") throw new Error("__proto__ key");
    out += `${i > 0 ? "," : ""}${JSON.stringify(k)}:${canonicalPlain((v as Record<string, unknown>)[k], seen)}`;
  }
  return `${out}}`;
}

/** canonicalNumber(String(v)) without parsing text: the shortest digits that give v back, in d.ddde<n> form. */
function canonicalDouble(v: number): string {
  if (v === 0) return "0";
  const e = v.toExponential(); // shortest round-trip digits, as String(v) has them
  const at = e.indexOf("e");
  return e.charCodeAt(at + 1) === 43 ? `${e.slice(0, at + 1)}${e.slice(at + 2)}` : e; // drop the exponent's "+"
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
