/**
 * Diff and listing benchmark. Builds, in the database with set-based SQL (no loader, no
 * object store: chunk and pack rows point at objects that do not exist), a dataset of
 * 1,050,000 files shaped like an image dataset:
 *
 *   train/c000 .. c999/00000.jpg .. 00999.jpg   1000 folders x 1000 files
 *   val/c000 .. c999/00000.jpg .. 00049.jpg     1000 folders x 50 files
 *
 * each file one chunk of 60-200 KB, committed as version `base` through put_blobs, put_trees +
 * commit_version. Then two children of `base`, each changing about 1% of the files:
 *
 *   clustered  10 train folders (c100-c109) rewritten: in them 9,750 files modified,
 *              250 removed, 250 added (10,250 changes, 0.98%)
 *   uniform    the same mix spread over every folder: ~10 files in each train folder
 *              and 1 in about half of the val folders (10,500 modified or removed, 1.0%),
 *              250 files added in 250 folders
 *
 * Half of the modified files are rewritten (a new chunk), half get 4 KiB appended (old
 * chunk kept, one new chunk), so shared_bytes and the chunk counts have work to do.
 * Reported: the child's commit time, diff and diff_summary of base -> child, ls of a
 * 1,000-file folder, the metadata each child added against the parent's, and row diffs
 * of 1,000,000-row CSV versions that differ in 1% of their rows (in place, and shifted
 * by one inserted row).
 *
 *   npx tsx bench/diff.ts [--runs 5] [--explain] [--shared-buffers 512MB] [--database-url URL]
 *
 * BENCH_QUICK=1: a tenth (100 and 5 files a folder, 100,000 rows), about a minute; the
 * targets are for the full size, so a quick run reports the times without judging them.
 *
 * Without --database-url it runs in a throwaway cluster (createThrowawayCluster: fsync
 * off, work_mem 16MB, shared_buffers 512MB unless told), migrated with the current build
 * of the stored logic (run `npx tsx scripts/build-stored.ts` first).
 */
import { pathToFileURL } from "node:url";
import pg from "pg";
import { createThrowawayCluster } from "../test/helpers/throwaway-cluster.js";
import { migrate } from "../loader/db/migrate.js";

export interface DiffBenchOptions {
  /** Timed runs of each read; the median is reported (the first, cold, run too). Default 5. */
  runs?: number;
  /** Print EXPLAIN ANALYZE of the SQL the stored functions run (through auto_explain). */
  explain?: boolean;
  /** An empty migrated database to use instead of a throwaway cluster. */
  databaseUrl?: string;
  /** shared_buffers of the throwaway cluster; default 512MB (the metadata of the base version is ~580 MiB). */
  sharedBuffers?: string;
  log?: (line: string) => void;
}

export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  /** The issue's limit for this row, in `unit`, when it has one. */
  target?: number;
  /** Extra facts (row counts, first-run time). */
  note?: string;
}

const quick = process.env.BENCH_QUICK === "1";
const TRAIN_FILES = quick ? 100 : 1000;
const VAL_FILES = quick ? 5 : 50;
const CLASSES = 1000;
const ROWS = quick ? 100_000 : 1_000_000;
const fmt = (n: number): string => n.toLocaleString("en-US");
/** The issue's limit for a row: judged at full size only. */
const limit = (value: number): number | undefined => (quick ? undefined : value);

type Db = pg.Client;

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** Median of `runs` timed runs after one cold run; returns [median ms, cold ms]. */
async function median(runs: number, fn: () => Promise<unknown>): Promise<[number, number]> {
  const cold = await timeIt(fn);
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) ms.push(await timeIt(fn));
  ms.sort((a, b) => a - b);
  return [ms[Math.floor(ms.length / 2)]!, cold];
}

/** Bytes of schema strata's tables with their indexes and TOAST, by table. */
async function metadata(db: Db): Promise<Map<string, number>> {
  const { rows } = await db.query<{ t: string; b: string }>(
    `select c.relname as t, pg_total_relation_size(c.oid) as b from pg_class c
     join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'strata' and c.relkind = 'r' and c.relname not in ('_bundles', '_installs', 'migrations')`,
  );
  return new Map(rows.map((r) => [r.t, Number(r.b)]));
}

const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

function growth(before: Map<string, number>, after: Map<string, number>): string {
  return [...after]
    .map(([t, b]) => [t, b - (before.get(t) ?? 0)] as const)
    .filter(([, d]) => d > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([t, d]) => `${t} ${(d / 2 ** 20).toFixed(1)}`)
    .join(", ");
}

/**
 * Register the chunks of temp table `newchunks(hash, size)` in packs of 400 chunks
 * (~50 MB), as register_pack would, but in one statement.
 */
async function registerChunks(db: Db, label: string): Promise<void> {
  await db.query("drop table if exists numbered");
  await db.query(`create temp table numbered as
                  select hash, size, (row_number() over (order by hash) - 1) / 400 as p from newchunks`);
  await db.query(
    `insert into strata.packs (hash, size, chunk_count)
     select sha256(convert_to('pack/' || $1::text || '/' || p, 'UTF8')), sum(size), count(*) from numbered group by p`,
    [label],
  );
  await db.query(
    `insert into strata.chunks (hash, size, pack_id, pack_offset, stored_size)
     select x.hash, x.size, pk.id, sum(x.size) over (partition by x.p order by x.hash) - x.size, x.size
     from numbered x join strata.packs pk on pk.hash = sha256(convert_to('pack/' || $1::text || '/' || x.p, 'UTF8'))`,
    [label],
  );
}

/**
 * Commit temp table `vf(split, folder, name, blob, size, chunks)` (a three-level tree
 * split/folder/name) as version `tag`: computes the Merkle trees in SQL (the loader's
 * job, untimed), then times what a push's commit does: put the new contents and trees in
 * batches of about 20,000, as the loader does, and call commit_version.
 */
async function commitTable(db: Db, dataset: string, tag: string, parent: string | null): Promise<{ ms: number; stagedEntries: number }> {
  await db.query("drop table if exists vleaf, vsplit, vroot");
  await db.query(`create temp table vleaf as
    select split, folder,
           sha256(string_agg(convert_to('f' || name, 'UTF8') || '\\x00'::bytea || blob || int8send(size), ''::bytea
                             order by name collate "C")) as hash,
           count(*)::int as n, sum(size)::bigint as size
    from vf group by split, folder`);
  await db.query(`create temp table vsplit as
    select split,
           sha256(string_agg(convert_to('d' || folder, 'UTF8') || '\\x00'::bytea || hash || int8send(size), ''::bytea
                             order by folder collate "C")) as hash,
           count(*)::int as entries, sum(n)::bigint as n, sum(size)::bigint as size
    from vleaf group by split`);
  await db.query(`create temp table vroot as
    select sha256(string_agg(convert_to('d' || split, 'UTF8') || '\\x00'::bytea || hash || int8send(size), ''::bytea
                             order by split collate "C")) as hash,
           count(*)::int as entries, sum(n)::bigint as n, sum(size)::bigint as size
    from vsplit`);
  // What is new, as the loader learns it with missing_blobs / missing_trees before it
  // commits (untimed): only these are staged.
  await db.query("drop table if exists st_blobs, st_trees, st_entries");
  await db.query(`create temp table st_blobs as
    select distinct on (blob) blob as hash, size, chunks from vf
    where not exists (select 1 from strata.blobs b where b.hash = vf.blob)`);
  await db.query(`create temp table st_trees as
    select hash, n as entry_count, n::bigint as file_count, size, 0 as level from vleaf l where not exists (select 1 from strata.trees t where t.hash = l.hash)
    union all
    select hash, entries, n, size, 1 from vsplit s where not exists (select 1 from strata.trees t where t.hash = s.hash)
    union all
    select hash, entries, n, size, 2 from vroot r where not exists (select 1 from strata.trees t where t.hash = r.hash)`);
  await db.query(`create temp table st_entries as
    select l.hash as tree, f.name, 'file' as kind, f.blob as hash, f.size, null::text as target
    from vf f join vleaf l using (split, folder) join st_trees t on t.hash = l.hash
    union all
    select s.hash, l.folder, 'dir', l.hash, l.size, null from vleaf l join vsplit s using (split) join st_trees t on t.hash = s.hash
    union all
    select r.hash, s.split, 'dir', s.hash, s.size, null from vsplit s, vroot r join st_trees t on t.hash = r.hash`);
  const stagedEntries = Number((await db.query("select count(*) as n from st_entries")).rows[0].n);
  await db.query("alter table st_trees add column batch int");
  // About 20,000 entries a batch, children first: the loader's put_trees batches.
  await db.query(`update st_trees s set batch = x.b from (
      select hash, level * 100000 + (sum(entry_count) over (partition by level order by hash) / 20000)::int as b from st_trees) x
    where x.hash = s.hash`);
  const batches = (await db.query("select distinct batch from st_trees order by batch")).rows.map((r) => Number(r.batch));
  const ms = await timeIt(async () => {
    const { push } = (await db.query("select push from strata.push_begin($1, $2, $3)", [dataset, parent, tag])).rows[0];
    for (let off = 0; ; off += 20000) {
      const r = await db.query(
        `select strata.put_blobs(array_agg(hash), array_agg(size), array_agg(chunks)) as n, count(*)::int as c
         from (select * from st_blobs order by hash offset $1 limit 20000) x`,
        [off],
      );
      if (r.rows[0].c < 20000) break;
    }
    for (const b of batches)
      await db.query(
        `with t as (select hash, file_count, size, row_number() over (order by hash)::int as i from st_trees where batch = $1)
         select strata.put_trees((select array_agg(hash order by i) from t), (select array_agg(file_count order by i) from t),
                                 (select array_agg(size order by i) from t),
                                 array_agg(t.i), array_agg(e.name), array_agg(e.kind), array_agg(false), array_agg(e.hash),
                                 array_agg(e.size), array_agg(e.target))
         from st_entries e join t on t.hash = e.tree`,
        [b],
      );
    await db.query("select * from strata.commit_version($1, (select hash from vroot), $2, $3, $4, null, $5)", [
      dataset,
      parent,
      tag,
      `bench ${tag}`,
      push,
    ]);
  });
  return { ms, stagedEntries };
}

async function buildBase(db: Db): Promise<{ commitMs: number }> {
  await db.query(`create temp table bench_files as
    select s.split, c.cls, f.i, 'c' || lpad(c.cls::text, 3, '0') as folder, lpad(f.i::text, 5, '0') || '.jpg' as name,
           sha256(convert_to(format('chunk/%s/%s/%s', s.split, c.cls, f.i), 'UTF8')) as chunk,
           (60000 + abs(hashtext(format('size/%s/%s/%s', s.split, c.cls, f.i))) % 140000)::bigint as size
    from (values ('train', ${TRAIN_FILES}), ('val', ${VAL_FILES})) s(split, per)
    cross join generate_series(0, ${CLASSES - 1}) c(cls)
    cross join lateral generate_series(0, s.per - 1) f(i)`);
  await db.query("drop table if exists newchunks, vf");
  await db.query("create temp table newchunks as select chunk as hash, size::int from bench_files");
  await registerChunks(db, "base");
  await db.query(`create temp table vf as
    select split, folder, name, sha256(chunk || '\\x01'::bytea) as blob, size, chunk as chunks from bench_files`);
  await db.query("select strata.create_dataset('images')");
  const { ms } = await commitTable(db, "images", "base", null);
  return { commitMs: ms };
}

const VARIANTS = {
  clustered: {
    kind: `case when split = 'train' and cls between 100 and 109 then
             case when i % 40 = 0 then 'removed' when i % 2 = 0 then 'append' else 'rewrite' end end`,
    added: `select 'train' as split, cls, i from generate_series(100, 109) cls, generate_series(${TRAIN_FILES}, ${TRAIN_FILES + 24}) i`,
  },
  uniform: {
    kind: `case when (i * 7 + cls * 13) % 100 = 0 then
             case when cls % 40 = 0 then 'removed' when i % 2 = 0 then 'append' else 'rewrite' end end`,
    added: `select 'train' as split, cls, ${TRAIN_FILES} as i from generate_series(1, 999, 4) cls`,
  },
} as const;

async function buildChild(
  db: Db,
  variant: keyof typeof VARIANTS,
): Promise<{ commitMs: number; changed: Record<string, number>; stagedEntries: number }> {
  const v = VARIANTS[variant];
  await db.query("drop table if exists newchunks, vf");
  await db.query(
    `create temp table vf as
     with k as (select f.*, ${v.kind} as kind, convert_to($1::text, 'UTF8') as salt from bench_files f)
     select split, folder, name, kind,
            case kind when 'rewrite' then sha256(chunk || '\\x02'::bytea || salt) when 'append' then sha256(chunk || '\\x03'::bytea || salt)
                      else sha256(chunk || '\\x01'::bytea) end as blob,
            case kind when 'append' then size + 4096 else size end as size,
            case kind when 'rewrite' then sha256(chunk || '\\x04'::bytea || salt)
                      when 'append' then chunk || sha256(chunk || '\\x05'::bytea || salt) else chunk end as chunks
     from k where kind is distinct from 'removed'
     union all
     select a.split, 'c' || lpad(a.cls::text, 3, '0'), lpad(a.i::text, 5, '0') || '.jpg', 'added',
            sha256(convert_to(format('newblob/%s/%s/%s', $1::text, a.cls, a.i), 'UTF8')), 70000,
            sha256(convert_to(format('newchunk/%s/%s/%s', $1::text, a.cls, a.i), 'UTF8'))
     from (${v.added}) a`,
    [variant],
  );
  const { rows } = await db.query<{ kind: string; n: string }>(
    `select kind, count(*) as n from (select ${v.kind} as kind from bench_files) k where kind is not null group by kind
     union all select 'added', count(*) from (${v.added}) a`,
  );
  const changed = Object.fromEntries(rows.map((r) => [r.kind, Number(r.n)]));
  await db.query(`create temp table newchunks as
    select chunks as hash, size::int from vf where kind in ('rewrite', 'added')
    union all select substring(chunks from 33 for 32), 4096 from vf where kind = 'append'`);
  await registerChunks(db, variant);
  const { ms, stagedEntries } = await commitTable(db, "images", variant, "base");
  return { commitMs: ms, changed, stagedEntries };
}

/**
 * Versions a, b, c of one CSV of ROWS rows (as row hashes): b changes 1% of a's rows in
 * place; c is b with one row inserted at the top, so no row keeps its row number.
 */
async function buildRows(db: Db): Promise<{ recordMs: number }> {
  await db.query("drop table if exists newchunks, vf");
  await db.query(`create temp table newchunks as
    select sha256(convert_to('csv-chunk-' || v, 'UTF8')) as hash, 40000000 as size from unnest(array['a', 'b', 'c']) v`);
  await registerChunks(db, "rows");
  await db.query("select strata.create_dataset('tables')");
  let recordMs = 0;
  for (const v of ["a", "b", "c"]) {
    await db.query("drop table if exists vf");
    await db.query(
      `create temp table vf as
       select 'tables' as split, 'main' as folder, 'data.csv' as name, sha256(convert_to('csv-' || $1::text, 'UTF8')) as blob,
              40000000::bigint as size, sha256(convert_to('csv-chunk-' || $1::text, 'UTF8')) as chunks`,
      [v],
    );
    await commitTable(db, "tables", v, v === "a" ? null : "a");
    recordMs += await timeIt(() =>
      db.query(
        `select strata.record_tabular_rows(sha256(convert_to('csv-' || $1::text, 'UTF8')), 'csv', 'id,x,y',
           (case when $1::text = 'c' then array[hashtextextended('a new first row', 0)] else '{}'::bigint[] end)
           || (select array_agg(case when $1::text <> 'a' and i % 100 = 37 then hashtextextended('changed ' || i, 0)
                                     else hashtextextended('row ' || i, 0) end order by i)
               from generate_series(1, ${ROWS}) i), 2::smallint)`,
        [v],
      ),
    );
  }
  return { recordMs: recordMs / 3 };
}

export async function benchDiff(opts: DiffBenchOptions = {}): Promise<BenchRow[]> {
  const runs = opts.runs ?? 5;
  const log = opts.log ?? (() => {});
  const cluster = opts.databaseUrl ? undefined : await createThrowawayCluster({ sharedBuffers: opts.sharedBuffers ?? "512MB" });
  const url = opts.databaseUrl ?? cluster!.installUrl;
  const db = new pg.Client({ connectionString: url });
  try {
    if (cluster) await migrate(url);
    await db.connect();
    await db.query("set client_min_messages = warning");
    const rows: BenchRow[] = [];

    const m0 = await metadata(db);
    log(`building the base version (${fmt(CLASSES * (TRAIN_FILES + VAL_FILES))} files) ...`);
    const base = await buildBase(db);
    await db.query("analyze");
    const m1 = await metadata(db);
    const parentBytes = total(m1) - total(m0);
    rows.push({
      name: `base: commit of ${fmt(CLASSES * (TRAIN_FILES + VAL_FILES))} files (put_blobs, put_trees, commit_version)`,
      value: base.commitMs / 1000,
      unit: "s",
    });
    rows.push({ name: "base: metadata", value: parentBytes / 2 ** 20, unit: "MiB", note: growth(m0, m1) });
    if (opts.explain) await explainOn(db);

    let before = m1;
    for (const variant of ["clustered", "uniform"] as const) {
      log(`committing the ${variant} child ...`);
      const child = await buildChild(db, variant);
      await db.query("analyze");
      const after = await metadata(db);
      const added = total(after) - total(before);
      const changes = Object.entries(child.changed)
        .map(([k, n]) => `${k} ${n}`)
        .join(", ");
      rows.push({
        name: `${variant}: commit of the child (put_blobs, put_trees, commit_version)`,
        value: child.commitMs,
        unit: "ms",
        note: `${changes}; ${child.stagedEntries} tree entries staged`,
      });
      rows.push({
        name: `${variant}: metadata the child added / the parent's`,
        value: (100 * added) / parentBytes,
        unit: "%",
        target: limit(5),
        note: `${(added / 2 ** 20).toFixed(1)} MiB: ${growth(before, after)}`,
      });
      before = after;
      let n = 0;
      const [diffMs, diffCold] = await median(runs, async () => {
        n = (await db.query("select * from strata.diff('images', 'base', $1)", [variant])).rowCount ?? 0;
      });
      rows.push({
        name: `${variant}: diff base -> child (all rows to the client)`,
        value: diffMs,
        unit: "ms",
        target: limit(1000),
        note: `${n} rows; first run ${diffCold.toFixed(0)} ms`,
      });
      let s: Record<string, unknown> = {};
      const [sumMs, sumCold] = await median(runs, async () => {
        s = (await db.query("select * from strata.diff_summary('images', 'base', $1)", [variant])).rows[0];
      });
      rows.push({
        name: `${variant}: diff_summary base -> child`,
        value: sumMs,
        unit: "ms",
        target: limit(2000),
        note: `first run ${sumCold.toFixed(0)} ms; ${JSON.stringify(s)}`,
      });
      if (opts.explain) {
        log(`--- plans of diff and diff_summary, ${variant}`);
        await db.query("select count(*) from strata.diff('images', 'base', $1)", [variant]);
        await db.query("select * from strata.diff_summary('images', 'base', $1)", [variant]);
      }
    }

    let n = 0;
    const [lsMs, lsCold] = await median(runs, async () => {
      n = (await db.query("select * from strata.ls('images', 'base', 'train/c500/')")).rowCount ?? 0;
    });
    rows.push({
      name: `ls of a ${fmt(TRAIN_FILES)}-file folder (train/c500/)`,
      value: lsMs,
      unit: "ms",
      target: limit(100),
      note: `${n} rows; first run ${lsCold.toFixed(0)} ms`,
    });
    await db.query("begin");
    await db.query("set local jit = off");
    const [lsNoJit] = await median(runs, () => db.query("select * from strata.ls('images', 'base', 'train/c500/')"));
    await db.query("commit");
    rows.push({ name: "ls of the same folder with jit = off (set local)", value: lsNoJit, unit: "ms", target: limit(100) });
    const [lsPMs] = await median(runs, async () => {
      n = (await db.query("select * from strata.ls('images', 'base', 'val/c12')")).rowCount ?? 0;
    });
    rows.push({
      name: "ls of a partial-name prefix (val/c12: 10 folders)",
      value: lsPMs,
      unit: "ms",
      target: limit(100),
      note: `${n} rows`,
    });

    log(`building three ${fmt(ROWS)}-row CSV versions ...`);
    const r = await buildRows(db);
    rows.push({ name: `record_tabular_rows of ${fmt(ROWS)} row hashes`, value: r.recordMs, unit: "ms" });
    for (const [tag, what] of [
      ["b", "1% changed in place"],
      ["c", "1% changed, one row inserted at the top"],
    ] as const) {
      const [rowsMs, rowsCold] = await median(runs, async () => {
        n = (await db.query("select * from strata.diff_rows('tables', 'a', $1, 'tables/main/data.csv')", [tag])).rowCount ?? 0;
      });
      rows.push({
        name: `diff_rows, ${fmt(ROWS)} rows, ${what}`,
        value: rowsMs,
        unit: "ms",
        target: limit(5000),
        note: `${n} rows; first run ${rowsCold.toFixed(0)} ms`,
      });
      let rs: Record<string, unknown> = {};
      const [rsMs] = await median(runs, async () => {
        rs = (await db.query("select * from strata.diff_rows_summary('tables', 'a', $1, 'tables/main/data.csv')", [tag])).rows[0];
      });
      rows.push({ name: `diff_rows_summary, ${what}`, value: rsMs, unit: "ms", target: limit(5000), note: JSON.stringify(rs) });
    }
    if (opts.explain) {
      log("--- plans of diff_rows and diff_rows_summary");
      await db.query("select count(*) from strata.diff_rows('tables', 'a', 'b', 'tables/main/data.csv')");
      await db.query("select * from strata.diff_rows_summary('tables', 'a', 'b', 'tables/main/data.csv')");
    }
    return rows;
  } finally {
    await db.end().catch(() => {});
    await cluster?.stop();
  }
}

/** Show the plans of the statements the stored functions run, as NOTICEs. */
async function explainOn(db: Db): Promise<void> {
  db.on("notice", (n) => {
    if (n.message?.includes("Query Text")) console.log(n.message);
  });
  await db.query("load 'auto_explain'");
  await db.query("set auto_explain.log_min_duration = 50");
  await db.query("set auto_explain.log_analyze = on");
  await db.query("set auto_explain.log_buffers = on");
  await db.query("set auto_explain.log_nested_statements = on");
  await db.query("set auto_explain.log_level = 'notice'");
  await db.query("set client_min_messages = notice");
}

export function formatRows(rows: BenchRow[]): string {
  const w = Math.max(...rows.map((r) => r.name.length));
  return rows
    .map((r) => {
      const digits = r.unit === "ms" ? 0 : 2;
      const target = r.target === undefined ? "" : `  (target < ${r.target} ${r.unit}: ${r.value < r.target ? "met" : "MISSED"})`;
      return `${r.name.padEnd(w)}  ${r.value.toFixed(digits).padStart(9)} ${r.unit.padEnd(3)}${target}${r.note ? `\n${"".padEnd(w + 2)}  ${r.note}` : ""}`;
    })
    .join("\n");
}

async function main(argv: string[]): Promise<void> {
  const opts: DiffBenchOptions = { log: (s) => console.error(s) };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--runs") opts.runs = Number(argv[++i]);
    else if (argv[i] === "--explain") opts.explain = true;
    else if (argv[i] === "--database-url") opts.databaseUrl = argv[++i];
    else if (argv[i] === "--shared-buffers") opts.sharedBuffers = argv[++i];
    else throw new Error("usage: bench/diff.ts [--runs 5] [--explain] [--shared-buffers 512MB] [--database-url URL]");
  }
  const started = performance.now();
  const rows = await benchDiff(opts);
  console.log(formatRows(rows));
  console.log(`(whole run ${((performance.now() - started) / 1000).toFixed(0)} s; times are medians of ${opts.runs ?? 5} warm runs)`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
