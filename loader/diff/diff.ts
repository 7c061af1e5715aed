// What changed between two versions (of one dataset or two), as the SQL API computes
// it: changed paths, their summary, and row-level diffs of tabular files.

import type { Session } from "../session.js";
import { tagOf, type VersionRef } from "../versions.js";

export interface DiffEntry {
  path: string;
  change: "added" | "removed" | "modified" | "type_changed";
  kindA: string | null;
  kindB: string | null;
  sizeA: number | null;
  sizeB: number | null;
  /** Bytes of b's file found in chunks of a's file at the same path. */
  sharedBytes: number | null;
  /** The files' executable bits (null where there is no file). */
  executableA: boolean | null;
  executableB: boolean | null;
}

/** strata.diff_summary: what changed, and the chunk uses (a chunk used k times counts k times) the versions share. */
export interface DiffSummary {
  filesAdded: number;
  filesRemoved: number;
  filesModified: number;
  filesTypeChanged: number;
  bytesAdded: number;
  bytesRemoved: number;
  chunksCommon: number;
  chunksOnlyA: number;
  chunksOnlyB: number;
  bytesCommon: number;
  bytesOnlyA: number;
  bytesOnlyB: number;
  /** Common bytes over the union of both versions' bytes (1 when both are empty). */
  similarity: number;
}

export interface RowsSummary {
  rowsA: number;
  rowsB: number;
  added: number;
  removed: number;
  unchanged: number;
  /** Null when the file is missing on one side. */
  headerChanged: boolean | null;
}

/** snake_case column names to camelCase keys (every JSON output of Strata is camelCase). */
export function camelKeys<T>(row: Record<string, unknown>): T {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), v])) as T;
}

/** The SQL arguments (dataset, tag_a, tag_b, ..., dataset_b) every diff function takes. */
async function sides(s: Session, a: VersionRef, b: VersionRef): Promise<[string, string, string]> {
  return [a.dataset, await tagOf(s, a), await tagOf(s, b)];
}

/** One row per changed path between two versions. */
export async function diff(s: Session, a: VersionRef, b: VersionRef, prefix = ""): Promise<DiffEntry[]> {
  const rows = await s.query<{
    path: string;
    change: DiffEntry["change"];
    kind_a: string | null;
    kind_b: string | null;
    size_a: number | null;
    size_b: number | null;
    shared_bytes: number | null;
    executable_a: boolean | null;
    executable_b: boolean | null;
  }>("select path, change, kind_a, kind_b, size_a, size_b, shared_bytes, executable_a, executable_b from strata.diff($1, $2, $3, $4, $5)", [
    ...(await sides(s, a, b)),
    prefix,
    b.dataset,
  ]);
  return rows.map((r) => ({
    path: r.path,
    change: r.change,
    kindA: r.kind_a,
    kindB: r.kind_b,
    sizeA: r.size_a,
    sizeB: r.size_b,
    sharedBytes: r.shared_bytes,
    executableA: r.kind_a === "file" ? r.executable_a : null,
    executableB: r.kind_b === "file" ? r.executable_b : null,
  }));
}

/** Counts of a diff, and the chunks the two versions share. */
export async function diffSummary(s: Session, a: VersionRef, b: VersionRef, prefix = ""): Promise<DiffSummary> {
  const [row] = await s.query<Record<string, number>>("select * from strata.diff_summary($1, $2, $3, $4, $5)", [
    ...(await sides(s, a, b)),
    prefix,
    b.dataset,
  ]);
  return camelKeys<DiffSummary>(row!);
}

/** Rows added and removed in the tabular file `path` (CSV with a header, JSON Lines); duplicates count as a multiset. */
export async function diffRows(
  s: Session,
  a: VersionRef,
  b: VersionRef,
  path: string,
): Promise<{ change: "added" | "removed"; rowNumber: number }[]> {
  const rows = await s.query<{ change: "added" | "removed"; row_number: number }>(
    "select change, row_number from strata.diff_rows($1, $2, $3, $4, $5)",
    [...(await sides(s, a, b)), path, b.dataset],
  );
  return rows.map((r) => ({ change: r.change, rowNumber: Number(r.row_number) }));
}

export async function diffRowsSummary(s: Session, a: VersionRef, b: VersionRef, path: string): Promise<RowsSummary> {
  const [row] = await s.query<Record<string, number | boolean>>("select * from strata.diff_rows_summary($1, $2, $3, $4, $5)", [
    ...(await sides(s, a, b)),
    path,
    b.dataset,
  ]);
  return camelKeys<RowsSummary>(row!);
}
