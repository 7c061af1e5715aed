/**
 * The bench's results: rows of measured lines (one command each), ratios against
 * the peers of the row, targets with PASS/MISS, and their text rendering.
 */
import type { Measured } from "./measure.js";

export type Unit = "MB/s" | "files/s" | "PUT/s" | "s/GiB" | "bytes";

export interface Line {
  tool: string;
  /** What the command did, e.g. "backup (fresh repo)". */
  op: string;
  seconds: number | null;
  rate: number | null;
  unit: Unit | null;
  rssMiB: number | null;
  /** Bytes and files the command processed (for the rate). */
  bytes?: number;
  files?: number;
  /** Set when the command failed or could not run; the row goes on. */
  error?: string;
  note?: string;
  cmd?: string;
}

export interface Ratio {
  name: string;
  value: number | null;
  /** How to read it, e.g. "strata MB/s / restic MB/s". */
  meaning: string;
}

export interface Row {
  id: number;
  title: string;
  lines: Line[];
  ratios: Ratio[];
  notes: string[];
}

export interface Target {
  name: string;
  status: "PASS" | "MISS" | "n/a";
  detail: string;
}

const MB = 1e6;

/** A line from a measured command; the rate is bytes (MB/s), files (files/s) or seconds per GiB. */
export function lineOf(
  tool: string,
  op: string,
  m: Measured,
  work: { bytes?: number; files?: number; unit?: Unit; note?: string } = {},
): Line {
  const unit: Unit = work.unit ?? (work.bytes !== undefined ? "MB/s" : "files/s");
  const s = Math.max(m.seconds, 0.01); // GNU time's resolution
  let rate: number | null = null;
  if (m.ok) {
    if (unit === "MB/s" && work.bytes !== undefined) rate = work.bytes / MB / s;
    else if (unit === "files/s" && work.files !== undefined) rate = work.files / s;
    else if (unit === "s/GiB" && work.bytes !== undefined) rate = m.seconds / (work.bytes / 2 ** 30);
  }
  const line: Line = {
    tool,
    op,
    seconds: m.ok ? m.seconds : null,
    rate,
    unit,
    rssMiB: Number.isNaN(m.rssMiB) ? null : m.rssMiB,
    cmd: m.cmd,
  };
  if (work.bytes !== undefined) line.bytes = work.bytes;
  if (work.files !== undefined) line.files = work.files;
  if (work.note) line.note = work.note;
  if (!m.ok) line.error = m.error ?? "failed";
  return line;
}

export function unavailable(tool: string, op: string, why: string): Line {
  return { tool, op, seconds: null, rate: null, unit: null, rssMiB: null, error: `not available: ${why}` };
}

export function valueLine(tool: string, op: string, bytes: number, note?: string): Line {
  const l: Line = { tool, op, seconds: null, rate: bytes, unit: "bytes", rssMiB: null, bytes };
  if (note) l.note = note;
  return l;
}

/** a / b, or null when either is missing (a failed command). */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return a / b;
}

export function fmtBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

function fmtRate(l: Line): string {
  if (l.rate === null || l.unit === null) return "";
  if (l.unit === "bytes") return fmtBytes(l.rate);
  if (l.unit === "s/GiB") return `${l.rate.toFixed(3)} s/GiB`;
  return `${l.rate >= 100 ? l.rate.toFixed(0) : l.rate.toFixed(1)} ${l.unit}`;
}

export function fmtRatio(v: number | null): string {
  if (v === null) return "n/a";
  return v >= 100 ? `${v.toFixed(0)}x` : v >= 10 ? `${v.toFixed(1)}x` : `${v.toFixed(2)}x`;
}

export function renderRow(r: Row): string {
  const out: string[] = [`${r.id}. ${r.title}`];
  const cells = r.lines.map((l) => [
    l.tool,
    l.op,
    l.seconds === null ? "" : l.seconds.toFixed(2),
    fmtRate(l),
    l.rssMiB === null ? "" : l.rssMiB.toFixed(0),
    l.error ? `ERROR ${l.error}` : (l.note ?? ""),
  ]);
  const head = ["tool", "operation", "time s", "rate", "peak RSS MiB", ""];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (i < 5 ? c[i]!.length : 0))));
  const fmt = (c: string[]): string =>
    `   ${c[0]!.padEnd(widths[0]!)}  ${c[1]!.padEnd(widths[1]!)}  ${c[2]!.padStart(widths[2]!)}  ${c[3]!.padStart(widths[3]!)}  ${c[4]!.padStart(widths[4]!)}  ${c[5]}`.trimEnd();
  out.push(fmt(head));
  for (const c of cells) out.push(fmt(c));
  if (r.ratios.length) {
    out.push(`   ratios: ${r.ratios.map((x) => `${x.name} ${fmtRatio(x.value)}`).join("   ")}`);
  }
  for (const n of r.notes) out.push(`   note: ${n}`);
  return out.join("\n");
}

export function renderTargets(ts: Target[]): string {
  const w = Math.max(...ts.map((t) => t.name.length));
  return ts.map((t) => `   ${t.status.padEnd(4)}  ${t.name.padEnd(w)}  ${t.detail}`).join("\n");
}

export function target(name: string, pass: boolean | null, detail: string): Target {
  return { name, status: pass === null ? "n/a" : pass ? "PASS" : "MISS", detail };
}
