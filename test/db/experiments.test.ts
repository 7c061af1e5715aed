// Runs through the SQL API: start pins inputs and records lineage, metrics keep every
// step (batches, retries, conflicts, NaN refused), finish moves the status once, and
// parallel loggers of one run neither deadlock nor lose a point.

import pg from "pg";
import t from "tap";
import { Sqlstate } from "../../stored/errors.js";
import { sqlstateOf } from "../helpers/db.js";
import { commitFiles, versionsDb } from "../helpers/versions.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function start(db: pg.Client, name: string, inputs: unknown = null, params: unknown = null): Promise<string> {
  const r = await db.query("select strata.start_experiment($1, $2::jsonb, $3::jsonb, 'abc123')::text as id", [
    name,
    inputs === null ? null : JSON.stringify(inputs),
    params === null ? null : JSON.stringify(params),
  ]);
  return r.rows[0].id as string;
}

const count = async (db: pg.Client, sql: string, params: unknown[] = []): Promise<number> =>
  Number((await db.query(sql, params)).rows[0].n);

t.test("start pins each input to a version and records trained_on / evaluated_on edges", async (t) => {
  const { session, db } = await versionsDb(t);
  await commitFiles(session, "clean", { "a.csv": "1" });
  await commitFiles(session, "clean", { "a.csv": "2" });
  await commitFiles(session, "holdout", { "h.csv": "h" }, { tag: "gold" });
  const run = await start(db, "fraud-train", { train: "clean", eval: ["holdout@gold"], features: "clean@v1" }, { lr: 0.1 });
  t.match(run, UUID, "a UUID run id");
  const row = (await db.query("select * from strata.run($1)", [run])).rows[0];
  t.equal(row.status, "running");
  t.same(row.params, { lr: 0.1 });
  t.equal(row.code_ref, "abc123");
  t.equal(row.inputs_text, "eval=holdout@gold, features=clean@v1, train=clean@v2", "no tag: the latest, pinned now");
  await commitFiles(session, "clean", { "a.csv": "3" });
  t.equal(
    (await db.query("select inputs_text from strata.v_runs")).rows[0].inputs_text,
    "eval=holdout@gold, features=clean@v1, train=clean@v2",
  );
  t.same((await db.query("select source, relation, target from strata.v_lineage_edges where source_kind = 'run' order by target")).rows, [
    { source: `run:${run}`, relation: "used", target: "dataset:clean@v1" },
    { source: `run:${run}`, relation: "trained_on", target: "dataset:clean@v2" },
    { source: `run:${run}`, relation: "evaluated_on", target: "dataset:holdout@gold" },
  ]);

  const before = await count(db, "select count(*) as n from strata.experiments");
  for (const [inputs, code] of [
    [{ train: "nope@v1" }, Sqlstate.unknownDataset],
    [{ train: "clean@v9" }, Sqlstate.unknownVersion],
    [{ "bad role": "clean" }, Sqlstate.invalidName],
    [{ train: 3 }, Sqlstate.invalidArgument],
    [["clean"], Sqlstate.invalidArgument],
    [{ train: ["clean@v1", "clean@v2"] }, Sqlstate.invalidArgument],
  ] as const)
    t.equal(await sqlstateOf(() => start(db, "r", inputs)), code, JSON.stringify(inputs));
  t.equal(await sqlstateOf(() => start(db, "bad name!")), Sqlstate.invalidName);
  t.equal(await sqlstateOf(() => start(db, "r", null, [1])), Sqlstate.invalidArgument, "params must be an object");
  t.equal(await count(db, "select count(*) as n from strata.experiments"), before, "no run was made by a refusal");
});

t.test("metrics: one step or a batch, every step kept, retries idempotent, conflicts and NaN refused", async (t) => {
  const { db } = await versionsDb(t);
  const run = await start(db, "m");
  const log = (m: unknown, step: number | null = null) =>
    db.query("select strata.log_metrics($1, $2::jsonb, $3) as n", [run, typeof m === "string" ? m : JSON.stringify(m), step]);
  t.equal((await log({ loss: 1.5, acc: 0.25 }, 0)).rows[0].n, 2);
  t.equal((await log({ loss: 1.25 }, 1)).rows[0].n, 1);
  const batch = Array.from({ length: 100 }, (_, i) => ({ name: "loss", step: i + 2, value: 1 / (i + 2) }));
  t.equal((await log(batch)).rows[0].n, 100, "a batch");
  t.equal((await log(batch)).rows[0].n, 0, "the same batch again is a no-op");
  t.equal(await count(db, "select count(*) as n from strata.v_metrics where run_id = $1", [run]), 103);
  const twice = [
    { name: "dup", step: 0, value: 1 },
    { name: "dup", step: 0, value: 1 },
  ];
  t.equal((await log(twice)).rows[0].n, 1, "a point twice in one batch is one point");
  t.equal(
    await sqlstateOf(() =>
      log([
        { name: "dup2", step: 0, value: 1 },
        { name: "dup2", step: 0, value: 2 },
      ]),
    ),
    Sqlstate.metricConflict,
    "twice with two values is refused",
  );
  t.equal((await log([{ name: "dup", step: 1, value: 3 }])).rows[0].n, 1);
  const points = await count(db, "select count(*) as n from strata.experiment_metrics");

  const bad: [unknown, string][] = [
    ['{"loss": "NaN"}', "NaN as a string"],
    ['{"loss": "Infinity"}', "Infinity as a string"],
    ['{"loss": 1e400}', "beyond double precision"],
    ['{"loss": null}', "null"],
    ['[{"name": "loss", "step": 1.5, "value": 1}]', "fractional step"],
    ['[{"name": "loss", "step": -1, "value": 1}]', "negative step"],
    ['[{"step": 1, "value": 1}]', "no name"],
    ['[{"name": "a b", "step": 1, "value": 1}]', "a space in a name"],
    [`{"${"x".repeat(300)}": 1}`, "a 300-character name"],
    ["[1, 2]", "not objects"],
    ['"loss"', "a string"],
  ];
  for (const [m, what] of bad) t.equal(await sqlstateOf(() => log(m)), Sqlstate.invalidMetric, what);
  t.equal(await sqlstateOf(() => log({ loss: 9 }, 1)), Sqlstate.metricConflict, "another value at a logged step");
  t.equal(
    await sqlstateOf(() => log([...batch.slice(0, 5), { name: "new", step: 0, value: 1 }, { name: "loss", step: 2, value: 7 }])),
    Sqlstate.metricConflict,
  );
  t.equal(await count(db, "select count(*) as n from strata.experiment_metrics"), points, "nothing was added by a refused batch");
  t.equal(
    await sqlstateOf(() => db.query("select strata.log_metrics($1, '{}')", ["00000000-0000-0000-0000-000000000000"])),
    Sqlstate.unknownRun,
  );
  t.equal(await sqlstateOf(() => db.query("select strata.log_metrics('not-a-uuid', '{}')")), Sqlstate.invalidArgument);
  t.equal(
    await sqlstateOf(() => db.query("update strata.experiment_metrics set value = 0")),
    Sqlstate.historyImmutable,
    "points are history, even for a superuser",
  );
});

t.test("finish: running -> succeeded | failed | killed once, final metrics kept", async (t) => {
  const { db } = await versionsDb(t);
  const run = await start(db, "f");
  await db.query("select strata.log_metrics($1, $2::jsonb)", [
    run,
    JSON.stringify([
      { name: "loss", step: 0, value: 2 },
      { name: "loss", step: 9, value: 0.5 },
      { name: "loss", step: 3, value: 1 },
      { name: "acc", step: 1, value: 0.7 },
    ]),
  ]);
  t.equal(await sqlstateOf(() => db.query("select * from strata.finish_experiment($1, 'running')", [run])), Sqlstate.invalidStatusMove);
  t.equal(await sqlstateOf(() => db.query("select * from strata.finish_experiment($1, 'done')", [run])), Sqlstate.invalidArgument);
  t.equal(
    await sqlstateOf(() => db.query(`select * from strata.finish_experiment($1, 'failed', '{"x": "NaN"}')`, [run])),
    Sqlstate.invalidMetric,
  );
  t.equal((await db.query("select status from strata.v_runs")).rows[0].status, "running", "refusals changed nothing");
  const done = (await db.query(`select * from strata.finish_experiment($1, 'succeeded', '{"auc": 0.91}')`, [run])).rows[0];
  t.equal(done.status, "succeeded");
  t.same(done.metrics, { loss: 0.5, acc: 0.7, auc: 0.91 }, "the last step of each metric, and those given at finish");
  t.ok(done.ended_at instanceof Date);
  for (const s of ["failed", "killed", "succeeded"])
    t.equal(
      await sqlstateOf(() => db.query("select * from strata.finish_experiment($1, $2)", [run, s])),
      Sqlstate.invalidStatusMove,
      `no move to ${s}`,
    );
  t.equal(await sqlstateOf(() => db.query(`select strata.log_metrics($1, '{"loss": 1}', 10)`, [run])), Sqlstate.runFinished);
  for (const s of ["failed", "killed"]) {
    const r = await start(db, s);
    t.equal((await db.query("select status from strata.finish_experiment($1, $2)", [r, s])).rows[0].status, s);
  }
});

t.test("16 parallel loggers of one run: every point kept, no error, no deadlock", async (t) => {
  const { db } = await versionsDb(t);
  const url = (db as unknown as { connectionParameters: { user: string; host: string; port: number; database: string; password?: string } })
    .connectionParameters;
  const run = await start(db, "parallel");
  const clients = await Promise.all(
    Array.from({ length: 16 }, async () => {
      const c = new pg.Client({ user: url.user, host: url.host, port: url.port, database: url.database, password: url.password });
      await c.connect();
      t.teardown(() => c.end());
      return c;
    }),
  );
  // Each logger sends 20 batches; every batch overlaps the other loggers' (the same
  // shared metric at the same steps, with the same values) and adds its own.
  const errors: string[] = [];
  await Promise.all(
    clients.map(async (c, i) => {
      for (let b = 0; b < 20; b++) {
        const points = [
          ...Array.from({ length: 50 }, (_, k) => ({ name: "shared", step: b * 50 + k, value: b * 50 + k })),
          ...Array.from({ length: 50 }, (_, k) => ({ name: `own${i}`, step: b * 50 + k, value: k })),
        ].reverse();
        await c.query("select strata.log_metrics($1, $2::jsonb)", [run, JSON.stringify(points)]).catch((e: { code?: string }) => {
          errors.push(e.code ?? String(e));
        });
      }
    }),
  );
  t.same(errors, [], "no logger failed (no deadlock, 40P01)");
  t.equal(await count(db, "select count(*) as n from strata.experiment_metrics"), 1000 + 16 * 1000, "every point once");
});
