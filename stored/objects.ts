// File contents and Merkle trees, put in batches as a push reads them (the push protocol,
// docs/push-protocol.md). Both are content-addressed, so putting one that exists changes
// nothing, and both are verified as they arrive against what the database can see:
// contents against their chunks (every chunk stored, sizes adding up), trees against
// their entries (the hash recomputed, symlink hashes against their targets, file sizes
// against the contents, folder sizes and counts against the subtrees). A tree may name
// only contents already put and subtrees already put or in the same batch. Nothing is
// visible as data until a version names a root (commits.ts); gc collects what none does.

import { arrayLength, exec, query, queryOne, raise, type SqlArray } from "./host";
import { jitOff, restoreJit } from "./nojit";
import { NEW_TREES_CTE } from "./treestats";

/** Elements per call: loaders send batches; more than this in one call is a mistake worth naming. */
const MAX_BATCH = 1_000_000;

function checkLengths(what: string, lengths: number[]): number {
  const n = lengths[0]!;
  if (lengths.some((l) => l !== n)) raise("invalidArgument", `${what}: the arrays differ in length (${lengths.join(", ")})`);
  if (n > MAX_BATCH) raise("invalidArgument", `${what}: at most ${MAX_BATCH} per call, got ${n}`);
  return n;
}

/**
 * Each check is one set query over the batch; the first that finds a row names the
 * problem. A check of kind "missing or wrong" says which in a `missing` column.
 */
function firstProblem(
  checks: readonly (readonly [sql: string, code: "missingObject" | "integrityFailure" | "invalidArgument" | "missing or wrong"])[],
): void {
  for (const [sql, code] of checks) {
    const row = queryOne<{ why: string; missing: boolean }>(sql, []);
    if (row === undefined) continue;
    const kind = code !== "missing or wrong" ? code : row.missing ? "missingObject" : "integrityFailure";
    raise(kind, row.why, undefined, kind === "missingObject" ? "put what it names first" : undefined);
  }
}

/**
 * strata.put_blobs: file contents (SHA-256 of the file, size, chunk hashes back to back).
 * Every chunk must be stored (not in a pack gc is deleting) and the sizes must add up;
 * contents already stored keep their chunk list and are not checked further.
 * Returns how many were new.
 */
export function putBlobs(
  hashes: SqlArray<unknown> | undefined,
  sizes: SqlArray<number> | undefined,
  chunkLists: SqlArray<unknown> | undefined,
): number {
  if (hashes === undefined || sizes === undefined || chunkLists === undefined)
    return raise("invalidArgument", "put_blobs: hashes, sizes and chunk lists must not be null");
  checkLengths("put_blobs", [arrayLength(hashes), arrayLength(sizes), arrayLength(chunkLists)]);
  const jit = jitOff(); // the checks' estimates pass jit_above_cost: compiling cost more than running (nojit.ts)
  exec("create temp table if not exists strata_put_blobs (hash bytea, size bigint, chunks bytea)");
  exec("truncate pg_temp.strata_put_blobs");
  query(
    "insert into pg_temp.strata_put_blobs select * from unnest($1::bytea[], $2::bigint[], $3::bytea[])",
    ["bytea[]", "bigint[]", "bytea[]"],
    hashes,
    sizes,
    chunkLists,
  );
  exec("analyze pg_temp.strata_put_blobs");
  firstProblem([
    [
      `select 'file contents ' || coalesce(encode(b.hash, 'hex'), 'null') || ': ' ||
              case when b.hash is null or octet_length(b.hash) <> 32 then 'the hash is not 32 bytes'
                   when b.size is null or b.size < 0 then 'the size is not a number of bytes'
                   else 'the chunk list is not a list of 32-byte hashes' end as why
       from pg_temp.strata_put_blobs b
       where b.hash is null or octet_length(b.hash) <> 32 or b.size is null or b.size < 0
          or b.chunks is null or octet_length(b.chunks) % 32 <> 0 limit 1`,
      "invalidArgument",
    ],
    [
      `select 'file contents ' || encode(hash, 'hex') || ' are given twice, differently' as why
       from pg_temp.strata_put_blobs group by hash having count(distinct (size, chunks)) > 1 limit 1`,
      "invalidArgument",
    ],
    [
      `select 'file contents ' || encode(b.hash, 'hex') || ' are stored as ' || s.size || ' bytes, not ' || b.size as why
       from pg_temp.strata_put_blobs b join strata.blobs s on s.hash = b.hash
       where s.size <> b.size limit 1`,
      "integrityFailure",
    ],
  ]);
  // Contents already stored need nothing more (their chunk list stays: another dataset's
  // chunk sizes cut the same bytes otherwise), so a client may send every content it has
  // without asking missing_blobs first.
  exec("delete from pg_temp.strata_put_blobs b using strata.blobs s where s.hash = b.hash");
  firstProblem([
    // One look-up per chunk for both checks: a chunk missing (or only in a dying pack)
    // is named before any size that does not add up.
    [
      `select case when x.gone is not null
                   then 'file contents ' || encode(b.hash, 'hex') || ' refer to chunk '
                        || encode(substring(b.chunks from x.gone * 32 + 1 for 32), 'hex') || ', which the database does not have'
                   else 'file contents ' || encode(b.hash, 'hex') || ' are ' || b.size || ' bytes but their chunks add up to '
                        || coalesce(x.total, 0) end as why,
              x.gone is not null as missing
       from pg_temp.strata_put_blobs b
       left join lateral (
         select sum(c.size) as total, min(i) filter (where p.id is null) as gone
         from generate_series(0, octet_length(b.chunks) / 32 - 1) i
         left join strata.chunks c on c.hash = substring(b.chunks from i * 32 + 1 for 32)
         left join strata.packs p on p.id = c.pack_id and p.dying_at is null) x on true
       where x.gone is not null or coalesce(x.total, 0) <> b.size
       order by x.gone is null limit 1`,
      "missing or wrong",
    ],
  ]);
  const n = queryOne<{ n: number }>(
    `with n as (insert into strata.blobs (hash, size, chunks)
                select distinct on (hash) hash, size, chunks from pg_temp.strata_put_blobs
                on conflict (hash) do nothing returning 1)
     select count(*)::int as n from n`,
    [],
  )!.n;
  restoreJit(jit);
  return n;
}

/**
 * strata.put_trees: trees with their file counts and sizes, and their entries (each
 * names its tree by position in `hashes`, 1-based). Returns how many trees were new.
 */
export function putTrees(
  hashes: SqlArray<unknown> | undefined,
  fileCounts: SqlArray<number> | undefined,
  sizes: SqlArray<number> | undefined,
  entryTrees: SqlArray<number> | undefined,
  names: SqlArray<string> | undefined,
  kinds: SqlArray<string> | undefined,
  executables: SqlArray<boolean> | undefined,
  entryHashes: SqlArray<unknown> | undefined,
  entrySizes: SqlArray<number> | undefined,
  targets: SqlArray<string> | undefined,
): number {
  if (hashes === undefined || fileCounts === undefined || sizes === undefined)
    return raise("invalidArgument", "put_trees: hashes, file counts and sizes must not be null");
  if (
    entryTrees === undefined ||
    names === undefined ||
    kinds === undefined ||
    executables === undefined ||
    entryHashes === undefined ||
    entrySizes === undefined ||
    targets === undefined
  )
    return raise("invalidArgument", "put_trees: the entry arrays must not be null (targets may hold nulls)");
  checkLengths("put_trees trees", [arrayLength(hashes), arrayLength(fileCounts), arrayLength(sizes)]);
  checkLengths("put_trees entries", [
    arrayLength(entryTrees),
    arrayLength(names),
    arrayLength(kinds),
    arrayLength(executables),
    arrayLength(entryHashes),
    arrayLength(entrySizes),
    arrayLength(targets),
  ]);
  const jit = jitOff();
  stageTrees();
  query(
    `insert into pg_temp.strata_stage_trees (hash, entry_count, file_count, size)
     select t.hash, coalesce(c.n, 0), t.file_count, t.size
     from unnest($1::bytea[], $2::bigint[], $3::bigint[]) with ordinality as t(hash, file_count, size, n)
     left join (select i, count(*)::int as n from unnest($4::int[]) i group by i) c on c.i = t.n
     on conflict (hash) do nothing`,
    ["bytea[]", "bigint[]", "bigint[]", "int[]"],
    hashes,
    fileCounts,
    sizes,
    entryTrees,
  );
  query(
    `insert into pg_temp.strata_stage_entries (tree, name, kind, executable, hash, size, target)
     select distinct on (t.hash, e.name) t.hash, e.name, e.kind, e.executable, e.hash, e.size, e.target
     from unnest($2::int[], $3::text[], $4::text[], $5::boolean[], $6::bytea[], $7::bigint[], $8::text[])
          as e(i, name, kind, executable, hash, size, target)
     left join unnest($1::bytea[]) with ordinality as t(hash, n) on t.n = e.i`,
    ["bytea[]", "int[]", "text[]", "text[]", "boolean[]", "bytea[]", "bigint[]", "text[]"],
    hashes,
    entryTrees,
    names,
    kinds,
    executables,
    entryHashes,
    entrySizes,
    targets,
  );
  for (const t of ["strata_stage_trees", "strata_stage_entries"]) exec(`analyze pg_temp.${t}`);
  firstProblem(TREE_CHECKS);
  const n = queryOne<{ n: number }>(
    `${NEW_TREES_CTE},
     entries as (
       insert into strata.tree_entries (tree, name, kind, executable, hash, size, target)
       select e.tree, e.name, e.kind, e.executable, e.hash, e.size, e.target
       from pg_temp.strata_stage_entries e join new_trees n on n.hash = e.tree)
     select count(*)::int as n from new_trees`,
    [],
  )!.n;
  restoreJit(jit);
  return n;
}

/** This session's staging tables for a batch of trees, created once and emptied. */
function stageTrees(): void {
  exec(`create temp table if not exists strata_stage_trees
          (hash bytea primary key, entry_count int not null, file_count bigint, size bigint)`);
  exec(`create temp table if not exists strata_stage_entries
          (tree bytea, name text, kind text, executable boolean, hash bytea, size bigint, target text)`);
  // The checks read each tree's entries: without this, one scan of the batch per tree.
  exec("create index if not exists strata_stage_entries_tree on pg_temp.strata_stage_entries (tree)");
  exec("truncate pg_temp.strata_stage_trees, pg_temp.strata_stage_entries");
}

/** The kind byte of an entry in the tree encoding (loader/push/tree.ts). */
const KIND_BYTE =
  "case when e.kind = 'file' and e.executable then 'x' when e.kind = 'file' then 'f' when e.kind = 'dir' then 'd' else 'l' end";

const TREE_CHECKS = [
  [
    `select 'a tree hash is not 32 bytes, or its counts are missing' as why
     from pg_temp.strata_stage_trees s
     where s.hash is null or octet_length(s.hash) <> 32 or s.file_count is null or s.size is null limit 1`,
    "invalidArgument",
  ],
  [
    `select 'entry ' || coalesce(e.name, 'null') || ' names no tree of the batch' as why
     from pg_temp.strata_stage_entries e where e.tree is null limit 1`,
    "invalidArgument",
  ],
  [
    `select 'entry ' || coalesce(e.name, 'null') || ' of tree ' || encode(e.tree, 'hex') || ' is invalid: ' ||
            case when e.name is null or e.name in ('', '.', '..') or strpos(e.name, '/') > 0 then 'bad name'
                 when e.kind is null or e.kind not in ('file', 'dir', 'symlink') then 'unknown kind ' || coalesce(e.kind, 'null')
                 when e.hash is null or octet_length(e.hash) <> 32 then 'hash is not 32 bytes'
                 when e.executable is null or (e.executable and e.kind <> 'file') then 'only files are executable'
                 when (e.kind = 'symlink') <> (e.target is not null) then 'only symlinks have targets'
                 else 'size' end as why
     from pg_temp.strata_stage_entries e
     where e.name is null or e.name in ('', '.', '..') or strpos(e.name, '/') > 0
        or e.kind is null or e.kind not in ('file', 'dir', 'symlink')
        or e.hash is null or octet_length(e.hash) <> 32
        or e.executable is null or (e.executable and e.kind <> 'file')
        or (e.kind = 'symlink') <> (e.target is not null)
        or e.size is null or e.size < 0 or (e.kind = 'symlink' and e.size <> 0) limit 1`,
    "invalidArgument",
  ],
  [
    `select 'tree ' || encode(tree, 'hex') || ' names ' || name || ' twice' as why
     from pg_temp.strata_stage_entries group by tree, name having count(*) > 1 limit 1`,
    "invalidArgument",
  ],
  [
    `select 'symlink ' || e.name || ' of tree ' || encode(e.tree, 'hex') || ' is hashed as another target than ' || e.target as why
     from pg_temp.strata_stage_entries e
     where e.kind = 'symlink' and e.hash <> sha256(convert_to(e.target, 'UTF8')) limit 1`,
    "integrityFailure",
  ],
  [
    `select 'tree ' || encode(s.hash, 'hex') || ' does not hash to its entries' as why
     from pg_temp.strata_stage_trees s
     left join lateral (
       select sha256(coalesce(string_agg(
                convert_to(${KIND_BYTE} || e.name, 'UTF8')
                || '\\x00'::bytea || e.hash || int8send(e.size), ''::bytea order by e.name collate "C"), ''::bytea)) as h
       from pg_temp.strata_stage_entries e where e.tree = s.hash) x on true
     where x.h <> s.hash limit 1`,
    "integrityFailure",
  ],
  [
    `select 'folder ' || e.name || ' refers to tree ' || encode(e.hash, 'hex') || ', which the database does not have' as why
     from pg_temp.strata_stage_entries e
     where e.kind = 'dir'
       and not exists (select 1 from pg_temp.strata_stage_trees s where s.hash = e.hash)
       and not exists (select 1 from strata.trees t where t.hash = e.hash) limit 1`,
    "missingObject",
  ],
  // One look-up per file for both checks: missing contents are named before a wrong size.
  [
    `select case when b.hash is null
                 then 'file ' || e.name || ' refers to contents ' || encode(e.hash, 'hex') || ', which the database does not have'
                 else 'file ' || e.name || ' is recorded as ' || e.size || ' bytes, its contents are ' || b.size end as why,
            b.hash is null as missing
     from pg_temp.strata_stage_entries e left join strata.blobs b on b.hash = e.hash
     where e.kind = 'file' and (b.hash is null or b.size <> e.size)
     order by b.hash is not null limit 1`,
    "missing or wrong",
  ],
  [
    `select 'tree ' || encode(s.hash, 'hex') || ' counts ' || s.file_count || ' files of ' || s.size
            || ' bytes, its entries ' || coalesce(x.files, 0) || ' of ' || coalesce(x.bytes, 0) as why
     from pg_temp.strata_stage_trees s
     left join lateral (
       select sum(case e.kind when 'dir' then coalesce(st.file_count, t.file_count) else 1 end) as files,
              sum(case e.kind when 'symlink' then 0 else e.size end) as bytes,
              bool_and(e.kind <> 'dir' or e.size = coalesce(st.size, t.size)) as dirs_ok
       from pg_temp.strata_stage_entries e
       left join pg_temp.strata_stage_trees st on e.kind = 'dir' and st.hash = e.hash
       left join strata.trees t on e.kind = 'dir' and t.hash = e.hash
       where e.tree = s.hash) x on true
     where coalesce(x.files, 0) <> s.file_count or coalesce(x.bytes, 0) <> s.size or not coalesce(x.dirs_ok, true) limit 1`,
    "integrityFailure",
  ],
] as const;
