// Diffs between two versions (of one dataset, or of two), walking both Merkle trees at
// once in SQL and pruning every subtree whose hash is equal on both sides, so the work
// follows what changed, not the size of the versions. The walk itself and strata.diff,
// which can return millions of rows, are SQL-language functions (sql/20_diffs.sql);
// this module resolves their arguments (raising Strata's errors) and computes
// strata.diff_summary, which is one row.

import { type Bytes, emit, query, sameBytes } from "./host";
import { jitOff, restoreJit } from "./nojit";
import { findPrefix } from "./prefixes";
import { totalsUnder } from "./treestats";

/**
 * Chunk counts over the changed paths only. C_A: the chunk uses of a's files at changed
 * paths; C_B likewise. Returns the file counts, the sizes and chunk uses of C_A and C_B,
 * and sum over chunks of min(uses in C_A, uses in C_B), with its bytes.
 */
const SUMMARY_SQL = `
with changes as materialized (select * from strata._diff_walk($1, $2, $3, $4)),
files as (select 'a' as side, hash_a as h, size_a as s from changes where kind_a = 'file'
          union all
          select 'b', hash_b, size_b from changes where kind_b = 'file'),
uses as (
  select substring(b.chunks from i * 32 + 1 for 32) as h,
         count(*) filter (where f.side = 'a') as na, count(*) filter (where f.side = 'b') as nb
  from files f join strata.blobs b on b.hash = f.h
  cross join lateral generate_series(0, octet_length(b.chunks) / 32 - 1) i
  group by 1),
paired as (select least(u.na, u.nb) as n, c.size from uses u join strata.chunks c on c.hash = u.h where u.na > 0 and u.nb > 0)
select
  (select count(*) from changes where change = 'added')::bigint as files_added,
  (select count(*) from changes where change = 'removed')::bigint as files_removed,
  (select count(*) from changes where change = 'modified')::bigint as files_modified,
  (select count(*) from changes where change = 'type_changed')::bigint as files_type_changed,
  (select coalesce(sum(size_b), 0) from changes where kind_b = 'file' and kind_a is distinct from 'file')::bigint as bytes_added,
  (select coalesce(sum(size_a), 0) from changes where kind_a = 'file' and kind_b is distinct from 'file')::bigint as bytes_removed,
  (select coalesce(sum(s), 0) from files where side = 'a')::bigint as changed_bytes_a,
  (select coalesce(sum(s), 0) from files where side = 'b')::bigint as changed_bytes_b,
  (select coalesce(sum(na), 0) from uses)::bigint as changed_refs_a,
  (select coalesce(sum(nb), 0) from uses)::bigint as changed_refs_b,
  (select coalesce(sum(n), 0) from paired)::bigint as paired_refs,
  (select coalesce(sum(n * size), 0) from paired)::bigint as paired_bytes`;

interface Sides {
  treeA: Bytes | undefined;
  treeB: Bytes | undefined;
  base: string;
  rest: string;
}

/** Resolve both versions (b in dataset_b, or in dataset when that is null) and the prefix in each. */
function resolveSides(
  dataset: string | undefined,
  tagA: string | undefined,
  tagB: string | undefined,
  prefix: string | undefined,
  datasetB: string | undefined,
): Sides {
  const a = findPrefix(dataset, tagA, prefix);
  const b = findPrefix(datasetB ?? dataset, tagB, prefix);
  return { treeA: a.tree, treeB: b.tree, base: a.base, rest: a.rest };
}

/** strata._diff_sides: the trees strata.diff walks (one row; raises on unknown names). */
export function diffSides(
  dataset: string | undefined,
  tagA: string | undefined,
  tagB: string | undefined,
  prefix: string | undefined,
  datasetB: string | undefined,
): void {
  const s = resolveSides(dataset, tagA, tagB, prefix, datasetB);
  emit(s.treeA, s.treeB, s.base, s.rest);
}

interface ChangedCounts {
  files_added: number;
  files_removed: number;
  files_modified: number;
  files_type_changed: number;
  bytes_added: number;
  bytes_removed: number;
  changed_bytes_a: number;
  changed_bytes_b: number;
  changed_refs_a: number;
  changed_refs_b: number;
  paired_refs: number;
  paired_bytes: number;
}

const NOTHING_CHANGED: ChangedCounts = {
  files_added: 0,
  files_removed: 0,
  files_modified: 0,
  files_type_changed: 0,
  bytes_added: 0,
  bytes_removed: 0,
  changed_bytes_a: 0,
  changed_bytes_b: 0,
  changed_refs_a: 0,
  changed_refs_b: 0,
  paired_refs: 0,
  paired_bytes: 0,
};

/**
 * strata.diff_summary. Chunks are counted as uses (multiset): a chunk used k times in a
 * and m times in b is common min(k, m) times and only in one side |k - m| times; bytes
 * likewise, each use with its chunk's size. With uses the count is exact from the
 * changed paths alone: every unchanged path has the same file in both versions, so its
 * uses are common, and their number is a's total (trees.chunk_refs) minus the uses at
 * changed paths. (Counting distinct chunks would need, for each chunk of a changed file,
 * to know whether an unchanged file also uses it: a walk of the whole version.)
 * common = (total_a - changed_a) + sum over chunks of min(changed uses in a, in b);
 * only_a = total_a - common; only_b = total_b - common. Bytes: a version's chunk-use bytes
 * are its file bytes, so totals come from tree sizes. similarity = common bytes / union
 * bytes (size_a + size_b - common), 1 when both are empty.
 */
export function diffSummary(
  dataset: string | undefined,
  tagA: string | undefined,
  tagB: string | undefined,
  prefix: string | undefined,
  datasetB: string | undefined,
): void {
  const s = resolveSides(dataset, tagA, tagB, prefix, datasetB);
  const jit = jitOff();
  const ta = totalsUnder(s.treeA, s.rest);
  const tb = totalsUnder(s.treeB, s.rest);
  const c = sameBytes(s.treeA, s.treeB)
    ? NOTHING_CHANGED
    : query<ChangedCounts>(SUMMARY_SQL, ["bytea", "bytea", "text", "text"], s.treeA, s.treeB, s.base, s.rest)[0]!;
  restoreJit(jit);
  const unchangedRefs = ta.refs - c.changed_refs_a;
  const commonRefs = unchangedRefs + c.paired_refs;
  const commonBytes = ta.size - c.changed_bytes_a + c.paired_bytes;
  const unionBytes = ta.size + tb.size - commonBytes;
  emit(
    c.files_added,
    c.files_removed,
    c.files_modified,
    c.files_type_changed,
    c.bytes_added,
    c.bytes_removed,
    commonRefs,
    ta.refs - commonRefs,
    tb.refs - commonRefs,
    commonBytes,
    ta.size - commonBytes,
    tb.size - commonBytes,
    unionBytes === 0 ? 1.0 : commonBytes / unionBytes,
  );
}
