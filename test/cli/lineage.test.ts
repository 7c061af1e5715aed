// The whole story through the built command: push raw data, derive a cleaned version
// with --from, start a run on it, log metrics, finish, push the model, promote it,
// promote a second one with a 90/10 split, roll back, check the run's inputs out and
// compare byte for byte, ask impact and versions_containing from the raw file; the
// lineage as OpenLineage RunEvents checked field by field against the spec (2-0-2).

import { readFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { cliSession, strata } from "../helpers/cli.js";
import { bytes, openTestStrata, tempDir, writeTree } from "../helpers/strata.js";

type Json = Record<string, unknown>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// RFC 3339 date-time, as JSON Schema's "date-time" format means it.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
// RFC 3986: a scheme, a colon, and no spaces (what "format": "uri" asks).
const URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$/;

/**
 * Every required field and type of an OpenLineage RunEvent (spec/OpenLineage.json 2-0-2:
 * BaseEvent requires eventTime (date-time), producer and schemaURL (uri); RunEvent
 * requires run (runId, a uuid) and job (namespace, name); eventType is one of its enum;
 * inputs and outputs are arrays of datasets (namespace, name) whose facets are objects
 * with _producer and _schemaURL (uri); the DatasetVersionDatasetFacet requires
 * datasetVersion, a string). Returns the problems found.
 */
function runEventProblems(e: Json): string[] {
  const p: string[] = [];
  const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
  const str = (v: unknown, what: string, re?: RegExp) => {
    if (typeof v !== "string") p.push(`${what} is not a string`);
    else if (re && !re.test(v)) p.push(`${what} is not of its format: ${v}`);
  };
  str(e.eventTime, "eventTime", DATE_TIME);
  str(e.producer, "producer", URI);
  str(e.schemaURL, "schemaURL", URI);
  if (!["START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"].includes(e.eventType as string)) p.push(`eventType ${e.eventType}`);
  if (!isObject(e.run)) p.push("run is not an object");
  else {
    str(e.run.runId, "run.runId", UUID);
    if (e.run.facets !== undefined && !isObject(e.run.facets)) p.push("run.facets is not an object");
  }
  if (!isObject(e.job)) p.push("job is not an object");
  else {
    str(e.job.namespace, "job.namespace");
    str(e.job.name, "job.name");
  }
  for (const side of ["inputs", "outputs"] as const) {
    const list = e[side];
    if (list === undefined) continue;
    if (!Array.isArray(list)) {
      p.push(`${side} is not an array`);
      continue;
    }
    for (const [i, d] of (list as unknown[]).entries()) {
      const at = `${side}[${i}]`;
      if (!isObject(d)) {
        p.push(`${at} is not an object`);
        continue;
      }
      str(d.namespace, `${at}.namespace`);
      str(d.name, `${at}.name`);
      if (d.facets === undefined) continue;
      if (!isObject(d.facets)) {
        p.push(`${at}.facets is not an object`);
        continue;
      }
      for (const [k, f] of Object.entries(d.facets)) {
        if (!isObject(f)) {
          p.push(`${at}.facets.${k} is not an object`);
          continue;
        }
        str(f._producer, `${at}.facets.${k}._producer`, URI);
        str(f._schemaURL, `${at}.facets.${k}._schemaURL`, URI);
        if (k === "version") str(f.datasetVersion, `${at}.facets.version.datasetVersion`);
      }
    }
  }
  return p;
}

t.test("raw data to a deployed model and back, through the CLI", async (t) => {
  const s = await openTestStrata(t);
  const env = s.env;
  // Commands that read stdin are processes of their own; the others run in one CLI process.
  const cli = cliSession(t);
  const run = async (args: string[], input?: string) => {
    const r = input === undefined ? await cli(args, env) : await strata(args, env, input);
    if (r.code !== 0) t.fail(`strata ${args.join(" ")}: exit ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  const json = async (args: string[], input?: string) => JSON.parse(await run([...args, "--json"], input));

  const labels = "id,label\n1,cat\n2,dog\n";
  const raw = tempDir(t);
  writeTree(raw, { "labels.csv": labels, "img/1.jpg": bytes(50_000, 1), "img/2.jpg": bytes(50_000, 2) });
  await run(["push", raw, "--dataset", "raw"]);
  const clean = tempDir(t);
  writeTree(clean, { "labels.csv": labels, "img/1.jpg": bytes(50_000, 1) });
  const pushed = await json(["push", clean, "--dataset", "clean", "--from", "raw@v1"]);
  t.equal(pushed.version.tag, "v1");

  const id = (
    await run(["exp", "start", "fraud-train", "--input", "train=clean@v1", "--params", '{"lr": 0.1}', "--code-ref", "abc"])
  ).trim();
  t.match(id, UUID);
  t.equal((await json(["exp", "log", id, "loss=0.5", "acc=0.75", "--step", "1"])).added, 2);
  const batch = JSON.stringify(Array.from({ length: 100 }, (_, i) => ({ name: "loss", step: i + 2, value: 0.5 / (i + 2) })));
  t.equal((await json(["exp", "log", id.slice(0, 8), "--batch", "-"], batch)).added, 100, "a batch from stdin, the run by a unique start");
  const nan = await cli(["exp", "log", id, "loss=NaN"], env);
  t.equal(nan.code, 2, "NaN is refused");
  t.match(nan.stderr, /not a number \(NaN and infinities are refused\)/);
  const done = await json(["exp", "finish", id, "--status", "succeeded", "auc=0.91"]);
  t.same(done.metrics, { loss: 0.5 / 101, acc: 0.75, auc: 0.91 });
  const late = await cli(["exp", "log", id, "loss=1"], env);
  t.equal(late.code, 4, "a finished run takes no metrics");
  t.match(late.stderr, /ST025|has succeeded/);
  t.equal((await cli(["exp", "finish", id, "--status", "failed"], env)).code, 4, "nor a second status move");
  t.equal((await cli(["exp", "log", "00000000-0000-0000-0000-000000000000", "x=1"], env)).code, 3, "an unknown run");

  const m1 = tempDir(t);
  writeTree(m1, { "weights.bin": bytes(300_000, 10), "config.json": "{}" });
  t.equal((await json(["model", "push", m1, "--model", "fraud", "--run", id])).modelVersion.node, "model:fraud/1");
  await run(["model", "alias", "fraud", "production", "1"]);
  const m2 = tempDir(t);
  writeTree(m2, { "weights.bin": bytes(300_000, 11), "config.json": "{}" });
  t.equal((await json(["model", "push", m2, "--model", "fraud", "--run", id])).modelVersion.version, 2);
  const split = await json(["model", "alias", "fraud", "production", "1=0.9,2=0.1"]);
  t.same(
    split.map((x: Json) => [x.version, x.weight]),
    [
      [1, "0.9"],
      [2, "0.1"],
    ],
  );
  t.equal((await cli(["model", "alias", "fraud", "production", "1=0.9,2=0.2"], env)).code, 2, "weights must sum to 1");
  const keyed = await run(["model", "resolve", "fraud@production", "--key", "user-1"]);
  t.equal(await run(["model", "resolve", "fraud@production", "--key", "user-1"]), keyed, "one key, one version");
  const deploy = tempDir(t);
  await run(["model", "checkout", "fraud@production", deploy]);
  t.same(readFileSync(join(deploy, "weights.bin")), bytes(300_000, 10), "the primary target is deployed");
  const back = await json(["model", "rollback", "fraud", "production"]);
  t.same(
    back.map((x: Json) => x.version),
    [1],
  );
  const history = await json(["model", "history", "fraud", "production"]);
  t.same(
    history.map((h: Json) => h.action),
    ["set", "set", "rollback"],
  );
  await run(["model", "alias", "fraud", "production", "2"]);
  const promoted = await json(["model", "checkout", "fraud@production", deploy]);
  t.equal(promoted.filesWritten, 1, "a promotion rewrites the changed file only");
  t.same(readFileSync(join(deploy, "weights.bin")), bytes(300_000, 11));

  const out = tempDir(t);
  await run(["exp", "checkout", id, out]);
  for (const f of ["labels.csv", "img/1.jpg"])
    t.same(readFileSync(join(out, "train/clean", f)), readFileSync(join(clean, f)), `the run's input ${f}, byte for byte`);

  const contains = await json(["contains", "raw@v1", "labels.csv"]);
  t.same(
    contains.map((c: Json) => c.node),
    ["dataset:clean@v1", "dataset:raw@v1"],
  );
  const impact = await json(["impact", "raw@v1", "--file", "labels.csv"]);
  t.same(
    impact.map((r: Json) => `${r.kind} ${r.node}`),
    [
      "alias alias:fraud@production",
      "dataset_version dataset:clean@v1",
      "dataset_version dataset:raw@v1",
      "model_version model:fraud/1",
      "model_version model:fraud/2",
      `run run:${id}`,
    ],
    "which models saw the labels, and which alias serves one now",
  );
  const human = await run(["impact", "raw@v1"]);
  t.match(human, /model:fraud\/2/);

  const shown = await run(["exp", "show", id]);
  t.match(shown, /input train: clean@v1/);
  t.match(shown, /metric auc = 0.91/);
  const list = await json(["exp", "list"]);
  t.equal(list.length, 1);
  const id2 = (await run(["exp", "start", "fraud-train", "--input", "train=raw@v1", "--params", '{"lr": 0.2}'])).trim();
  await run(["exp", "finish", id2, "--status", "killed"]);
  const cmp = await run(["exp", "compare", id, id2]);
  t.match(cmp, /param lr\s+0.1\s+0.2/);

  // Lineage in every format.
  const graph = await json(["lineage", "model:fraud/1", "--up"]);
  t.same(
    graph.nodes.map((n: Json) => n.node),
    ["model:fraud/1", `run:${id}`, "dataset:clean@v1", "dataset:raw@v1"],
  );
  t.match(await run(["lineage", "model:fraud/1", "--up", "--format", "dot"]), /^digraph lineage \{/);
  t.match(await run(["lineage", "model:fraud/1", "--up", "--format", "mermaid"]), /^flowchart BT\n/);
  t.match(await run(["lineage", "raw@v1", "--down", "--depth", "1"]), /dataset:clean@v1/);
  t.equal((await cli(["lineage", "raw@v1", "--depth", "-1"], env)).code, 2, "a negative depth");
  t.equal((await cli(["lineage", "raw@v1", "--depth", "100000"], env)).code, 2, "a huge depth");
  t.equal((await cli(["lineage", "model:nope/1"], env)).code, 3, "an unknown node");
  t.equal((await cli(["edge", "add", "raw@v1", "derived_from", "clean@v1"], env)).code, 2, "a cyclic edge");

  const events = (await run(["lineage", "raw@v1", "--down", "--format", "openlineage"]))
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Json);
  t.same(
    events.map((e) => `${e.eventType} ${(e.run as Json).runId}`),
    [`START ${id}`, `COMPLETE ${id}`, `START ${id2}`, `ABORT ${id2}`],
    "a START and its terminal event per run",
  );
  for (const e of events) t.same(runEventProblems(e), [], `${e.eventType} conforms to the RunEvent schema`);
  const complete = events[1]!;
  t.same(complete.job, { namespace: "strata", name: "fraud-train" });
  t.same(
    (complete.inputs as Json[]).map((d) => [d.name, ((d.facets as Json).version as Json).datasetVersion]),
    [["clean", "v1"]],
  );
  t.same(
    (complete.outputs as Json[]).map((d) => [d.name, ((d.facets as Json).version as Json).datasetVersion]),
    [
      ["models/fraud", "1"],
      ["models/fraud", "2"],
    ],
  );
  t.same(runEventProblems({ ...complete, run: { runId: "42" }, producer: "not a uri" }).length, 2, "the checks can fail");
});
