// Per-tree chunk references (trees.chunk_refs, migration 003): how many chunks the files
// below a tree use, a chunk counted once per use. It composes up the Merkle tree like
// file_count and size, so a commit computes it for its new trees only and a version's
// total is one read of its root. diff_summary builds its exact chunk counts on it.

import { type Bytes, queryOne } from "./host";

/**
 * The head of put_trees' store statement (stored/objects.ts): `new_trees` inserts the
 * staged trees (returning the hashes that were new), each with its chunk_refs: the
 * chunks of its own files, plus
 * chunk_refs of stored subtrees, plus the same sum over every staged subtree reachable
 * from it (found with one recursive walk of the staged trees, never of stored ones).
 * Unknown (null) when a stored subtree's count is unknown.
 */
export const NEW_TREES_CTE = `
    with recursive
      own (hash, refs, unknown) as (
        select s.hash,
               coalesce(sum(case e.kind when 'file' then octet_length(b.chunks) / 32
                                        when 'dir' then case when st.hash is null then t.chunk_refs else 0 end
                                        else 0 end), 0)::bigint,
               coalesce(bool_or(e.kind = 'dir' and st.hash is null and t.chunk_refs is null), false)
        from pg_temp.strata_stage_trees s
        left join pg_temp.strata_stage_entries e on e.tree = s.hash
        left join strata.blobs b on e.kind = 'file' and b.hash = e.hash
        left join pg_temp.strata_stage_trees st on e.kind = 'dir' and st.hash = e.hash
        left join strata.trees t on e.kind = 'dir' and st.hash is null and t.hash = e.hash
        group by s.hash),
      staged_dirs (tree, hash) as materialized (
        select e.tree, e.hash from pg_temp.strata_stage_entries e
        join pg_temp.strata_stage_trees st on st.hash = e.hash where e.kind = 'dir'),
      below (top, node) as (
        select hash, hash from pg_temp.strata_stage_trees
        union all
        select w.top, d.hash from below w join staged_dirs d on d.tree = w.node),
      new_trees as (
        insert into strata.trees (hash, entry_count, file_count, size, chunk_refs)
        select s.hash, s.entry_count, s.file_count, s.size, r.refs
        from pg_temp.strata_stage_trees s
        join (select w.top, case when bool_or(o.unknown) then null else sum(o.refs)::bigint end as refs
              from below w join own o on o.hash = w.node group by w.top) r on r.top = s.hash
        on conflict (hash) do nothing returning hash)`;

export interface Totals {
  /** Bytes of the files (a symlink counts 0). */
  size: number;
  /** Chunk references of the files. */
  refs: number;
}

/**
 * Size and chunk references of the entries of `tree` whose name starts with `rest` (all
 * of the tree when rest is empty), from the stored per-tree counts; walks the subtrees
 * whose count is unknown. Zero for no tree.
 */
export function totalsUnder(tree: Bytes | undefined, rest: string): Totals {
  if (tree === undefined) return { size: 0, refs: 0 };
  if (rest === "") {
    const t = queryOne<{ size: number; refs: number | undefined }>(
      "select size, chunk_refs as refs from strata.trees where hash = $1",
      ["bytea"],
      tree,
    )!;
    if (t.refs !== undefined) return { size: t.size, refs: t.refs };
  } else {
    const t = queryOne<{ size: number; refs: number | undefined }>(
      `select coalesce(sum(case e.kind when 'symlink' then 0 else e.size end), 0)::bigint as size,
              case when bool_or(e.kind = 'dir' and t.chunk_refs is null) then null
                   else coalesce(sum(case e.kind when 'file' then octet_length(b.chunks) / 32
                                                 when 'dir' then t.chunk_refs else 0 end), 0)::bigint end as refs
       from strata.tree_entries e
       left join strata.blobs b on e.kind = 'file' and b.hash = e.hash
       left join strata.trees t on e.kind = 'dir' and t.hash = e.hash
       where e.tree = $1 and starts_with(e.name, $2)`,
      ["bytea", "text"],
      tree,
      rest,
    )!;
    if (t.refs !== undefined) return { size: t.size, refs: t.refs };
  }
  // Some tree below was stored without its count: count by walking (correct, slower).
  return queryOne<Totals>(
    `with recursive walk (kind, hash) as (
       select e.kind, e.hash from strata.tree_entries e where e.tree = $1 and starts_with(e.name, $2)
       union all
       select e.kind, e.hash from walk w join strata.tree_entries e on e.tree = w.hash where w.kind = 'dir')
     select coalesce(sum(b.size), 0)::bigint as size, coalesce(sum(octet_length(b.chunks) / 32), 0)::bigint as refs
     from walk w join strata.blobs b on b.hash = w.hash where w.kind = 'file'`,
    ["bytea", "text"],
    tree,
    rest,
  )!;
}
