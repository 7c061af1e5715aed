// Committing a version. The loader first stages what is new in temporary tables of its
// session (stage_commit creates them; it fills them with set inserts), then calls
// commit_version, which checks the staged trees and file contents, stores them, and
// records the version, all in one transaction. The dataset row is locked for the
// commit, so concurrent pushes to one dataset get distinct sequence numbers and tags.

import { checkHash } from "./hashes";
import { type Bytes, emitQuery, exec, hex, query, queryOne, raise, type SqlJson } from "./host";
import { checkName, isAutomaticTag } from "./names";
import { findDataset, findVersion } from "./versions";
import { NEW_TREES_CTE } from "./treestats";

const STAGE_TRUNCATE =
  "truncate pg_temp.strata_stage_blobs, pg_temp.strata_stage_trees, pg_temp.strata_stage_entries, pg_temp.strata_stage_new_chunks";

/** Create (or empty) this session's staging tables. */
export function stageCommit(): void {
  for (const sql of [
    "create temp table if not exists strata_stage_blobs (hash bytea primary key, size bigint not null, chunks bytea not null)",
    `create temp table if not exists strata_stage_trees
       (hash bytea primary key, entry_count int not null, file_count bigint not null, size bigint not null)`,
    `create temp table if not exists strata_stage_entries
       (tree bytea not null, name text not null, kind text not null, hash bytea not null, size bigint not null, target text,
        primary key (tree, name))`,
    "create temp table if not exists strata_stage_new_chunks (hash bytea primary key)",
    STAGE_TRUNCATE,
  ])
    exec(sql);
}

/** The first problem with the staged objects, as a sentence, or undefined. */
function stagedProblem(): string | undefined {
  // Each check is one set query; the first that finds a row names it.
  const checks: [string, string][] = [
    [
      `select 'tree ' || encode(s.hash, 'hex') || ' does not hash to its entries' as why
       from pg_temp.strata_stage_trees s
       left join lateral (
         select sha256(coalesce(string_agg(
                  convert_to(case e.kind when 'file' then 'f' when 'dir' then 'd' else 'l' end || e.name, 'UTF8')
                  || '\\x00'::bytea || e.hash || int8send(e.size), ''::bytea order by e.name collate "C"), ''::bytea)) as h,
                count(e.*) as n
         from pg_temp.strata_stage_entries e where e.tree = s.hash) x on true
       where x.h <> s.hash or x.n <> s.entry_count limit 1`,
      "",
    ],
    [
      `select 'entry ' || e.name || ' of tree ' || encode(e.tree, 'hex') || ' belongs to no staged tree' as why
       from pg_temp.strata_stage_entries e
       where not exists (select 1 from pg_temp.strata_stage_trees s where s.hash = e.tree) limit 1`,
      "",
    ],
    [
      `select 'entry ' || e.name || ' is invalid: ' ||
              case when e.kind not in ('file', 'dir', 'symlink') then 'unknown kind ' || e.kind
                   when e.name in ('', '.', '..') or strpos(e.name, '/') > 0 then 'bad name'
                   when octet_length(e.hash) <> 32 then 'hash is not 32 bytes'
                   when (e.kind = 'symlink') <> (e.target is not null) then 'only symlinks have targets'
                   else 'size' end as why
       from pg_temp.strata_stage_entries e
       where e.kind not in ('file', 'dir', 'symlink') or e.name in ('', '.', '..') or strpos(e.name, '/') > 0
          or octet_length(e.hash) <> 32 or (e.kind = 'symlink') <> (e.target is not null) or e.size < 0
          or (e.kind = 'symlink' and e.size <> 0) limit 1`,
      "",
    ],
    [
      `select 'directory ' || e.name || ' refers to tree ' || encode(e.hash, 'hex') || ', which the database does not have' as why
       from pg_temp.strata_stage_entries e
       where e.kind = 'dir'
         and not exists (select 1 from pg_temp.strata_stage_trees s where s.hash = e.hash)
         and not exists (select 1 from strata.trees t where t.hash = e.hash) limit 1`,
      "missingObject",
    ],
    [
      `select 'file ' || e.name || ' refers to contents ' || encode(e.hash, 'hex') || ', which the database does not have' as why
       from pg_temp.strata_stage_entries e
       where e.kind = 'file'
         and not exists (select 1 from pg_temp.strata_stage_blobs b where b.hash = e.hash)
         and not exists (select 1 from strata.blobs b where b.hash = e.hash) limit 1`,
      "missingObject",
    ],
    [
      `select 'file contents ' || encode(b.hash, 'hex') || ' refer to chunk ' || encode(substring(b.chunks from i * 32 + 1 for 32), 'hex')
              || ', which the database does not have' as why
       from pg_temp.strata_stage_blobs b, generate_series(0, octet_length(b.chunks) / 32 - 1) i
       where not exists (select 1 from strata.chunks c where c.hash = substring(b.chunks from i * 32 + 1 for 32)) limit 1`,
      "missingObject",
    ],
    [
      `select 'file contents ' || encode(b.hash, 'hex') || ' are ' || b.size || ' bytes but their chunks add up to ' || coalesce(x.total, 0) as why
       from pg_temp.strata_stage_blobs b
       left join lateral (
         select sum(c.size) as total from generate_series(0, octet_length(b.chunks) / 32 - 1) i
         join strata.chunks c on c.hash = substring(b.chunks from i * 32 + 1 for 32)) x on true
       where octet_length(b.hash) <> 32 or octet_length(b.chunks) % 32 <> 0 or coalesce(x.total, 0) <> b.size limit 1`,
      "",
    ],
    [
      `select 'file ' || e.name || ' is recorded as ' || e.size || ' bytes, its contents are ' || coalesce(b.size, sb.size) as why
       from pg_temp.strata_stage_entries e
       left join pg_temp.strata_stage_blobs sb on sb.hash = e.hash
       left join strata.blobs b on b.hash = e.hash
       where e.kind = 'file' and coalesce(b.size, sb.size) <> e.size limit 1`,
      "",
    ],
    [
      `select 'tree ' || encode(s.hash, 'hex') || ' counts ' || s.file_count || ' files of ' || s.size
              || ' bytes, its entries ' || x.files || ' of ' || x.bytes as why
       from pg_temp.strata_stage_trees s
       join lateral (
         select coalesce(sum(case e.kind when 'dir' then coalesce(st.file_count, t.file_count) else 1 end), 0) as files,
                coalesce(sum(case e.kind when 'symlink' then 0 else e.size end), 0) as bytes,
                bool_and(e.kind <> 'dir' or e.size = coalesce(st.size, t.size)) as dirs_ok
         from pg_temp.strata_stage_entries e
         left join pg_temp.strata_stage_trees st on e.kind = 'dir' and st.hash = e.hash
         left join strata.trees t on e.kind = 'dir' and t.hash = e.hash
         where e.tree = s.hash) x on true
       where x.files <> s.file_count or x.bytes <> s.size or not coalesce(x.dirs_ok, true) limit 1`,
      "",
    ],
  ];
  for (const [sql, kind] of checks) {
    const row = queryOne<{ why: string }>(sql, []);
    if (row !== undefined) {
      if (kind === "missingObject") raise("missingObject", row.why, undefined, "push the missing objects again");
      return row.why;
    }
  }
  return undefined;
}

function storeStaged(): void {
  exec(`insert into strata.blobs (hash, size, chunks)
               select hash, size, chunks from pg_temp.strata_stage_blobs on conflict (hash) do nothing`);
  // A tree's entries go in with its row, and only when the row is new: an existing
  // tree (same hash) already has exactly these entries.
  // new_trees also fills trees.chunk_refs (stored/treestats.ts).
  exec(`${NEW_TREES_CTE}
               insert into strata.tree_entries (tree, name, kind, hash, size, target)
               select e.tree, e.name, e.kind, e.hash, e.size, e.target
               from pg_temp.strata_stage_entries e join new_trees n on n.hash = e.tree`);
}

export function commitVersion(
  dataset: string | undefined,
  contentHash: Bytes | undefined,
  parentTag: string | undefined,
  tag: string | undefined,
  message: string | undefined,
  metadata: SqlJson | undefined,
): void {
  checkHash("content hash", contentHash);
  if (tag !== undefined) {
    checkName("tag", tag);
    if (isAutomaticTag(tag))
      raise("invalidName", `tag "${tag}" is reserved`, undefined, "tags v1, v2, ... are given automatically; choose another tag");
  }
  const d = findDataset(dataset);
  // Serialise commits to this dataset: sequence numbers and tags stay distinct.
  query("select 1 from strata.datasets where id = $1 for update", ["bigint"], d.id);
  if (tag !== undefined && queryOne("select 1 from strata.versions where dataset_id = $1 and tag = $2", ["bigint", "text"], d.id, tag))
    raise("tagTaken", `dataset "${d.name}" already has a version "${tag}"`);
  const parent =
    parentTag !== undefined
      ? findVersion(dataset, parentTag)
      : queryOne<{ id: number }>("select id from strata.versions where dataset_id = $1 order by seq desc limit 1", ["bigint"], d.id);

  // The staged tables were just filled: give the planner their real sizes, so checks
  // over a million entries use hash joins rather than a million index lookups.
  for (const t of ["strata_stage_blobs", "strata_stage_trees", "strata_stage_entries", "strata_stage_new_chunks"])
    exec(`analyze pg_temp.${t}`);
  const problem = stagedProblem();
  if (problem !== undefined) raise("invalidArgument", `cannot commit to "${d.name}": ${problem}`);
  storeStaged();
  const root = queryOne<{ file_count: number; size: number }>(
    "select file_count, size from strata.trees where hash = $1",
    ["bytea"],
    contentHash,
  );
  if (root === undefined)
    raise("missingObject", `the root tree ${hex(contentHash!)} is neither staged nor stored`, undefined, "push again");

  const seq = queryOne<{ n: number }>(
    "select coalesce(max(seq), 0) + 1 as n from strata.versions where dataset_id = $1",
    ["bigint"],
    d.id,
  )!.n;
  const finalTag = tag ?? `v${seq}`;
  if (tag === undefined && queryOne("select 1 from strata.versions where dataset_id = $1 and tag = $2", ["bigint", "text"], d.id, finalTag))
    raise("tagTaken", `dataset "${d.name}" already has a version "${finalTag}"`);
  const newBytes = queryOne<{ n: number }>(
    "select coalesce(sum(c.size), 0)::bigint as n from pg_temp.strata_stage_new_chunks s join strata.chunks c using (hash)",
    [],
  )!.n;
  const v = queryOne<{ id: number }>(
    `insert into strata.versions (dataset_id, seq, tag, parent_id, content_hash, file_count, size, new_bytes, message, metadata)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, coalesce($10, '{}'::jsonb)) returning id`,
    ["bigint", "int", "text", "bigint", "bytea", "bigint", "bigint", "bigint", "text", "jsonb"],
    d.id,
    seq,
    finalTag,
    parent?.id,
    contentHash,
    root!.file_count,
    root!.size,
    newBytes,
    message,
    metadata,
  )!;
  if (parent !== undefined)
    query(
      `insert into strata.lineage_edges (source_kind, source_id, relation, target_kind, target_id)
       values ('dataset_version', $1, 'derived_from', 'dataset_version', $2) on conflict do nothing`,
      ["bigint", "bigint"],
      v.id,
      parent.id,
    );
  exec(STAGE_TRUNCATE);
  emitQuery("select v as c from strata.v_versions v where v.id = $1", ["bigint"], v.id);
}
