// Garbage collection, the database's half (the loader's half, which lists and deletes
// objects and copies chunks, is loader/gc/gc.ts; README.md says why the whole is safe).
// A run: gc_begin records it and fixes its cutoff (its start minus the grace); gc_plan
// walks every live version's and model version's trees, in SQL, to the chunks they use and
// plans each old pack (created and last used before the cutoff): delete it when it holds
// no live chunk, repack it when its live bytes fall below the threshold; gc_repack
// records a pack of copied live chunks and repoints their rows; gc_mark marks the planned
// packs dying, checking again that none was used since; once the loader has deleted the
// dying packs' objects, gc_forget drops their rows and the contents and trees that lost a
// chunk with them; gc_finish closes the run.

import { closeMaintenance, openMaintenance } from "./history";
import { arrayLength, type Bytes, emit, exec, query, queryOne, raise, type SqlArray, type SqlInterval, type SqlJson } from "./host";

/** Advisory lock keys (two-int form, per database): one gc at a time; commits against gc_begin. */
const GC_LOCK = { space: 0x5354, single: 1, fence: 2 } as const;

const MAX_PAGE = 100_000;

/**
 * gc leaves alone, for its grace, every pack a client was told it may reuse (stored/packs.ts).
 * A push that began before the cutoff of a gc that started since may have learned of packs
 * that gc deleted: it may not commit. gc_begin records a run under the exclusive side of
 * this lock, so a commit either sees the run or ends before the run's plan is made.
 */
export function checkGcFence(push: number): void {
  queryOne("select pg_advisory_xact_lock_shared($1, $2) as locked", ["int", "int"], GC_LOCK.space, GC_LOCK.fence);
  const gc = queryOne<{ id: number; started_at: string; grace: string }>(
    `select g.id, g.started_at::text, g.grace::text from strata.gc_runs g, strata.pushes p
     where p.id = $1 and not g.dry_run and g.cutoff > p.started_at order by g.id limit 1`,
    ["bigint"],
    push,
  );
  if (gc !== undefined)
    raise(
      "pushOutlivedGc",
      `push ${push} began more than gc ${gc.id}'s grace (${gc.grace}) before that gc started (${gc.started_at}): chunks it reuses may have been deleted`,
      undefined,
      "push again: only what is missing is uploaded",
    );
}

/** The run, which must be this session's and in progress. */
function openRun(run: number | undefined): { id: number; cutoff: string; dry_run: boolean; repack_below: number } {
  if (run === undefined) return raise("invalidArgument", "name the gc run");
  const r = queryOne<{ id: number; cutoff: string; dry_run: boolean; repack_below: number; mine: boolean }>(
    `select id, cutoff::text, dry_run, repack_below,
            exists (select 1 from pg_locks where locktype = 'advisory' and pid = pg_backend_pid() and granted
                    and classid = $2 and objid = $3 and objsubid = 2) as mine
     from strata.gc_runs where id = $1 and finished_at is null`,
    ["bigint", "int", "int"],
    run,
    GC_LOCK.space,
    GC_LOCK.single,
  );
  if (r === undefined) return raise("invalidArgument", `there is no gc run ${run} in progress`);
  if (!r.mine) return raise("gcRunning", `gc run ${run} belongs to another session`);
  return r;
}

/**
 * strata.gc_begin: start a run on this session (one per database at a time). Packs created
 * or used within `grace` of now are protected, and pushes that began before that may not
 * commit after it (stored/commits.ts).
 */
export function gcBegin(grace: SqlInterval | undefined, repackBelow: number | undefined, dryRun: boolean | undefined): void {
  const g = queryOne<{ ok: boolean }>("select $1::interval >= interval '1 hour' as ok", ["interval"], grace);
  if (g === undefined || !g.ok)
    raise("invalidArgument", "the grace must be at least an hour", undefined, "pushes and checkouts in flight rely on it");
  if (repackBelow === undefined || !(repackBelow >= 0 && repackBelow < 1))
    raise("invalidArgument", "the repack threshold is a fraction of a pack's bytes, at least 0 and below 1");
  const locked = queryOne<{ ok: boolean }>("select pg_try_advisory_lock($1, $2) as ok", ["int", "int"], GC_LOCK.space, GC_LOCK.single)!;
  if (!locked.ok) raise("gcRunning", "another gc is running on this database", undefined, "wait for it to finish");
  queryOne("select pg_advisory_xact_lock($1, $2) as fenced", ["int", "int"], GC_LOCK.space, GC_LOCK.fence);
  // Runs that never finished ended with their session; what they marked dying, this run deletes.
  const abandoned = "select id from strata.gc_runs where finished_at is null";
  for (const t of ["gc_repack_chunks", "gc_dead_blobs", "gc_planned_packs"]) exec(`delete from strata.${t} where run_id in (${abandoned})`);
  exec(`update strata.gc_runs set finished_at = now(), summary = '{"abandoned": true}' where id in (${abandoned})`);
  const r = queryOne<{ id: number; cutoff: unknown }>(
    `insert into strata.gc_runs (grace, cutoff, repack_below, dry_run)
     values ($1, now() - $1, $2, coalesce($3, false)) returning id, cutoff`,
    ["interval", "real", "boolean"],
    grace,
    repackBelow,
    dryRun,
  )!;
  emit(r.id, r.cutoff);
}

/**
 * strata.gc_planned_packs: which old packs to delete and which to repack, computed from the live
 * versions and model versions in temp tables (set work, bounded by the database, not
 * by a client). Emits one row per action: packs, their bytes, and their live bytes.
 */
export function gcPlan(run: number | undefined): void {
  const r = openRun(run);
  exec("set local jit = off");
  exec(`create temp table strata_gc_trees on commit drop as
        with recursive t (hash) as (
          select content_hash from strata.versions where state = 'committed'
          union select content_hash from strata.model_versions
          union select e.hash from t join strata.tree_entries e on e.tree = t.hash and e.kind = 'dir')
        select hash from t`);
  exec(`create temp table strata_gc_blobs on commit drop as
        select distinct e.hash from strata_gc_trees t join strata.tree_entries e on e.tree = t.hash and e.kind = 'file'`);
  exec("analyze strata_gc_blobs");
  query(
    `create temp table strata_gc_old on commit drop as
     select id, size, damaged_at is not null as damaged from strata.packs
     where dying_at is null and created_at < $1::timestamptz and used_at < $1::timestamptz`,
    ["text"],
    r.cutoff,
  );
  exec("analyze strata_gc_old");
  exec(`create temp table strata_gc_live on commit drop as
        select c.pack_id, c.hash, c.stored_size from strata.chunks c join strata_gc_old o on o.id = c.pack_id
        where c.hash in (select substring(b.chunks from i * 32 + 1 for 32)
                         from strata_gc_blobs l join strata.blobs b on b.hash = l.hash,
                              generate_series(0, octet_length(b.chunks) / 32 - 1) i)`);
  query(
    `insert into strata.gc_planned_packs (run_id, pack_id, action, size, live_bytes)
     select $1, o.id, case when l.bytes is null then 'delete' else 'repack' end, o.size, coalesce(l.bytes, 0)
     from strata_gc_old o left join (select pack_id, sum(stored_size) as bytes from strata_gc_live group by pack_id) l on l.pack_id = o.id
     where l.bytes is null or (not o.damaged and l.bytes < $2 * o.size)`,
    ["bigint", "real"],
    r.id,
    r.repack_below,
  );
  query(
    `insert into strata.gc_repack_chunks (run_id, pack_id, chunk)
     select $1, l.pack_id, l.hash from strata_gc_live l
     where l.pack_id in (select pack_id from strata.gc_planned_packs where run_id = $1 and action = 'repack')`,
    ["bigint"],
    r.id,
  );
  // Contents no live version uses; gc_forget drops those that lose a chunk.
  query(
    `insert into strata.gc_dead_blobs (run_id, blob)
     select $1, b.hash from strata.blobs b where not exists (select 1 from strata_gc_blobs l where l.hash = b.hash)`,
    ["bigint"],
    r.id,
  );
  for (const row of query<{ action: string; packs: number; bytes: number; live_bytes: number }>(
    `select a.action, count(p.pack_id)::bigint as packs, coalesce(sum(p.size), 0)::bigint as bytes,
            coalesce(sum(p.live_bytes), 0)::bigint as live_bytes
     from (values ('delete'), ('repack')) a (action) left join strata.gc_planned_packs p on p.run_id = $1 and p.action = a.action
     group by a.action order by a.action`,
    ["bigint"],
    r.id,
  ))
    emit(row.action, row.packs, row.bytes, row.live_bytes);
}

/** strata.gc_plan_page: the run's planned packs after pack id `after`, n at most, in id order. */
export function gcPlanPage(run: number | undefined, after: number | undefined, n: number | undefined): void {
  const r = openRun(run);
  if (n === undefined || n <= 0 || n > MAX_PAGE) raise("invalidArgument", `a page holds 1 to ${MAX_PAGE} packs`);
  for (const row of query<{ id: number; hash: Bytes; action: string; size: number; live_bytes: number }>(
    `select p.id, p.hash, g.action, g.size, g.live_bytes from strata.gc_planned_packs g join strata.packs p on p.id = g.pack_id
     where g.run_id = $1 and g.pack_id > coalesce($2, 0) order by g.pack_id limit $3`,
    ["bigint", "bigint", "int"],
    r.id,
    after,
    n,
  ))
    emit(row.id, row.hash, row.action, row.size, row.live_bytes);
}

/** strata.gc_live_chunks: where the live chunks of these planned packs are now (pack, offset, size). */
export function gcLiveChunks(run: number | undefined, packs: SqlArray<number> | undefined): void {
  const r = openRun(run);
  if (packs === undefined || arrayLength(packs) > MAX_PAGE) raise("invalidArgument", `name 0 to ${MAX_PAGE} packs`);
  for (const row of query<{ pack_id: number; chunk: Bytes; pack_offset: number; size: number }>(
    `select c.pack_id, c.hash as chunk, c.pack_offset, c.size
     from strata.gc_repack_chunks g join strata.chunks c on c.hash = g.chunk and c.pack_id = g.pack_id
     where g.run_id = $1 and g.pack_id = any($2::bigint[]) order by c.pack_id, c.pack_offset`,
    ["bigint", "bigint[]"],
    r.id,
    packs,
  ))
    emit(row.pack_id, row.chunk, row.pack_offset, row.size);
}

/**
 * strata.gc_repack: record a pack the loader stored with copies of live chunks, and point
 * their rows at it, in one transaction (the old packs are marked dying only after). The
 * copies are the stored bytes as they were (a compressed chunk stays compressed), so each
 * `sizes` entry is the chunk's stored size and its codec does not change. A chunk whose
 * row moved meanwhile is left where it is. Returns how many rows moved.
 */
export function gcRepack(
  run: number | undefined,
  pack: Bytes | undefined,
  size: number | undefined,
  hashes: SqlArray<Bytes> | undefined,
  offsets: SqlArray<number> | undefined,
  sizes: SqlArray<number> | undefined,
): number {
  const r = openRun(run);
  if (r.dry_run) return raise("invalidArgument", `gc run ${r.id} is a dry run`);
  if (pack === undefined || size === undefined || hashes === undefined || offsets === undefined || sizes === undefined)
    return raise("invalidArgument", "gc_repack: no argument may be null");
  const n = arrayLength(hashes);
  if (n === 0 || arrayLength(offsets) !== n || arrayLength(sizes) !== n)
    return raise("invalidArgument", "a pack needs one or more chunks with one offset and size each");
  openMaintenance("gc repack", `{"run": ${r.id}}`);
  const moved = queryOne<{ n: number }>(
    `with p as (insert into strata.packs (hash, size, chunk_count) values ($2, $3, $4) returning id),
     m as (update strata.chunks c set pack_id = p.id, pack_offset = x.o
           from p, unnest($5::bytea[], $6::bigint[], $7::int[]) as x (h, o, s), strata.gc_repack_chunks g
           where g.run_id = $1 and g.chunk = x.h and c.hash = x.h and c.pack_id = g.pack_id and c.stored_size = x.s
             and x.o >= 0 and x.o + x.s <= $3
           returning 1)
     select count(*)::int as n from m`,
    ["bigint", "bytea", "bigint", "int", "bytea[]", "bigint[]", "int[]"],
    r.id,
    pack,
    size,
    n,
    hashes,
    offsets,
    sizes,
  )!.n;
  closeMaintenance();
  return moved;
}

/**
 * strata.gc_mark: mark the run's planned packs dying, each checked again once locked (in id
 * order, as pushes lock them): not used since the cutoff, and for a repacked pack, none of
 * its live chunks left in it. From here on their chunks count as missing. Emits the
 * packs and bytes marked.
 */
export function gcMark(run: number | undefined): void {
  const r = openRun(run);
  if (r.dry_run) raise("invalidArgument", `gc run ${r.id} is a dry run`);
  openMaintenance("gc mark", `{"run": ${r.id}}`);
  const m = queryOne<{ packs: number; bytes: number }>(
    `with l as (
       select p.id from strata.packs p join strata.gc_planned_packs g on g.pack_id = p.id and g.run_id = $1
       where p.dying_at is null and p.used_at < $2::timestamptz
         and not exists (select 1 from strata.gc_repack_chunks k join strata.chunks c on c.hash = k.chunk and c.pack_id = k.pack_id
                         where k.run_id = $1 and k.pack_id = p.id)
       order by p.id for update of p),
     m as (update strata.packs p set dying_at = now() from l where p.id = l.id returning p.size)
     select count(*)::bigint as packs, coalesce(sum(size), 0)::bigint as bytes from m`,
    ["bigint", "text"],
    r.id,
    r.cutoff,
  )!;
  closeMaintenance();
  emit(m.packs, m.bytes);
}

/** strata.gc_dying_page: packs marked dying (by this run or one that did not finish), after pack id `after`. */
export function gcDyingPage(run: number | undefined, after: number | undefined, n: number | undefined): void {
  openRun(run);
  if (n === undefined || n <= 0 || n > MAX_PAGE) raise("invalidArgument", `a page holds 1 to ${MAX_PAGE} packs`);
  for (const row of query<{ id: number; hash: Bytes; size: number }>(
    "select id, hash, size from strata.packs where dying_at is not null and id > coalesce($1, 0) order by id limit $2",
    ["bigint", "int"],
    after,
    n,
  ))
    emit(row.id, row.hash, row.size);
}

/**
 * strata.gc_forget: once the loader has deleted the objects of every dying pack, drop
 * the rows of those packs and their chunks, then the contents no live version uses that
 * lost a chunk (and their row hashes), then the trees holding such contents or trees,
 * up to the roots. None of them is live: a live tree holds live contents only, whose
 * chunks stay. Emits how many rows of each went.
 */
export function gcForget(run: number | undefined): void {
  const r = openRun(run);
  if (r.dry_run) raise("invalidArgument", `gc run ${r.id} is a dry run`);
  openMaintenance("gc forget", `{"run": ${r.id}}`);
  exec("set local jit = off");
  exec("create temp table strata_gc_gone_packs on commit drop as select id from strata.packs where dying_at is not null");
  const chunks = queryOne<{ n: number }>(
    "with d as (delete from strata.chunks where pack_id in (select id from strata_gc_gone_packs) returning 1) select count(*)::bigint as n from d",
    [],
  )!.n;
  exec("delete from strata.gc_planned_packs where pack_id in (select id from strata_gc_gone_packs)");
  const packs = queryOne<{ n: number }>(
    "with d as (delete from strata.packs where id in (select id from strata_gc_gone_packs) returning 1) select count(*)::bigint as n from d",
    [],
  )!.n;
  query(
    `create temp table strata_gc_gone_blobs on commit drop as
     select b.hash from strata.gc_dead_blobs d join strata.blobs b on b.hash = d.blob
     where d.run_id = $1
       and exists (select 1 from generate_series(0, octet_length(b.chunks) / 32 - 1) i
                   where not exists (select 1 from strata.chunks c where c.hash = substring(b.chunks from i * 32 + 1 for 32)))`,
    ["bigint"],
    r.id,
  );
  exec("delete from strata.tabular_rows where blob in (select hash from strata_gc_gone_blobs)");
  const blobs = queryOne<{ n: number }>(
    "with d as (delete from strata.blobs where hash in (select hash from strata_gc_gone_blobs) returning 1) select count(*)::bigint as n from d",
    [],
  )!.n;
  // Trees holding a gone content or tree, round by round up to the roots.
  exec("create temp table strata_gc_gone_trees (hash bytea primary key) on commit drop");
  exec("create temp table strata_gc_round on commit drop as select hash, 'file'::text as kind from strata_gc_gone_blobs");
  for (;;) {
    exec(`create temp table strata_gc_next on commit drop as
          select distinct e.tree as hash from strata_gc_round r join strata.tree_entries e on e.hash = r.hash and e.kind = r.kind
          where not exists (select 1 from strata_gc_gone_trees g where g.hash = e.tree)`);
    const added = queryOne<{ n: number }>(
      "with i as (insert into strata_gc_gone_trees select hash from strata_gc_next returning 1) select count(*)::int as n from i",
      [],
    )!.n;
    exec("drop table strata_gc_round");
    exec("alter table strata_gc_next rename to strata_gc_round");
    exec("alter table strata_gc_round add column kind text not null default 'dir'");
    if (added === 0) break;
  }
  exec("delete from strata.tree_entries where tree in (select hash from strata_gc_gone_trees)");
  const trees = queryOne<{ n: number }>(
    "with d as (delete from strata.trees where hash in (select hash from strata_gc_gone_trees) returning 1) select count(*)::bigint as n from d",
    [],
  )!.n;
  closeMaintenance();
  emit(packs, chunks, blobs, trees);
}

/** strata.gc_finish: close the run with what it did (a dry run: what it would do); frees its plan and the gc lock. */
export function gcFinish(run: number | undefined, summary: SqlJson | undefined): void {
  const r = openRun(run);
  query(
    "update strata.gc_runs set finished_at = now(), summary = coalesce($2, '{}'::jsonb) where id = $1",
    ["bigint", "jsonb"],
    r.id,
    summary,
  );
  for (const t of ["gc_repack_chunks", "gc_dead_blobs", "gc_planned_packs"])
    query(`delete from strata.${t} where run_id = $1`, ["bigint"], r.id);
  if (!r.dry_run)
    query(
      "insert into strata.audit (action, detail) values ('gc', jsonb_build_object('run', $1::bigint) || coalesce($2, '{}'::jsonb)) returning id",
      ["bigint", "jsonb"],
      r.id,
      summary,
    );
  queryOne("select pg_advisory_unlock($1, $2) as unlocked", ["int", "int"], GC_LOCK.space, GC_LOCK.single);
}
