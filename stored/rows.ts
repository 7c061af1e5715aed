// Row-level diffs of tabular files (CSV with a header, JSON Lines) from their row hashes
// (strata.tabular_rows: row i of a file has hash row_hashes[i], the first 8 bytes of the
// SHA-256 of the row's canonical record under hashing rule 2, of its bytes under rule 1;
// the loader computes them, loader/tabular/rows.ts). Files hashed under different rules
// are never compared: the diff names the file to push again.
//
// Rows compare as multisets: a row present twice in a and once in b is one 'removed'.
// Equal rows at the same row number pair first, then the k-th remaining occurrence of
// a hash in a pairs with the k-th in b (in row order); what is left unpaired is removed
// (a) or added (b). Row text is not in the database (file bytes live in the object
// store), so these functions return row numbers and hashes; the loader reads the text of
// the rows it wants to show from the file (rowTexts in loader/tabular/rows.ts).
// strata.diff_rows, which can return millions of rows, is a SQL-language function
// (sql/20_diffs.sql) fed by diffRowsSides here.

import { checkHash } from "./hashes";
import { type Bytes, emit, hex, query, queryOne, raise, type SqlArray, sameBytes } from "./host";
import { closeMaintenance, openMaintenance } from "./history";
import { jitOff, restoreJit } from "./nojit";
import { entryAt } from "./treepaths";
import { findVersion } from "./versions";

/** The hashing rule of this release's loader; rows of an older rule are replaced when it records them again. */
const HASHING = 2;

/**
 * strata.record_tabular_rows: record the row hashes of file contents `blob` under
 * hashing rule `hashing`. Idempotent: recording the same rows again is a no-op; rows of
 * an older rule are replaced; different rows under the same rule raise ST008. Returns
 * the row count.
 */
export function recordTabularRows(
  blob: Bytes | undefined,
  format: string | undefined,
  header: string | undefined,
  rowHashes: SqlArray<number> | undefined,
  hashing: number | undefined,
): number {
  checkHash("blob", blob);
  if (hashing !== 1 && hashing !== HASHING)
    return raise("invalidArgument", `unknown row hashing rule ${hashing ?? "null"}`, undefined, `use ${HASHING}`);
  if (format !== "csv" && format !== "jsonl")
    return raise("invalidArgument", `unknown tabular format "${format ?? "null"}"`, undefined, "use csv or jsonl");
  if (format === "csv" && header === undefined) return raise("invalidArgument", "a csv file needs its header line");
  if (format === "jsonl" && header !== undefined) return raise("invalidArgument", "a jsonl file has no header");
  if (rowHashes === undefined) return raise("invalidArgument", "row hashes must not be null");
  const shape = queryOne<{ ndims: number | undefined; has_null: boolean }>(
    // array_position finds a null without unnesting; it refuses arrays of more dimensions
    "select array_ndims($1) as ndims, array_ndims($1) = 1 and array_position($1, null) is not null as has_null",
    ["bigint[]"],
    rowHashes,
  )!;
  if ((shape.ndims ?? 1) !== 1 || shape.has_null)
    return raise("invalidArgument", "row hashes must be a one-dimensional array without nulls");
  if (queryOne("select 1 from strata.blobs where hash = $1", ["bytea"], blob) === undefined)
    return raise("missingObject", `file contents ${hex(blob!)} are not in the database`, undefined, "commit the file first");
  const inserted = queryOne<{ n: number }>(
    `insert into strata.tabular_rows (blob, format, header, row_count, row_hashes, hashing)
     values ($1, $2, $3, coalesce(cardinality($4), 0), coalesce($4, '{}'), $5)
     on conflict (blob) do nothing returning row_count as n`,
    ["bytea", "text", "text", "bigint[]", "smallint"],
    blob,
    format,
    header,
    rowHashes,
    hashing,
  );
  if (inserted !== undefined) return inserted.n;
  const known = queryOne<{ same: boolean; older: boolean; n: number }>(
    `select format = $2 and header is not distinct from $3 and row_hashes = coalesce($4, '{}') and hashing = $5 as same,
            hashing < $5 as older, row_count as n
     from strata.tabular_rows where blob = $1`,
    ["bytea", "text", "text", "bigint[]", "smallint"],
    blob,
    format,
    header,
    rowHashes,
    hashing,
  )!;
  if (known.same || (!known.older && hashing !== HASHING)) return known.n;
  if (!known.older) return raise("invalidArgument", `file contents ${hex(blob!)} already have different row hashes recorded`);
  // Rows of an older hashing rule give way to this one's.
  openMaintenance("rehash rows", `{"blob": "${hex(blob!)}", "hashing": ${hashing}}`);
  const updated = queryOne<{ n: number }>(
    `update strata.tabular_rows set format = $2, header = $3, row_count = coalesce(cardinality($4), 0), row_hashes = coalesce($4, '{}'),
            hashing = $5
     where blob = $1 returning row_count as n`,
    ["bytea", "text", "text", "bigint[]", "smallint"],
    blob,
    format,
    header,
    rowHashes,
    hashing,
  )!;
  closeMaintenance();
  return updated.n;
}

interface TabularSide {
  /** The file's contents, or undefined when the path is missing in this version. */
  blob: Bytes | undefined;
  rows: number;
  header: string | undefined;
  format: string | undefined;
}

/** The tabular file at `path` in both versions; missing in one is empty, missing in both is an error. */
function tabularSides(
  dataset: string | undefined,
  tagA: string | undefined,
  tagB: string | undefined,
  path: string | undefined,
  datasetB: string | undefined,
): [TabularSide, TabularSide] {
  const va = findVersion(dataset, tagA);
  const vb = findVersion(datasetB ?? dataset, tagB);
  if (path === undefined || path === "") return raise("invalidArgument", "path must name a file");
  const side = (root: Bytes, where: string): TabularSide => {
    const e = entryAt(root, path);
    if (e === undefined) return { blob: undefined, rows: 0, header: undefined, format: undefined };
    if (e.kind !== "file")
      return raise("notTabular", `"${path}" is a ${e.kind === "dir" ? "folder" : "symlink"} in ${where}, not a tabular file`);
    const t = queryOne<{ row_count: number; header: string | undefined; format: string; hashing: number }>(
      "select row_count, header, format, hashing from strata.tabular_rows where blob = $1",
      ["bytea"],
      e.hash,
    );
    if (t === undefined)
      return raise(
        "notTabular",
        `"${path}" in ${where} has no row hashes`,
        undefined,
        "row diffs need a csv (with a header) or jsonl file whose rows were recorded at push",
      );
    if (t.hashing !== HASHING)
      return raise(
        "notTabular",
        `"${path}" in ${where} has row hashes of an older rule (records are now compared by their fields, not their bytes)`,
        undefined,
        "push that version's folder again to rehash its rows",
      );
    return { blob: e.hash, rows: t.row_count, header: t.header, format: t.format };
  };
  const a = side(va.content_hash, `version ${va.tag}`);
  const b = side(vb.content_hash, `version ${vb.tag}`);
  if (a.blob === undefined && b.blob === undefined)
    return raise("unknownPath", `no file "${path}" in either version`, undefined, "see the paths with strata ls");
  return [a, b];
}

/** $1, $2 the blobs, $3 a's row count: unchanged = a's rows, less those left unpaired by
 * position, plus those that pair by occurrence (strata._rows_unpaired, sql/20_diffs.sql).
 * One aggregation, no join: a join of the unpaired sets could be planned as a nested loop. */
const SUMMARY_ROWS_SQL = `
select ($3::bigint - coalesce(sum(na), 0) + coalesce(sum(least(na, nb)), 0))::bigint as unchanged
from (select count(*) filter (where side = 'a') as na, count(*) filter (where side = 'b') as nb
      from strata._rows_unpaired($1, $2) group by h) c`;

/** strata._diff_rows_sides: the two blobs strata.diff_rows compares (one row; raises ST010 and the rest). */
export function diffRowsSides(
  dataset: string | undefined,
  tagA: string | undefined,
  tagB: string | undefined,
  path: string | undefined,
  datasetB: string | undefined,
): void {
  const [a, b] = tabularSides(dataset, tagA, tagB, path, datasetB);
  emit(a.blob, b.blob);
}

/** strata.diff_rows_summary: row counts of both sides and how many rows were added, removed, kept. */
export function diffRowsSummary(
  dataset: string | undefined,
  tagA: string | undefined,
  tagB: string | undefined,
  path: string | undefined,
  datasetB: string | undefined,
): void {
  const [a, b] = tabularSides(dataset, tagA, tagB, path, datasetB);
  let unchanged = 0;
  if (sameBytes(a.blob, b.blob)) unchanged = a.rows;
  else if (a.blob !== undefined && b.blob !== undefined) {
    const jit = jitOff();
    unchanged = query<{ unchanged: number }>(SUMMARY_ROWS_SQL, ["bytea", "bytea", "bigint"], a.blob, b.blob, a.rows)[0]!.unchanged;
    restoreJit(jit);
  }
  const headerChanged = a.blob === undefined || b.blob === undefined ? undefined : a.format !== b.format || a.header !== b.header;
  emit(a.rows, b.rows, b.rows - unchanged, a.rows - unchanged, unchanged, headerChanged);
}
