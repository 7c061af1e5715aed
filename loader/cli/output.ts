// How the CLI prints: aligned tables and lines for people, JSON for scripts. Human
// output escapes control characters (a file named "a\nb" must not read as two lines, an
// ANSI escape in a name must not reach the terminal), as `ls -b` and git do; JSON is
// exact. Output is written through one buffered writer that main() drains before exit.

import { escapeControls } from "../text.js";

export { escapeControls };

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

export function formatTime(d: Date | null | undefined): string {
  return d
    ? d
        .toISOString()
        .replace("T", " ")
        .replace(/\.\d+Z$/, "Z")
    : "";
}

const FLUSH_AT = 64 * 1024;
let pending = "";

/** Queue text for stdout; it goes out in blocks of about 64 KiB. */
function write(text: string): void {
  pending += text;
  if (pending.length >= FLUSH_AT) {
    process.stdout.write(pending);
    pending = "";
  }
}

/** Write what is queued and wait until stdout has taken all of it (a pipe may be slow). */
export function flushOutput(): Promise<void> {
  const text = pending;
  pending = "";
  return new Promise((resolve) => process.stdout.write(text, () => resolve()));
}

/** One line for people, control characters escaped. */
export function say(line: string): void {
  write(`${escapeControls(line)}\n`);
}

/** Columns left-aligned, numbers right-aligned (a column is numeric when its header says so); cells escaped. */
export function printTable(headers: string[], rows: string[][], numeric: Set<string> = new Set()): void {
  const cells = rows.map((r) => r.map(escapeControls));
  const widths = headers.map((h) => h.length);
  for (const r of cells) for (let i = 0; i < widths.length; i++) widths[i] = Math.max(widths[i]!, (r[i] ?? "").length);
  const line = (row: string[]) =>
    row
      .map((c, i) => (numeric.has(headers[i]!) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  write(`${line(headers)}\n`);
  for (const r of cells) write(`${line(r)}\n`);
}

export function printJson(value: unknown): void {
  write(`${JSON.stringify(value, null, 2)}\n`);
}

/** One JSON value on one line (JSON Lines), exact. */
export function printJsonLine(value: unknown): void {
  write(`${JSON.stringify(value)}\n`);
}

/** One line on stderr, `strata: ` first, control characters escaped. */
export function warn(line: string): void {
  process.stderr.write(`strata: ${escapeControls(line)}\n`);
}
