import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { StrataError } from "../../errors.js";
import type { RunInfo, RunStatus } from "../../strata.js";
import { withStrata } from "../context.js";
import { formatBytes, formatTime, printJson, printTable, say, warn } from "../output.js";
import { collect } from "./push.js";

const JSON_NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;

/** NAME=VALUE pairs as a JSON object's text: numbers kept exactly as typed, anything else sent as a string (which the database refuses, ST031). */
export function metricsJson(pairs: string[]): string {
  const parts = pairs.map((p) => {
    const eq = p.lastIndexOf("=");
    if (eq <= 0) throw new StrataError(`"${p}" is not NAME=VALUE`, "usage");
    const value = p.slice(eq + 1);
    return `${JSON.stringify(p.slice(0, eq))}: ${JSON_NUMBER.test(value) ? value : JSON.stringify(value)}`;
  });
  return `{${parts.join(", ")}}`;
}

/** ROLE=NAME@TAG pairs as {role: [refs]}. */
function inputsOf(pairs: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const p of pairs) {
    const eq = p.indexOf("=");
    if (eq <= 0) throw new StrataError(`--input "${p}" is not ROLE=NAME@TAG`, "usage");
    const role = p.slice(0, eq);
    out[role] = [...(out[role] ?? []), p.slice(eq + 1)];
  }
  return out;
}

function jsonObject(text: string, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new StrataError(`${what} is not valid JSON`, "usage");
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new StrataError(`${what} must be a JSON object`, "usage");
  return v as Record<string, unknown>;
}

/** The text of --batch FILE ("-": standard input). */
function readBatch(file: string): string {
  try {
    return readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (e) {
    throw new StrataError(`cannot read --batch ${file}: ${(e as Error).message}`, "usage", { cause: e });
  }
}

function stepOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[0-9]{1,15}$/.test(text)) throw new StrataError(`--step must be a whole number from 0, got "${text}"`, "usage");
  return Number(text);
}

function value(v: unknown): string {
  return v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v);
}

function showRun(r: RunInfo): void {
  say(`run ${r.runId}  ${r.name}  ${r.status}`);
  say(`started ${formatTime(r.startedAt)}${r.endedAt ? `, ended ${formatTime(r.endedAt)}` : ""} by ${r.author}`);
  if (r.codeRef !== null) say(`code ${r.codeRef}`);
  for (const i of r.inputs) say(`input ${i.role}: ${i.dataset}@${i.tag}`);
  for (const [k, v] of Object.entries(r.params)) say(`param ${k} = ${value(v)}`);
  for (const [k, v] of Object.entries(r.metrics)) say(`metric ${k} = ${value(v)}`);
}

export function register(program: Command): void {
  const exp = program.command("exp").description("experiments (runs): start, log metrics, finish, list, show, compare, check out inputs");

  exp
    .command("start")
    .argument("<name>", "the run's name (its job name in OpenLineage)")
    .option("--input <role=ref>", "an input, ROLE=NAME@TAG (NAME alone: its latest version, pinned now); repeatable", collect, [])
    .option("--params <json>", "parameters, a JSON object")
    .option("--code-ref <ref>", "the code it runs, e.g. a git commit")
    .option("--json", "print JSON for scripts")
    .description("start a run on pinned dataset versions; prints its id")
    .action(async (name: string, opts: { input: string[]; params?: string; codeRef?: string; json?: boolean }) => {
      const params = opts.params === undefined ? undefined : jsonObject(opts.params, "--params");
      const id = await withStrata((s) => s.startRun(name, { inputs: inputsOf(opts.input), params, codeRef: opts.codeRef }));
      if (opts.json) return printJson({ runId: id });
      say(id);
    });

  exp
    .command("log")
    .argument("<run>", "run id (or a unique start of it)")
    .argument("[metrics...]", "NAME=VALUE pairs")
    .option("--step <n>", "the step of the NAME=VALUE pairs (default 0)")
    .option("--batch <file>", 'a JSON array of {"name", "step", "value"} ("-": standard input)')
    .option("--json", "print JSON for scripts")
    .description("log metric points of a running run; every step is kept")
    .action(async (run: string, pairs: string[], opts: { step?: string; batch?: string; json?: boolean }) => {
      if ((pairs.length === 0) === (opts.batch === undefined)) throw new StrataError("give NAME=VALUE pairs or --batch FILE", "usage");
      const metrics = opts.batch !== undefined ? readBatch(opts.batch) : metricsJson(pairs);
      const n = await withStrata((s) => s.logMetrics(run, metrics, stepOf(opts.step)));
      if (opts.json) return printJson({ added: n });
      say(`${n} points logged`);
    });

  exp
    .command("finish")
    .argument("<run>", "run id (or a unique start of it)")
    .argument("[metrics...]", "final NAME=VALUE pairs")
    .option("--status <status>", "succeeded, failed or killed", "succeeded")
    .option("--json", "print JSON for scripts")
    .description("finish a running run: succeeded, failed or killed (once)")
    .action(async (run: string, pairs: string[], opts: { status: string; json?: boolean }) => {
      const r = await withStrata((s) =>
        s.finishRun(run, opts.status as Exclude<RunStatus, "running">, pairs.length > 0 ? metricsJson(pairs) : undefined),
      );
      if (opts.json) return printJson(r);
      say(`run ${r.runId} ${r.status}`);
    });

  exp
    .command("list")
    .option("--name <name>", "only runs of this name")
    .option("--status <status>", "only runs in this status")
    .option("--json", "print JSON for scripts")
    .description("runs, newest first")
    .action(async (opts: { name?: string; status?: RunStatus; json?: boolean }) => {
      const runs = await withStrata((s) => s.runs({ name: opts.name, status: opts.status }));
      if (opts.json) return printJson(runs);
      printTable(
        ["RUN", "NAME", "STATUS", "STARTED", "INPUTS", "METRICS"],
        runs.map((r) => [
          r.runId,
          r.name,
          r.status,
          formatTime(r.startedAt),
          r.inputs.map((i) => `${i.role}=${i.dataset}@${i.tag}`).join(", "),
          Object.entries(r.metrics)
            .map(([k, v]) => `${k}=${v}`)
            .join(", "),
        ]),
      );
    });

  exp
    .command("show")
    .argument("<run>", "run id (or a unique start of it)")
    .option("--points", "every metric point, not only the final metrics")
    .option("--json", "print JSON for scripts")
    .description("one run: inputs, params, final metrics (and every point)")
    .action(async (run: string, opts: { points?: boolean; json?: boolean }) => {
      const [r, points] = await withStrata(async (s) => [await s.run(run), opts.points ? await s.metricPoints(run) : undefined] as const);
      if (opts.json) return printJson(points === undefined ? r : { ...r, points });
      showRun(r);
      if (points !== undefined)
        printTable(
          ["METRIC", "STEP", "VALUE"],
          points.map((p) => [p.name, String(p.step), String(p.value)]),
          new Set(["STEP", "VALUE"]),
        );
    });

  exp
    .command("compare")
    .argument("<runs...>", "two or more run ids")
    .option("--json", "print JSON for scripts")
    .description("runs side by side: params and final metrics")
    .action(async (runs: string[], opts: { json?: boolean }) => {
      const c = await withStrata((s) => s.compareRuns(runs));
      if (opts.json) return printJson(c);
      printTable(
        ["", ...c.runs.map((r) => `${r.name} ${r.runId.slice(0, 8)}`)],
        [
          ["status", ...c.runs.map((r) => r.status)],
          ["inputs", ...c.runs.map((r) => r.inputs.map((i) => `${i.role}=${i.dataset}@${i.tag}`).join(", "))],
          ...c.params.map((k) => [`param ${k}`, ...c.runs.map((r) => value(r.params[k]))]),
          ...c.metrics.map((k) => [`metric ${k}`, ...c.runs.map((r) => value(r.metrics[k]))]),
        ],
      );
    });

  exp
    .command("checkout")
    .argument("<run>", "run id (or a unique start of it)")
    .argument("<dir>", "folder: each input goes to DIR/<role>/<dataset>")
    .option("--force", "overwrite files changed here (they are listed)")
    .option("--json", "print JSON for scripts")
    .description("check out every input version of a run, verified: the data it was trained and evaluated on")
    .action(async (run: string, dir: string, opts: { force?: boolean; json?: boolean }) => {
      const r = await withStrata((s) => s.checkoutRun(run, dir, { force: opts.force }));
      if (opts.json) return printJson(r);
      for (const i of r.inputs)
        say(
          `${i.role}: ${i.dataset}@${i.tag} in ${i.dir}: ${i.result.filesWritten} files written (${formatBytes(i.result.bytesWritten)}), ${i.result.filesUnchanged} unchanged, ${i.result.filesDeleted} deleted`,
        );
      for (const i of r.inputs) for (const p of i.result.overwritten) warn(`overwrote ${i.dir}/${p} (--force)`);
    });
}
