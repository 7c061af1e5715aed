// Runs from the Node side: start (inputs pinned to versions), log metrics, finish, list,
// show, compare, and checkout: every input version of a run written to DIR/<role>/<dataset>
// through the same checkout as data, which is what "reproducible" means to a user.

import { join } from "node:path";
import { type CheckoutOptions, type CheckoutResult, checkoutSnapshot } from "../checkout/index.js";
import { StrataError } from "../errors.js";
import type { Session } from "../session.js";
import { version as findVersion } from "../versions.js";

export type RunStatus = "running" | "succeeded" | "failed" | "killed";

export interface RunInput {
  role: string;
  dataset: string;
  tag: string;
  versionId: number;
}

export interface RunInfo {
  runId: string;
  name: string;
  status: RunStatus;
  params: Record<string, unknown>;
  /** Final metrics (each logged metric at its last step, and those given at finish). */
  metrics: Record<string, number>;
  inputs: RunInput[];
  codeRef: string | null;
  author: string;
  startedAt: Date;
  endedAt: Date | null;
}

export interface StartOptions {
  /** role -> "dataset@tag" (a dataset alone: its latest version, pinned now), or a list of them. */
  inputs?: Record<string, string | string[]>;
  params?: Record<string, unknown>;
  codeRef?: string;
}

export interface MetricPoint {
  name: string;
  step: number;
  value: number;
}

function runInfo(r: Record<string, unknown>): RunInfo {
  return {
    runId: r.run_id as string,
    name: r.name as string,
    status: r.status as RunStatus,
    params: r.params as Record<string, unknown>,
    metrics: r.metrics as Record<string, number>,
    inputs: (r.inputs as { role: string; dataset: string; tag: string; version_id: number }[]).map((i) => ({
      role: i.role,
      dataset: i.dataset,
      tag: i.tag,
      versionId: i.version_id,
    })),
    codeRef: r.code_ref as string | null,
    author: r.author as string,
    startedAt: r.started_at as Date,
    endedAt: r.ended_at as Date | null,
  };
}

const FULL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A run id as given: a full UUID, or a unique prefix of one (at least 8 characters). */
export async function resolveRunId(s: Session, run: string): Promise<string> {
  if (FULL_UUID.test(run) || !/^[0-9a-f-]{8,35}$/i.test(run)) return run; // the database checks it
  const rows = await s.query<{ id: string }>("select run_id::text as id from strata.v_runs where run_id::text like $1 || '%' limit 2", [
    run.toLowerCase(),
  ]);
  if (rows.length === 0) throw new StrataError(`there is no run ${run}`, "notFound", { code: "ST020" });
  if (rows.length > 1) throw new StrataError(`${run} is the start of more than one run id: give more of it`, "usage");
  return rows[0]!.id;
}

export async function startRun(s: Session, name: string, opts: StartOptions = {}): Promise<string> {
  const [r] = await s.query<{ id: string }>("select strata.start_experiment($1, $2::jsonb, $3::jsonb, $4)::text as id", [
    name,
    opts.inputs === undefined ? null : JSON.stringify(opts.inputs),
    opts.params === undefined ? null : JSON.stringify(opts.params),
    opts.codeRef ?? null,
  ]);
  return r!.id;
}

/** Metrics as JSON text: given as text, kept exactly (jsonb keeps every digit). */
export type MetricsArg = Record<string, number> | MetricPoint[] | string;

const jsonText = (m: MetricsArg): string => (typeof m === "string" ? m : JSON.stringify(m));

/** Log {name: value} at `step` (0 by default), or a batch of points. Returns how many were new. */
export async function logMetrics(s: Session, run: string, metrics: MetricsArg, step?: number): Promise<number> {
  const [r] = await s.query<{ n: number }>("select strata.log_metrics($1, $2::jsonb, $3) as n", [
    await resolveRunId(s, run),
    jsonText(metrics),
    step ?? null,
  ]);
  return r!.n;
}

export async function finishRun(
  s: Session,
  run: string,
  status: Exclude<RunStatus, "running">,
  metrics?: Record<string, number> | string,
): Promise<RunInfo> {
  const rows = await s.query<Record<string, unknown>>("select * from strata.finish_experiment($1, $2, $3::jsonb)", [
    await resolveRunId(s, run),
    status,
    metrics === undefined ? null : jsonText(metrics),
  ]);
  return runInfo(rows[0]!);
}

export async function run(s: Session, runId: string): Promise<RunInfo> {
  const rows = await s.query<Record<string, unknown>>("select * from strata.run($1)", [await resolveRunId(s, runId)]);
  return runInfo(rows[0]!);
}

/** Runs, newest first; `name` and `status` filter. */
export async function runs(s: Session, opts: { name?: string; status?: RunStatus; limit?: number } = {}): Promise<RunInfo[]> {
  const rows = await s.query<Record<string, unknown>>(
    `select * from strata.v_runs where ($1::text is null or name = $1) and ($2::text is null or status = $2)
     order by started_at desc, id desc limit $3`,
    [opts.name ?? null, opts.status ?? null, opts.limit ?? 1000],
  );
  return rows.map(runInfo);
}

/** Every point a run logged, by name and step. */
export async function metricPoints(s: Session, runId: string): Promise<(MetricPoint & { recordedAt: Date })[]> {
  const id = (await run(s, runId)).runId;
  const rows = await s.query<{ name: string; step: string; value: number; recorded_at: Date }>(
    "select name, step, value, recorded_at from strata.v_metrics where run_id = $1::uuid order by name, step",
    [id],
  );
  return rows.map((r) => ({ name: r.name, step: Number(r.step), value: r.value, recordedAt: r.recorded_at }));
}

export interface Comparison {
  runs: RunInfo[];
  /** Every param and final metric name any of the runs has, sorted. */
  params: string[];
  metrics: string[];
}

/** Runs side by side: their params and final metrics. */
export async function compareRuns(s: Session, runIds: string[]): Promise<Comparison> {
  const list: RunInfo[] = [];
  for (const id of runIds) list.push(await run(s, id));
  const keys = (f: (r: RunInfo) => object) => [...new Set(list.flatMap((r) => Object.keys(f(r))))].sort();
  return { runs: list, params: keys((r) => r.params), metrics: keys((r) => r.metrics) };
}

export interface RunCheckout {
  runId: string;
  inputs: (RunInput & { dir: string; result: CheckoutResult })[];
}

/** Check out every input version of a run into DIR/<role>/<dataset>, verified; a second run switches each. */
export async function checkoutRun(s: Session, runId: string, dir: string, opts: CheckoutOptions = {}): Promise<RunCheckout> {
  await s.checkStore();
  const r = await run(s, runId);
  const out: RunCheckout = { runId: r.runId, inputs: [] };
  for (const input of r.inputs) {
    const v = await findVersion(s, { dataset: input.dataset, tag: input.tag });
    if (v.id !== input.versionId) throw new StrataError(`${input.dataset}@${input.tag} is not the version the run read`, "conflict");
    const target = join(dir, input.role, input.dataset);
    out.inputs.push({ ...input, dir: target, result: await checkoutSnapshot(s, v, target, opts) });
  }
  return out;
}
