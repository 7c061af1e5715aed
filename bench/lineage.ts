/**
 * Lineage, impact, the reverse index and metric logging on a platform-sized graph, built
 * in the database with set-based SQL (no loader, no object store; trees are rows whose
 * hashes are labels, which nothing here recomputes). The shape of about a year of a
 * platform running 1,000 experiments a day (BENCH_QUICK=1: a tenth):
 *
 *   raw datasets      200 x 500 versions, each derived_from its parent          (~100,000 edges)
 *   derived datasets  2,500 x 100 versions, each derived_from its parent and from
 *                     the raw version of its time (--from)                      (~500,000 edges)
 *   runs              100,000, each trained_on / evaluated_on 3 or 4 versions    (~350,000 edges)
 *   model versions    50,000 of 500 models, produced_by their run               (50,000 edges)
 *   aliases           production and staging of every model, with history
 *   metric points     10,000,000 (1,000 runs x 10 metrics x 1,000 steps)
 *
 * Every version holds labels.csv and a data/ folder of 100 files shared by 50 versions;
 * one labels file sits in 1,000 versions (all 500 of raw-0000 at labels.csv, and 500
 * derived versions at in/labels.csv). Reported, medians of warm runs against the
 * issue's targets: lineage up and down at depth 10 and 20 (from a model version, from a
 * raw version), impact of a raw version, versions_containing of the 1,000-version file
 * (< 50 ms each), log_metrics of one point and of a batch of 10,000 (< 100 ms), and 16
 * parallel loggers of one run (points/s, errors, deadlocks: must be 0).
 *
 *   npx tsx bench/lineage.ts [--runs 21] [--explain] [--database-url URL]
 *
 * Without --database-url it runs in a throwaway cluster (fsync off, shared_buffers 1GB),
 * migrated with the current build of the stored logic (npm run build first).
 */
import { pathToFileURL } from "node:url";
import pg from "pg";
import { migrate } from "../loader/db/migrate.js";
import { createThrowawayCluster } from "../test/helpers/throwaway-cluster.js";
import type { BenchRow } from "./diff.js";

const quick = process.env.BENCH_QUICK === "1";

const SIZE = {
  raw: quick ? 20 : 200,
  rawLength: 500,
  derived: quick ? 250 : 2500,
  derivedLength: 100,
  runs: quick ? 10_000 : 100_000,
  models: quick ? 50 : 500,
  metricRuns: 1000,
  metricSteps: quick ? 100 : 1000,
};

type Db = pg.Client;

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** Median of `runs` timed runs after one cold run. */
async function median(runs: number, fn: (i: number) => Promise<unknown>): Promise<[number, number]> {
  const cold = await timeIt(() => fn(0));
  const ms: number[] = [];
  for (let i = 1; i <= runs; i++) ms.push(await timeIt(() => fn(i)));
  ms.sort((a, b) => a - b);
  return [ms[Math.floor(ms.length / 2)]!, cold];
}

/** The graph, built set by set. Version ids are computed (raw d, seq s: d * 500 + s), so parents and sources are arithmetic. */
export async function build(db: Db, log: (s: string) => void): Promise<void> {
  const { raw, rawLength: RL, derived, derivedLength: DL, runs, models, metricRuns, metricSteps } = SIZE;
  const base = raw * RL; // derived version ids start after the raw ones
  const q = async (label: string, sql: string, params: unknown[] = []) => {
    const ms = await timeIt(() => db.query(sql, params));
    log(`  ${label}: ${(ms / 1000).toFixed(1)} s`);
  };
  await db.query("set synchronous_commit = off");
  await q(
    "datasets",
    `insert into strata.datasets (name)
     select 'raw-' || lpad(i::text, 4, '0') from generate_series(0, $1 - 1) i
     union all select 'der-' || lpad(i::text, 4, '0') from generate_series(0, $2 - 1) i`,
    [raw, derived],
  );
  // Every version: (id, dataset name, seq, data block); labels blob per 20 versions, X for raw-0000.
  await db.query(
    `create temp table vv as
    select d * $2 + s as id, 'raw-' || lpad(d::text, 4, '0') as dataset, s as seq, false as derived, d as n
    from generate_series(0, $1 - 1) d, generate_series(1, $2) s
    union all
    select $5 + e * $4 + s, 'der-' || lpad(e::text, 4, '0'), s, true, e
    from generate_series(0, $3 - 1) e, generate_series(1, $4) s`,
    [raw, RL, derived, DL, base],
  );
  await db.query(`alter table vv add column root bytea, add column labels bytea, add column block bytea, add column has_in boolean`);
  await db.query(`update vv set root = sha256(convert_to('root:' || id, 'UTF8')),
    labels = case when dataset = 'raw-0000' then sha256(convert_to('labels-x', 'UTF8'))
                  else sha256(convert_to('labels:' || dataset || ':' || (seq / 20), 'UTF8')) end,
    block = sha256(convert_to('data:' || dataset || ':' || (seq / 50), 'UTF8')),
    has_in = derived and n < 5`);
  await q(
    "trees (folders of 100 files shared by 50 versions, roots, in/)",
    `with blocks as (select distinct block from vv)
     insert into strata.trees (hash, entry_count, file_count, size, chunk_refs)
     select block, 100, 100, 100 * 4096, 100 from blocks
     union all select root, 2 + has_in::int, 101 + has_in::int, 101 * 4096, 101 from vv
     union all select sha256(convert_to('tree:in', 'UTF8')), 1, 1, 4096, 1`,
  );
  await q(
    "tree entries",
    `insert into strata.tree_entries (tree, name, kind, hash, size)
     select b.block, lpad(k::text, 5, '0') || '.bin', 'file', sha256(convert_to(encode(b.block, 'hex') || k, 'UTF8')), 4096
     from (select distinct block from vv) b, generate_series(1, 100) k
     union all select root, 'labels.csv', 'file', labels, 4096 from vv
     union all select root, 'data', 'dir', block, 100 * 4096 from vv
     union all select root, 'in', 'dir', sha256(convert_to('tree:in', 'UTF8')), 4096 from vv where has_in
     union all select sha256(convert_to('tree:in', 'UTF8')), 'labels.csv', 'file', sha256(convert_to('labels-x', 'UTF8')), 4096`,
  );
  await q(
    "versions",
    `insert into strata.versions (id, dataset_id, seq, tag, parent_id, content_hash, file_count, size, new_bytes)
     overriding system value
     select v.id, d.id, v.seq, 'v' || v.seq, case when v.seq > 1 then v.id - 1 end, v.root, 101, 101 * 4096, 0
     from vv v join strata.datasets d on d.name = v.dataset order by v.id`,
  );
  await db.query("select setval(pg_get_serial_sequence('strata.versions', 'id'), (select max(id) from strata.versions))");
  await q(
    "edges: parents, and derived versions from the raw version of their time",
    `insert into strata.lineage_edges (source_kind, source_id, relation, target_kind, target_id)
     select 'dataset_version', id, 'derived_from', 'dataset_version', id - 1 from vv where seq > 1
     union all
     select 'dataset_version', id, 'derived_from', 'dataset_version', (n % $1) * $2 + 1 + (((seq - 1) * $2 / $3 + n / $1) % $2)
     from vv where derived`,
    [raw, RL, DL],
  );
  await q(
    "runs",
    `insert into strata.experiments (id, name, params, metrics, status, code_ref, started_at, ended_at)
     overriding system value
     select i, 'train-' || (i % 100), jsonb_build_object('lr', 0.001 * (i % 10)), jsonb_build_object('auc', (i % 1000) / 1000.0),
            case when i > $1 - 1000 then 'running' else 'succeeded' end, 'git:' || md5(i::text),
            now() - make_interval(secs => ($1 - i) * 86.4), case when i > $1 - 1000 then null else now() - make_interval(secs => ($1 - i) * 86.4 - 3600) end
     from generate_series(1, $1) i`,
    [runs],
  );
  await db.query("select setval(pg_get_serial_sequence('strata.experiments', 'id'), $1)", [runs]);
  // Runs read the versions of their day: derived datasets drawn at random, their version of that time.
  await db.query(
    `create temp table ri as
     select i as run, x.role, case when x.role = 'features' then (i % $5) * $6 + 1 + least($6 - 1, i::bigint * $6 / $1)
                                   else $2 + ((i::bigint * x.mult + x.add) % $3) * $4 + 1 + least($4 - 1, i::bigint * $4 / $1) end as version
     from generate_series(1, $1) i
     cross join (values ('train', 7919, 0), ('eval', 104729, 1), ('features', 0, 0), ('test', 1299709, 2)) x(role, mult, add)
     where x.role <> 'test' or i % 2 = 0`,
    [runs, base, derived, DL, raw, RL],
  );
  await q("run inputs", "insert into strata.experiment_inputs (experiment_id, version_id, role) select run, version, role from ri");
  await q(
    "edges: runs to their inputs",
    `insert into strata.lineage_edges (source_kind, source_id, relation, target_kind, target_id)
     select 'experiment', run, case role when 'train' then 'trained_on' when 'features' then 'used' else 'evaluated_on' end,
            'dataset_version', version from ri on conflict do nothing`,
  );
  await q(
    "models and their versions (one per second run)",
    `with m as (insert into strata.models (name) select 'model-' || lpad(i::text, 3, '0') from generate_series(0, $2 - 1) i returning id, name),
     t as (insert into strata.trees (hash, entry_count, file_count, size)
           select sha256(convert_to('model-tree:' || i, 'UTF8')), 1, 1, 1000000 from generate_series(2, $1, 2) i returning hash)
     select count(*) from m, (select count(*) from t) x`,
    [runs, models],
  );
  await db.query(
    `insert into strata.tree_entries (tree, name, kind, hash, size)
     select sha256(convert_to('model-tree:' || i, 'UTF8')), 'weights.bin', 'file', sha256(convert_to('weights:' || i, 'UTF8')), 1000000
     from generate_series(2, $1, 2) i`,
    [runs],
  );
  await db.query(
    `insert into strata.model_versions (id, model_id, version, content_hash, file_count, size, experiment_id, created_at)
     overriding system value
     select i / 2, m.id, row_number() over (partition by m.id order by i), sha256(convert_to('model-tree:' || i, 'UTF8')), 1, 1000000, i,
            now() - make_interval(secs => ($1 - i) * 86.4)
     from generate_series(2, $1, 2) i join strata.models m on m.name = 'model-' || lpad(((i / 2) % $2)::text, 3, '0')`,
    [runs, models],
  );
  await db.query("select setval(pg_get_serial_sequence('strata.model_versions', 'id'), (select max(id) from strata.model_versions))");
  await q(
    "edges: model versions produced_by their runs",
    `insert into strata.lineage_edges (source_kind, source_id, relation, target_kind, target_id)
     select 'model_version', id, 'produced_by', 'experiment', experiment_id from strata.model_versions`,
  );
  await q(
    "aliases: production (the one before the latest) and staging (the latest), with history",
    `with latest as (select model_id, max(version) as v from strata.model_versions group by model_id),
     a as (select l.model_id, x.alias, mv.id as mv, mv.version
           from latest l cross join (values ('production', 1), ('staging', 0)) x(alias, back)
           join strata.model_versions mv on mv.model_id = l.model_id and mv.version = l.v - x.back),
     ins as (insert into strata.model_aliases (model_id, alias, model_version_id) select model_id, alias, mv from a returning 1),
     tg as (insert into strata.model_alias_targets (model_id, alias, model_version_id, weight) select model_id, alias, mv, 1 from a returning 1),
     h as (insert into strata.model_alias_history (model_id, alias, model_version_id, action, from_targets, to_targets)
           select model_id, alias, mv, 'set', jsonb_build_object((version - 1)::text, 1), jsonb_build_object(version::text, 1) from a returning 1)
     select (select count(*) from ins) + (select count(*) from tg) + (select count(*) from h)`,
  );
  await q(
    `metric points (${metricRuns} runs x 10 metrics x ${metricSteps} steps)`,
    `insert into strata.experiment_metrics (experiment_id, name, step, value)
     select r, 'metric-' || m, s, 1.0 / (s + 1) + m from generate_series(1, $1) r, generate_series(0, 9) m, generate_series(0, $2 - 1) s`,
    [metricRuns, metricSteps],
  );
  await q("analyze", "analyze");
}

export interface LineageBenchOptions {
  runs?: number;
  explain?: boolean;
  databaseUrl?: string;
  log?: (line: string) => void;
}

export async function benchLineage(opts: LineageBenchOptions = {}): Promise<BenchRow[]> {
  const log = opts.log ?? (() => {});
  const runs = opts.runs ?? 21;
  const cluster = opts.databaseUrl ? undefined : await createThrowawayCluster({ sharedBuffers: "1GB" });
  const url = opts.databaseUrl ?? cluster!.installUrl;
  const rows: BenchRow[] = [];
  const clients: Db[] = [];
  const connect = async (): Promise<Db> => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    clients.push(c);
    return c;
  };
  try {
    if (!opts.databaseUrl) await migrate(url);
    const db = await connect();
    log(`building the graph${quick ? " (BENCH_QUICK=1: a tenth)" : ""} ...`);
    const built = await timeIt(() => build(db, log));
    const counts = (
      await db.query(
        `select (select count(*) from strata.lineage_edges) as edges, (select count(*) from strata.versions) as versions,
                (select count(*) from strata.experiments) as runs, (select count(*) from strata.model_versions) as model_versions,
                (select count(*) from strata.experiment_metrics) as points, (select count(*) from strata.tree_entries) as entries`,
      )
    ).rows[0];
    log(
      `built in ${(built / 1000).toFixed(0)} s: ${counts.edges} edges, ${counts.versions} versions, ${counts.runs} runs, ` +
        `${counts.model_versions} model versions, ${counts.points} metric points, ${counts.entries} tree entries`,
    );
    if (opts.explain) await explainOn(db);

    // A model version of the middle of the year whose run trained on a late version of a derived dataset: a deep lineage.
    const model = (
      await db.query(
        `select mv.node from strata.v_model_versions mv
         join strata.experiments x on x.run_id = mv.run_id
         join strata.experiment_inputs i on i.experiment_id = x.id and i.role = 'train'
         join strata.versions v on v.id = i.version_id
         where v.seq > 90 and mv.id > (select max(id) / 2 from strata.model_versions) order by mv.id limit 1`,
      )
    ).rows[0].node as string;
    const rawNode = `dataset:raw-0003@v250`;
    const walk = async (name: string, sql: string, params: unknown[], target?: number) => {
      let n = 0;
      const [ms, cold] = await median(runs, async () => {
        n = (await db.query(sql, params)).rowCount ?? 0;
      });
      rows.push({ name, value: ms, unit: "ms", target, note: `${n} rows; first run ${cold.toFixed(0)} ms` });
      log(`${name}: ${ms.toFixed(1)} ms (${n} rows)`);
    };
    for (const depth of [10, 20]) {
      await walk(`lineage up, depth ${depth} (${model})`, "select * from strata.lineage($1, 'up', $2)", [model, depth], 50);
      await walk(`lineage down, depth ${depth} (${rawNode})`, "select * from strata.lineage($1, 'down', $2)", [rawNode, depth], 50);
    }
    await walk(`impact of a raw version (${rawNode})`, "select * from strata.impact($1)", [rawNode], 50);
    await walk(
      "versions_containing, a file in 1,000 versions",
      "select * from strata.versions_containing('raw-0000', 'v250', 'labels.csv')",
      [],
      50,
    );
    await walk(
      "impact of that file (no target: beyond the issue's list)",
      "select * from strata.impact('dataset:raw-0000@v250', 'labels.csv')",
      [],
    );

    // Metrics: a fresh run, one point per call, then batches of 10,000 points.
    const run = (await db.query("select strata.start_experiment('bench-log')::text as id")).rows[0].id as string;
    const [one] = await median(runs * 5, (i) => db.query(`select strata.log_metrics($1, '{"loss": 0.5}', $2)`, [run, i]));
    rows.push({ name: "log_metrics, one point", value: one, unit: "ms" });
    log(`log_metrics, one point: ${one.toFixed(2)} ms`);
    const batch = (b: number) =>
      JSON.stringify(Array.from({ length: 10_000 }, (_, k) => ({ name: `m${k % 10}`, step: b * 1000 + Math.floor(k / 10), value: k / 7 })));
    const batches = Array.from({ length: runs + 1 }, (_, b) => batch(b));
    const [tenK, coldK] = await median(runs, (i) => db.query("select strata.log_metrics($1, $2::jsonb)", [run, batches[i]]));
    rows.push({
      name: "log_metrics, a batch of 10,000 points",
      value: tenK,
      unit: "ms",
      target: 100,
      note: `first run ${coldK.toFixed(0)} ms`,
    });
    log(`log_metrics, 10,000 points: ${tenK.toFixed(1)} ms`);

    // 16 loggers of one run at once, their batches overlapping (the same shared points) and their own.
    const loggers = await Promise.all(Array.from({ length: 16 }, () => connect()));
    const prun = (await db.query("select strata.start_experiment('bench-parallel')::text as id")).rows[0].id as string;
    const errors: string[] = [];
    const BATCHES = quick ? 10 : 30;
    const elapsed = await timeIt(() =>
      Promise.all(
        loggers.map(async (c, l) => {
          for (let b = 0; b < BATCHES; b++) {
            const points = [
              ...Array.from({ length: 500 }, (_, k) => ({ name: "shared", step: b * 500 + k, value: k })),
              ...Array.from({ length: 500 }, (_, k) => ({ name: `own-${l}`, step: b * 500 + k, value: k })),
            ];
            await c.query("select strata.log_metrics($1, $2::jsonb)", [prun, JSON.stringify(points)]).catch((e: { code?: string }) => {
              errors.push(e.code ?? "?");
            });
          }
        }),
      ),
    );
    const stored = Number((await db.query("select count(*) as n from strata.v_metrics where run_id = $1", [prun])).rows[0].n);
    const deadlocks = errors.filter((c) => c === "40P01").length;
    rows.push({
      name: "16 parallel loggers of one run",
      value: stored / (elapsed / 1000),
      unit: "pt/s",
      note: `${stored} points stored (${16 * BATCHES * 1000} sent, half shared), ${errors.length} errors, ${deadlocks} deadlocks (must be 0) in ${(elapsed / 1000).toFixed(1)} s`,
    });
    rows.push({ name: "  their errors, deadlocks included (must be 0)", value: errors.length, unit: "", target: 1 });
    log(`parallel: ${stored} points in ${elapsed.toFixed(0)} ms, ${errors.length} errors, ${deadlocks} deadlocks`);
    return rows;
  } finally {
    for (const c of clients) await c.end().catch(() => {});
    await cluster?.stop();
  }
}

function formatRows(rows: BenchRow[]): string {
  const w = Math.max(...rows.map((r) => r.name.length));
  return rows
    .map((r) => {
      const digits = r.unit === "ms" ? (r.value < 10 ? 2 : 1) : 0;
      const target =
        r.target === undefined ? "" : `  (target < ${r.target}${r.unit ? ` ${r.unit}` : ""}: ${r.value < r.target ? "met" : "MISSED"})`;
      return `${r.name.padEnd(w)}  ${r.value.toFixed(digits).padStart(10)} ${r.unit.padEnd(4)}${target}${r.note ? `\n${"".padEnd(w + 2)}  ${r.note}` : ""}`;
    })
    .join("\n");
}

/** Plans of the statements the functions run (auto_explain), as NOTICEs on the console. */
async function explainOn(db: Db): Promise<void> {
  db.on("notice", (n) => {
    if (n.message?.includes("Query Text")) console.log(n.message);
  });
  await db.query("load 'auto_explain'");
  await db.query("set auto_explain.log_min_duration = 0");
  await db.query("set auto_explain.log_analyze = on");
  await db.query("set auto_explain.log_buffers = on");
  await db.query("set auto_explain.log_nested_statements = on");
  await db.query("set auto_explain.log_level = 'notice'");
  await db.query("set client_min_messages = notice");
}

async function main(argv: string[]): Promise<void> {
  const opts: LineageBenchOptions = { log: (s) => console.error(s) };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--runs") opts.runs = Number(argv[++i]);
    else if (argv[i] === "--explain") opts.explain = true;
    else if (argv[i] === "--database-url") opts.databaseUrl = argv[++i];
    else throw new Error("usage: bench/lineage.ts [--runs 21] [--explain] [--database-url URL]");
  }
  const started = performance.now();
  const rows = await benchLineage(opts);
  console.log(`Strata lineage benchmark${quick ? " (BENCH_QUICK=1: a tenth of the graph)" : ""}`);
  console.log(formatRows(rows));
  console.log(`(whole run ${((performance.now() - started) / 1000).toFixed(0)} s; times are medians of ${opts.runs ?? 21} warm runs)`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
