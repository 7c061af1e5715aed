// Experiments (runs): start pins every input to a version id and records the lineage
// edges run --trained_on / evaluated_on / used--> version; metrics are points (name,
// step, value), every step kept, appended in batches; finish moves the status once,
// running -> succeeded | failed | killed, and keeps the final metrics (each logged
// metric's value at its last step, overridden by those finish is given).
//
// A run's status, end and final metrics are its mutable state (strata.experiments is not
// a history table); its inputs and metric points are history (append-only, guarded).
//
// Metric batches are checked and written as sets, in one statement: the points typed
// once, the first malformed one found, and only when there is none, the insert. Every
// logger holds the run's row FOR SHARE, which finish (an update) waits for, so no point
// lands in a finished run. A logger alone on the run (it gets the run's advisory lock
// exclusively) inserts an appending batch (every step after the metric's last) plainly;
// loggers side by side share the lock and insert in (name, step) order with ON CONFLICT
// DO NOTHING, so they take index entries in one order and cannot deadlock (a logger
// waiting on a key holds only smaller keys). A point sent twice with the same value is a
// no-op (a retried batch); another value at a logged step is refused (ST026).

import { emitQuery, queryOne, query, raise, type SqlJson } from "./host";
import { checkName, splitRef } from "./names";
import { findVersion } from "./versions";

export interface RunRow {
  id: number;
  run_id: string;
  name: string;
  status: string;
}

const HEX = "0123456789abcdef";

/** A run id as text: a UUID (8-4-4-4-12 hex digits), lower-cased; ST008 otherwise. */
export function checkRunId(run: string | undefined): string {
  if (run === undefined) return raise("invalidArgument", "a run id must not be null");
  const r = run.toLowerCase();
  let ok = r.length === 36;
  for (let i = 0; ok && i < 36; i++) {
    const c = r.charAt(i);
    ok = i === 8 || i === 13 || i === 18 || i === 23 ? c === "-" : HEX.includes(c);
  }
  if (!ok)
    return raise(
      "invalidArgument",
      `"${run.length > 80 ? `${run.slice(0, 80)}...` : run}" is not a run id`,
      undefined,
      "runs are named by their UUID (strata exp list)",
    );
  return r;
}

/** The run `run` (a UUID); `lock` takes its row for share (loggers) or update (finish). */
export function findRun(run: string | undefined, lock?: "share" | "update"): RunRow {
  const id = checkRunId(run);
  const sql = `select id, run_id::text as run_id, name, status from strata.experiments where run_id = $1::uuid${lock === undefined ? "" : ` for ${lock}`}`;
  const r = queryOne<RunRow>(sql, ["text"], id);
  if (r === undefined) return raise("unknownRun", `there is no run ${id}`);
  return r;
}

/** The relation of a run to an input by its role. */
function relationOf(role: string): string {
  const r = role.toLowerCase();
  if (r === "train" || r === "training") return "trained_on";
  if (["eval", "evaluation", "test", "val", "validation", "holdout"].includes(r)) return "evaluated_on";
  return "used";
}

const MAX_INPUTS = 1000;

/**
 * strata.start_experiment: a new running run named `name` (the naming rule), its inputs
 * ({"train": "clean@v1", "eval": ["holdout@v2", "extra"]}: role -> dataset@tag, or a
 * list of them; a dataset without a tag is its latest version, pinned now), params (a
 * JSON object) and code_ref (e.g. a git commit). Returns the run's UUID.
 */
export function startExperiment(
  name: string | undefined,
  inputs: SqlJson | undefined,
  params: SqlJson | undefined,
  codeRef: string | undefined,
): string {
  checkName("run", name);
  if (params !== undefined && queryOne<{ t: string }>("select jsonb_typeof($1) as t", ["jsonb"], params)!.t !== "object")
    raise("invalidArgument", "params must be a JSON object");
  const pinned: { role: string; versionId: number; datasetId: number; ref: string }[] = [];
  if (inputs !== undefined) {
    if (queryOne<{ t: string }>("select jsonb_typeof($1) as t", ["jsonb"], inputs)!.t !== "object")
      raise("invalidArgument", 'inputs must be a JSON object of role -> "dataset@tag" or a list of them');
    const rows = query<{ role: string; t: string; ref: string | undefined }>(
      `select r.key as role, jsonb_typeof(coalesce(x.value, r.value)) as t, coalesce(x.value, r.value) #>> '{}' as ref
       from jsonb_each($1) r
       left join lateral jsonb_array_elements(case when jsonb_typeof(r.value) = 'array' then r.value end) x on true
       order by r.key, x.value #>> '{}'`,
      ["jsonb"],
      inputs,
    );
    if (rows.length > MAX_INPUTS) raise("invalidArgument", `a run reads at most ${MAX_INPUTS} inputs, got ${rows.length}`);
    for (const r of rows) {
      checkName("role", r.role);
      if (r.t !== "string" || r.ref === undefined) raise("invalidArgument", `input of role ${r.role}: give "dataset@tag" as a string`);
      const [dataset, tag] = splitRef(r.ref!);
      const v = findVersion(dataset, tag);
      if (pinned.some((p) => p.role === r.role && p.datasetId === v.dataset_id))
        raise(
          "invalidArgument",
          `role ${r.role} names dataset ${dataset} twice`,
          undefined,
          "a checkout puts each at DIR/<role>/<dataset>",
        );
      pinned.push({ role: r.role, versionId: v.id, datasetId: v.dataset_id, ref: r.ref! });
    }
  }
  const run = queryOne<{ id: number; run_id: string }>(
    `insert into strata.experiments (name, params, code_ref) values ($1, coalesce($2, '{}'::jsonb), $3)
     returning id, run_id::text as run_id`,
    ["text", "jsonb", "text"],
    name,
    params,
    codeRef,
  )!;
  for (const p of pinned) {
    query(
      "insert into strata.experiment_inputs (experiment_id, version_id, role) values ($1, $2, $3)",
      ["bigint", "bigint", "text"],
      run.id,
      p.versionId,
      p.role,
    );
    query(
      `insert into strata.lineage_edges (source_kind, source_id, relation, target_kind, target_id)
       values ('experiment', $1, $3, 'dataset_version', $2) on conflict do nothing`,
      ["bigint", "bigint", "text"],
      run.id,
      p.versionId,
      relationOf(p.role),
    );
  }
  return run.run_id;
}

/** The first key of the advisory locks loggers of a run take (the second: the run's id). */
const RUN_LOCK_CLASS = 72460019;

/** Most points in one call. */
const MAX_POINTS = 1_000_000;

// The points of a metrics argument $1: an object {name: value} at step $2 (0 when null),
// or an array of {name, step, value} (step defaulting to $2, then 0). Columns are jsonb,
// checked by CHECK_POINTS before anything casts them.
const POINTS = `pts as (
  select t.ord, to_jsonb(t.k) as name_j, to_jsonb(coalesce($2::bigint, 0)) as step_j, t.v as value_j
  from jsonb_each(case when jsonb_typeof($1) = 'object' then $1 end) with ordinality as t(k, v, ord)
  union all
  select t.ord, t.e->'name', coalesce(t.e->'step', to_jsonb(coalesce($2::bigint, 0))), t.e->'value'
  from jsonb_array_elements(case when jsonb_typeof($1) = 'array' then $1 end) with ordinality as t(e, ord))`;

const CHECK_POINTS = `with ${POINTS},
checked as (
  select ord, name_j, case
    when jsonb_typeof(name_j) is distinct from 'string' then 'has no name (a string)'
    when not (name_j #>> '{}') ~ '^[A-Za-z0-9_][A-Za-z0-9_./:@-]{0,249}$'
      then 'the name must be 1-250 of letters, digits, _ . / : @ -, starting with a letter, digit or _'
    when jsonb_typeof(step_j) is distinct from 'number' then 'the step is not a number'
    when (step_j #>> '{}')::numeric < 0 or (step_j #>> '{}')::numeric > 9223372036854775807
      or (step_j #>> '{}')::numeric <> trunc((step_j #>> '{}')::numeric) then 'the step is not a whole number from 0'
    when jsonb_typeof(value_j) is distinct from 'number' then 'the value is not a number (NaN and infinities are refused)'
    when abs((value_j #>> '{}')::numeric) > 1.7976931348623157e308
      or ((value_j #>> '{}')::numeric <> 0 and abs((value_j #>> '{}')::numeric) < 2.2250738585072014e-308)
      then 'the value is out of the range of double precision'
  end as why
  from pts)
select jsonb_typeof($1) as t, (select count(*) from pts)::bigint as n,
       (select 'point ' || ord || ' (' || left(coalesce(name_j #>> '{}', '?'), 60) || '): ' || why
        from checked where why is not null order by ord limit 1) as why`;

/** Raise ST031 unless `metrics` is a well-formed set of points (of `shape`); returns their count. (Finish's check; log_metrics checks as it inserts.) */
function checkPoints(metrics: SqlJson | undefined, step: number | undefined, shape: "object" | "object or array"): number {
  if (metrics === undefined) return raise("invalidMetric", "metrics must not be null");
  const c = queryOne<{ t: string; n: number; why: string | undefined }>(CHECK_POINTS, ["jsonb", "bigint"], metrics, step)!;
  if (c.t !== "object" && (shape === "object" || c.t !== "array"))
    raise(
      "invalidMetric",
      shape === "object"
        ? 'metrics must be a JSON object {"name": value}'
        : 'metrics must be a JSON object {"name": value} or an array of {"name", "step", "value"}',
    );
  if (c.why !== undefined) raise("invalidMetric", c.why);
  if (c.n > MAX_POINTS) raise("invalidMetric", `at most ${MAX_POINTS} points per call, got ${c.n}`);
  return c.n;
}

// A batch in one statement: the points of $1 (an object at step $2, or an array), typed
// once; the first malformed one, if any; and, only when there is none, the insert, in
// (name, step) order. $3 is the run.
const LOG_POINTS = `with raw as (
  select t.ord, 'string'::text as nt, t.k as name, 'number'::text as st, coalesce($2::bigint, 0)::numeric as step,
         jsonb_typeof(t.v) as vt, t.v as v
  from jsonb_each(case when jsonb_typeof($1) = 'object' then $1 end) with ordinality as t(k, v, ord)
  union all
  select t.ord, jsonb_typeof(t.e->'name'), t.e->>'name', coalesce(jsonb_typeof(t.e->'step'), 'number'),
         case when jsonb_typeof(t.e->'step') = 'number' then (t.e->'step')::numeric
              when t.e->'step' is null then coalesce($2::bigint, 0) end,
         jsonb_typeof(t.e->'value'), t.e->'value'
  from jsonb_array_elements(case when jsonb_typeof($1) = 'array' then $1 end) with ordinality as t(e, ord)),
pts as materialized (select ord, nt, name, st, step, vt, case when vt = 'number' then v::numeric end as value from raw),
-- Names are checked once each (a batch repeats a few names many times).
bad_names as materialized (
  select name from (select name from pts where nt = 'string' group by name offset 0) d -- offset 0: group first, then match
  where not name ~ '^[A-Za-z0-9_][A-Za-z0-9_./:@-]{0,249}$'),
bad as materialized (
  select 'point ' || ord || ' (' || left(coalesce(name, '?'), 60) || '): ' || case
    when nt is distinct from 'string' then 'has no name (a string)'
    when name in (select name from bad_names)
      then 'the name must be 1-250 of letters, digits, _ . / : @ -, starting with a letter, digit or _'
    when st <> 'number' then 'the step is not a number'
    when step < 0 or step > 9223372036854775807 or step <> trunc(step) then 'the step is not a whole number from 0'
    when vt is distinct from 'number' then 'the value is not a number (NaN and infinities are refused)'
    else 'the value is out of the range of double precision' end as why
  from pts
  where nt is distinct from 'string' or name in (select name from bad_names) or st <> 'number'
     or step < 0 or step > 9223372036854775807 or step <> trunc(step) or vt is distinct from 'number'
     or abs(value) > 1.7976931348623157e308 or (value <> 0 and abs(value) < 2.2250738585072014e-308)
  order by ord limit 1),
ok as materialized (select not exists (select 1 from bad) as ok),
-- Appending: the logger is alone on the run ($4), every point comes after the run's last
-- logged step of its metric, and no (name, step) is twice in the batch. Then nothing can
-- conflict and a plain insert does; otherwise each point is inserted unless already there.
appending as materialized (
  select $4 and (select ok from ok)
     and not exists (
       select 1 from (select name, min(step) as lo from pts group by name) g
       where g.lo <= (select max(m.step) from strata.experiment_metrics m where m.experiment_id = $3 and m.name = g.name))
     and (select count(*) from pts) = (select count(*) from (select 1 from pts group by name, step) d) as yes),
ins_appended as (
  insert into strata.experiment_metrics (experiment_id, name, step, value)
  select $3, name, step::bigint, value::float8 from pts where (select yes from appending)
  returning 1),
ins_merged as (
  insert into strata.experiment_metrics (experiment_id, name, step, value)
  select $3, name, step::bigint, value::float8 from pts where (select ok from ok) and not (select yes from appending)
  order by name, step
  on conflict do nothing returning 1)
select jsonb_typeof($1) as t, (select count(*) from pts)::bigint as n, (select why from bad) as why,
       (select count(*) from ins_appended)::int + (select count(*) from ins_merged)::int as added`;

/**
 * strata.log_metrics: record metric points of a running run: {"loss": 0.3} at `step`, or
 * a batch [{"name", "step", "value"}, ...]. Returns how many points were new.
 */
export function logMetrics(run: string | undefined, metrics: SqlJson | undefined, step: number | undefined): number {
  if (step !== undefined && step < 0) raise("invalidMetric", `the step must be a whole number from 0, got ${step}`);
  if (metrics === undefined) return raise("invalidMetric", "metrics must not be null");
  const r = findRun(run, "share");
  if (r.status !== "running") raise("runFinished", `run ${r.run_id} has ${r.status}: it takes no more metrics`);
  // A logger alone on the run (it gets the run's lock exclusively) may insert an appending
  // batch plainly: nobody else inserts into the run meanwhile. Loggers side by side share
  // the lock and insert each point unless already there (sorted: no deadlock).
  const key = r.id % 2147483647;
  const alone = queryOne<{ got: boolean }>("select pg_try_advisory_xact_lock($1, $2) as got", ["int", "int"], RUN_LOCK_CLASS, key)!.got;
  if (!alone) queryOne("select pg_advisory_xact_lock_shared($1, $2) is not null as locked", ["int", "int"], RUN_LOCK_CLASS, key);
  const c = queryOne<{ t: string; n: number; why: string | undefined; added: number }>(
    LOG_POINTS,
    ["jsonb", "bigint", "bigint", "boolean"],
    metrics,
    step,
    r.id,
    alone,
  )!;
  if (c.t !== "object" && c.t !== "array")
    raise("invalidMetric", 'metrics must be a JSON object {"name": value} or an array of {"name", "step", "value"}');
  if (c.why !== undefined) raise("invalidMetric", c.why);
  if (c.n > MAX_POINTS) raise("invalidMetric", `at most ${MAX_POINTS} points per call, got ${c.n}`);
  if (c.added < c.n) {
    const clash = queryOne<{ name: string; step: number; had: number }>(
      `with ${POINTS}
       select m.name, m.step, m.value as had from pts p
       join strata.experiment_metrics m
         on m.experiment_id = $3 and m.name = p.name_j #>> '{}' and m.step = (p.step_j #>> '{}')::bigint
       where m.value <> (p.value_j #>> '{}')::float8 limit 1`,
      ["jsonb", "bigint", "bigint"],
      metrics,
      step,
      r.id,
    );
    if (clash !== undefined)
      raise("metricConflict", `metric ${clash.name.slice(0, 60)} of run ${r.run_id} already has value ${clash.had} at step ${clash.step}`);
  }
  return c.added;
}

const STATUSES = ["succeeded", "failed", "killed"];

/**
 * strata.finish_experiment: moves a running run to succeeded, failed or killed (once),
 * with its final metrics: each logged metric at its last step, then `metrics` ({"name":
 * value}) over them. Emits the run's v_runs row.
 */
export function finishExperiment(run: string | undefined, status: string | undefined, metrics: SqlJson | undefined): void {
  if (status === "running") raise("invalidStatusMove", "a run moves from running to succeeded, failed or killed, not back to running");
  if (status === undefined || !STATUSES.includes(status))
    raise(
      "invalidArgument",
      `a run finishes as succeeded, failed or killed, not ${status === undefined ? "null" : `"${status.slice(0, 40)}"`}`,
    );
  if (metrics !== undefined) checkPoints(metrics, undefined, "object");
  const r = findRun(run, "update");
  if (r.status !== "running") raise("invalidStatusMove", `run ${r.run_id} has ${r.status} already: its status does not move again`);
  query(
    `update strata.experiments x set status = $2, ended_at = now(),
       metrics = coalesce((select jsonb_object_agg(l.name, l.value)
                           from (select distinct on (m.name) m.name, m.value from strata.experiment_metrics m
                                 where m.experiment_id = x.id order by m.name, m.step desc) l), '{}'::jsonb)
                 || coalesce($3, '{}'::jsonb)
     where x.id = $1`,
    ["bigint", "text", "jsonb"],
    r.id,
    status,
    metrics,
  );
  emitQuery("select v as c from strata.v_runs v where v.run_id = $1::uuid", ["text"], r.run_id);
}

/** strata.run: one run, as a v_runs row. */
export function run(run: string | undefined): void {
  const r = findRun(run);
  emitQuery("select v as c from strata.v_runs v where v.run_id = $1::uuid", ["text"], r.run_id);
}
