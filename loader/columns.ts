// Columns by position, for the push's walk and the checkout's listing of a million paths:
// typed arrays that double as rows are added, and many strings kept back to back as UTF-8
// in one buffer, each ending at an offset its owner keeps (a Uint32Array): a few bytes a
// name instead of a JS string each.

type Column = Uint8Array | Int32Array | Uint32Array | Float64Array | BigInt64Array;

/** A copy of `column` with room for `length` elements (the old ones kept at the start). */
export function grown<T extends Column>(column: T, length: number): T {
  const out = new (column.constructor as new (n: number) => T)(length);
  out.set(column as never);
  return out;
}

/** Largest column: its ends are Uint32. */
export const UTF8_COLUMN_MAX = 0xffffffff;

/**
 * Writes `text` at `start` of `column`, doubling the column when it is too small. Returns the
 * column (a new one when it grew) and where the text ends, or undefined past UTF8_COLUMN_MAX
 * bytes (the owner names that limit in its own words).
 */
export function appendUtf8(
  column: Buffer<ArrayBuffer>,
  start: number,
  text: string,
): { column: Buffer<ArrayBuffer>; end: number } | undefined {
  const end = start + Buffer.byteLength(text, "utf8");
  if (end > UTF8_COLUMN_MAX) return undefined;
  let out = column;
  if (end > column.length) {
    out = Buffer.allocUnsafe(Math.max(end, 2 * column.length));
    column.copy(out, 0, 0, start);
  }
  out.write(text, start, "utf8");
  return { column: out, end };
}
