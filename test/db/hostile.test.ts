// Hostile input, table-driven: names, tags, messages, metadata and paths holding quotes,
// semicolons, NUL, ../, control characters and 1 MB, against the SQL entry points. Each
// either round-trips exactly or is refused with a clear error and its SQLSTATE, and a
// refusal changes nothing.

import t from "tap";
import { Sqlstate } from "../../stored/errors.js";
import { connect } from "../helpers/db.js";
import { freshDatabase } from "../helpers/harness.js";
import { commitFiles, commitModelFiles, versionsDb } from "../helpers/versions.js";

const MB = "x".repeat(1 << 20);

/** Hostile strings, by what they try. */
const HOSTILE: Record<string, string> = {
  quote: 'it\'s "quoted"',
  semicolon: "a'; drop table strata.versions; --",
  nul: "a\u0000b",
  dotdot: "../../etc/passwd",
  control: "bell\u0007esc\u001b[31mred\nnewline\ttab",
  megabyte: MB,
  unicode: "日本語 é 🚀",
  empty: "",
};

async function outcome(
  db: Awaited<ReturnType<typeof connect>>,
  sql: string,
  params: unknown[],
): Promise<{ code: string; message: string }> {
  try {
    await db.query(sql, params);
    return { code: "ok", message: "" };
  } catch (e) {
    return { code: (e as { code: string }).code, message: (e as Error).message };
  }
}

t.test("names and tags: refused with ST001 unless they follow the rule, nothing created", async (t) => {
  const db = await connect(t, await freshDatabase(t));
  for (const [what, s] of Object.entries(HOSTILE)) {
    const r = await outcome(db, "select strata.create_dataset($1)", [s]);
    if (what === "nul") t.equal(r.code, "22021", `${what}: PostgreSQL refuses NUL in text`);
    else t.equal(r.code, Sqlstate.invalidName, `${what} as a dataset name: ${r.message.slice(0, 80)}`);
    t.ok(r.message.length < 400, `${what}: the message stays short (${r.message.length} characters)`);
    const tag = await outcome(db, "select * from strata.push_begin('ds', null, $1)", [s]);
    t.ok([Sqlstate.invalidName, "22021"].includes(tag.code), `${what} as a tag: ${tag.code}`);
    for (const fn of [
      "select * from strata.version($1)",
      "select * from strata.version_history($1)",
      "select * from strata.ls($1, null)",
      "select * from strata.delete_version($1, 'v1')",
      "select * from strata.delete_dataset($1)",
      "select strata.set_retention($1, 1)",
      "select * from strata.apply_retention($1)",
    ]) {
      const r2 = await outcome(db, fn, [s]);
      t.ok([Sqlstate.invalidName, "22021"].includes(r2.code), `${what} in ${fn}: ${r2.code}`);
    }
  }
  t.same((await db.query("select count(*)::int as n from strata.datasets")).rows[0], { n: 0 }, "nothing was created");
});

t.test("descriptions, messages and metadata round-trip exactly, NUL refused", async (t) => {
  const { session, db } = await versionsDb(t);
  await commitFiles(session, "ds", { a: "a" });
  for (const [what, s] of Object.entries(HOSTILE)) {
    const name = `d-${what}`;
    const r = await outcome(db, "select strata.create_dataset($1, $2)", [name, s]);
    if (what === "nul") {
      t.equal(r.code, "22021", "NUL in a description is refused");
      t.equal((await db.query("select count(*)::int as n from strata.v_datasets where name = $1", [name])).rows[0].n, 0);
      continue;
    }
    t.equal(r.code, "ok", `${what}: accepted`);
    t.equal((await db.query("select description from strata.v_datasets where name = $1", [name])).rows[0].description, s, `${what}: exact`);
  }
  const root = (await db.query("select decode(content_hash, 'hex') as h from strata.v_versions where dataset = 'ds'")).rows[0].h;
  for (const [what, s] of Object.entries(HOSTILE)) {
    if (what === "nul") continue;
    const meta = JSON.stringify({ note: s, [s.slice(0, 100)]: [s.slice(0, 10), 1e300, -0.5] });
    const r = await outcome(db, "select * from strata.commit_version('ds', $1, null, null, $2, $3::jsonb)", [root, s, meta]);
    t.equal(r.code, "ok", `${what}: a commit with it`);
    const back = (await db.query("select message, metadata from strata.v_versions where dataset = 'ds' order by seq desc limit 1")).rows[0];
    t.equal(back.message, s, `${what}: message exact`);
    t.same(back.metadata, JSON.parse(meta), `${what}: metadata exact`);
  }
  const before = (await db.query("select count(*)::int as n from strata.versions")).rows[0].n;
  const nul = await outcome(db, "select * from strata.commit_version('ds', $1, null, null, $2)", [root, HOSTILE.nul]);
  t.equal(nul.code, "22021");
  const nulMeta = await outcome(db, "select * from strata.commit_version('ds', $1, null, null, null, $2::jsonb)", [
    root,
    '{"k": "a\\u0000b"}',
  ]);
  t.equal(nulMeta.code, "22P05", "a NUL escape in JSON is refused by jsonb");
  t.equal((await db.query("select count(*)::int as n from strata.versions")).rows[0].n, before, "no partial version");
});

t.test("paths and prefixes: never leave the version, never fail oddly", async (t) => {
  const { session, db } = await versionsDb(t);
  await commitFiles(session, "ds", { "a/b.txt": "b", "it's.txt": "q" }, { tag: "one" });
  for (const [what, s] of Object.entries(HOSTILE)) {
    const r = await outcome(db, "select * from strata.ls('ds', 'one', $1)", [s]);
    if (what === "nul") t.equal(r.code, "22021");
    else t.equal(r.code, "ok", `${what} as a prefix lists (nothing, or matches): ${r.message}`);
    const rows = await outcome(db, "select * from strata.diff_rows('ds', 'one', 'one', $1)", [s]);
    t.ok(
      [Sqlstate.unknownPath, Sqlstate.invalidArgument, "22021"].includes(rows.code),
      `${what} as a row-diff path: ${rows.code} ${rows.message.slice(0, 60)}`,
    );
  }
  t.same(
    (await db.query("select path from strata.ls('ds', 'one', $1)", ["it's"])).rows,
    [{ path: "it's.txt" }],
    "a quote in a prefix matches",
  );
});

t.test("retention and gc arguments: refused with a clear error, nothing changed", async (t) => {
  const { session, db: admin } = await versionsDb(t);
  await commitFiles(session, "ds", { "a.txt": "a" });
  const cases: [string, unknown[], string][] = [
    ["select strata.set_retention('ds', 0)", [], Sqlstate.invalidArgument],
    ["select strata.set_retention('ds', -5)", [], Sqlstate.invalidArgument],
    ["select strata.set_retention('ds', null, '-1 day')", [], Sqlstate.invalidArgument],
    ["select strata.set_retention('ds', null, $1::interval)", ["soon"], "22007"],
    ["select * from strata.apply_retention('ds')", [], Sqlstate.noRetentionPolicy],
    ["select * from strata.delete_version('ds', null)", [], Sqlstate.invalidArgument],
    ["select * from strata.gc_begin('0 seconds')", [], Sqlstate.invalidArgument],
    ["select * from strata.gc_begin('1 day', 'NaN')", [], Sqlstate.invalidArgument],
    ["select * from strata.gc_begin('1 day', -0.1)", [], Sqlstate.invalidArgument],
    ["select * from strata.gc_plan(12345)", [], Sqlstate.invalidArgument],
    [
      "select * from strata.gc_repack(1, $1::bytea, 10, array[$1::bytea], array[0::bigint], array[10])",
      [Buffer.alloc(32)],
      Sqlstate.invalidArgument,
    ],
  ];
  for (const [sql, params, code] of cases) t.equal((await outcome(admin, sql, params)).code, code, sql);
  t.same(
    (
      await admin.query(
        "select (select count(*) from strata.retention_policies)::int as p, (select count(*) from strata.gc_runs)::int as g, (select count(*) from strata.versions where state = 'deleted')::int as d",
      )
    ).rows[0],
    { p: 0, g: 0, d: 0 },
    "nothing was recorded",
  );
});

t.test("run, model, alias and metric names, nodes and relations: refused with their code, nothing created", async (t) => {
  const { session, db } = await versionsDb(t);
  await commitFiles(session, "ds", { a: "a" });
  const run = (await db.query("select strata.start_experiment('r')::text as id")).rows[0].id as string;
  await commitModelFiles(session, "m", { w: "w" }, run);
  await db.query("select * from strata.set_alias('m', 'prod', 1)");
  const counts = async () =>
    (
      await db.query(
        `select (select count(*) from strata.experiments) as runs, (select count(*) from strata.experiment_metrics) as points,
                (select count(*) from strata.models) as models, (select count(*) from strata.model_alias_history) as moves,
                (select count(*) from strata.lineage_edges) as edges`,
      )
    ).rows[0];
  const before = await counts();
  const NUL = ["22021", "22P05"]; // PostgreSQL refuses NUL in text, jsonb its escape
  for (const [what, s] of Object.entries(HOSTILE)) {
    const cases: [string, unknown[], string[]][] = [
      ["select strata.start_experiment($1)", [s], [Sqlstate.invalidName]],
      ["select strata.start_experiment('r', $1::jsonb)", [JSON.stringify({ [s]: "ds" })], [Sqlstate.invalidName]],
      ["select strata.start_experiment('r', $1::jsonb)", [JSON.stringify({ train: s })], [Sqlstate.invalidName, Sqlstate.unknownDataset]],
      ["select strata.log_metrics($1, $2::jsonb)", [run, JSON.stringify({ [s]: 1 })], [Sqlstate.invalidMetric]],
      ["select strata.log_metrics($1, $2::jsonb)", [run, JSON.stringify({ loss: s })], [Sqlstate.invalidMetric]],
      ["select strata.log_metrics($1, '{}')", [s], [Sqlstate.invalidArgument]],
      ["select * from strata.finish_experiment($1, $2)", [run, s], [Sqlstate.invalidArgument]],
      ["select * from strata.model_push_begin($1)", [s], [Sqlstate.invalidName]],
      ["select * from strata.set_alias('m', $1, 1)", [s], [Sqlstate.invalidName]],
      ["select * from strata.set_alias($1, 'prod', 1)", [s], [Sqlstate.invalidName]],
      ["select * from strata.set_alias('m', 'prod', null, $1::jsonb)", [JSON.stringify({ [s]: 1 })], [Sqlstate.invalidWeights]],
      ["select strata.resolve_alias('m', $1, 'k')", [s], [Sqlstate.invalidName]],
      ["select * from strata.lineage($1)", [s], [Sqlstate.invalidNode]],
      ["select * from strata.lineage($1)", [`model:${s}`], [Sqlstate.invalidName, Sqlstate.invalidNode]],
      // dataset:ds@ (an empty tag) is the latest version, as ds@ is everywhere
      ["select * from strata.lineage($1)", [`dataset:ds@${s}`], what === "empty" ? ["ok"] : [Sqlstate.unknownVersion]],
      ["select * from strata.lineage('dataset:ds', $1)", [s], [Sqlstate.invalidArgument]],
      ["select strata.add_edge('dataset:ds', $1, $2)", [s, `run:${run}`], [Sqlstate.invalidArgument]],
      ["select * from strata.impact('dataset:ds', $1)", [s], [Sqlstate.unknownPath]],
      ["select * from strata.versions_containing('ds', null, $1)", [s], [Sqlstate.unknownPath]],
    ];
    for (const [sql, params, codes] of cases) {
      const r = await outcome(db, sql, params);
      const ok =
        codes.includes(r.code) || (what === "nul" && NUL.includes(r.code)) || (what === "empty" && r.code === Sqlstate.invalidName);
      t.ok(ok, `${what} in ${sql} ${JSON.stringify(params).slice(0, 40)}: ${r.code} ${r.message.slice(0, 60)}`);
      t.ok(r.message.length < 600, `${what}: the message stays short (${r.message.length})`);
    }
  }
  t.same(await counts(), before, "nothing was created or moved");

  // What is free text round-trips exactly: code refs, params, metadata, messages.
  for (const [what, s] of Object.entries(HOSTILE)) {
    if (what === "nul") continue;
    const id = (await db.query("select strata.start_experiment('r', null, $1::jsonb, $2)::text as id", [JSON.stringify({ [s]: s }), s]))
      .rows[0].id;
    const back = (await db.query("select params, code_ref from strata.run($1)", [id])).rows[0];
    t.same(back, { params: { [s]: s }, code_ref: s }, `${what}: params and code_ref exact`);
  }
});
