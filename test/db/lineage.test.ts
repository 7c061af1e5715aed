// Lineage, the registry's aliases and the reverse index through the SQL API, on small
// hand-checked graphs: chains and depth limits, diamonds (each node once, at its least
// depth), cycles refused, impact from a node and from a file, versions_containing under
// any name, alias moves with weights, rollback and routing, and the views' comments.

import { createHash } from "node:crypto";
import type pg from "pg";
import t from "tap";
import { Sqlstate } from "../../stored/errors.js";
import { sqlstateOf } from "../helpers/db.js";
import { commitFiles, commitModelFiles, versionsDb } from "../helpers/versions.js";

type Row = Record<string, unknown>;

async function graph(db: pg.Client, node: string, direction = "both", depth = 20) {
  const rows = (await db.query("select * from strata.lineage($1, $2, $3)", [node, direction, depth])).rows as Row[];
  return {
    nodes: rows.filter((r) => r.item === "node").map((r) => `${r.depth} ${r.node}`),
    edges: rows.filter((r) => r.item === "edge").map((r) => `${r.source} ${r.relation} ${r.target}`),
  };
}

const run = async (db: pg.Client, name: string, inputs: unknown): Promise<string> =>
  (await db.query("select strata.start_experiment($1, $2::jsonb)::text as id", [name, JSON.stringify(inputs)])).rows[0].id;

t.test("chains: up and down to a depth, each edge crossed once", async (t) => {
  const { session, db } = await versionsDb(t);
  for (let i = 1; i <= 4; i++) await commitFiles(session, "a", { f: String(i) });
  t.same(await graph(db, "dataset:a@v4", "up", 2), {
    nodes: ["0 dataset:a@v4", "1 dataset:a@v3", "2 dataset:a@v2"],
    edges: ["dataset:a@v4 derived_from dataset:a@v3", "dataset:a@v3 derived_from dataset:a@v2"],
  });
  t.same(await graph(db, "dataset:a@v1", "down"), {
    nodes: ["0 dataset:a@v1", "1 dataset:a@v2", "2 dataset:a@v3", "3 dataset:a@v4"],
    edges: ["dataset:a@v2 derived_from dataset:a@v1", "dataset:a@v3 derived_from dataset:a@v2", "dataset:a@v4 derived_from dataset:a@v3"],
  });
  t.same(await graph(db, "dataset:a@v2", "both", 1), {
    nodes: ["0 dataset:a@v2", "1 dataset:a@v1", "1 dataset:a@v3"],
    edges: ["dataset:a@v2 derived_from dataset:a@v1", "dataset:a@v3 derived_from dataset:a@v2"],
  });
  t.same(await graph(db, "dataset:a@v2", "both", 0), { nodes: ["0 dataset:a@v2"], edges: [] }, "depth 0: the node alone");
  t.same((await graph(db, "dataset:a", "up", 1)).nodes, ["0 dataset:a@v4", "1 dataset:a@v3"], "dataset:NAME is its latest version");
  const cases: [string, string, number, string][] = [
    ["dataset:a@v1", "sideways", 20, Sqlstate.invalidArgument],
    ["dataset:a@v1", "up", -1, Sqlstate.invalidArgument],
    ["dataset:a@v1", "up", 1001, Sqlstate.invalidArgument],
    ["dataset:nope@v1", "up", 1, Sqlstate.unknownDataset],
    ["dataset:a@v9", "up", 1, Sqlstate.unknownVersion],
    ["run:00000000-0000-0000-0000-000000000000", "up", 1, Sqlstate.unknownRun],
    ["run:nope", "up", 1, Sqlstate.invalidArgument],
    ["model:nope/1", "up", 1, Sqlstate.unknownModel],
    ["model:nope/x", "up", 1, Sqlstate.invalidNode],
    ["a@v1", "up", 1, Sqlstate.invalidNode],
    ["", "up", 1, Sqlstate.invalidNode],
  ];
  for (const [node, dir, depth, code] of cases)
    t.equal(
      await sqlstateOf(() => db.query("select * from strata.lineage($1, $2, $3)", [node, dir, depth])),
      code,
      `${node} ${dir} ${depth}`,
    );
});

t.test("diamonds: every node once at its least depth; runs, models and user edges; cycles refused", async (t) => {
  const { session, db } = await versionsDb(t);
  await commitFiles(session, "raw", { "labels.csv": "a,b\n1,2\n" });
  await commitFiles(session, "left", { l: "l" }, { from: ["raw@v1"] });
  await commitFiles(session, "right", { r: "r" }, { from: ["raw@v1"] });
  await commitFiles(session, "join", { j: "j" }, { from: ["left@v1", "right@v1", "raw@v1"] });
  const id = await run(db, "train", { train: "join@v1" });
  const mv = await commitModelFiles(session, "m", { "w.bin": "weights" }, id);
  t.equal(mv.node, "model:m/1");
  t.equal(mv.runId, id);
  const up = await graph(db, "model:m/1", "up");
  t.same(up.nodes, ["0 model:m/1", `1 run:${id}`, "2 dataset:join@v1", "3 dataset:left@v1", "3 dataset:raw@v1", "3 dataset:right@v1"]);
  t.equal(up.edges.length, 7, "model->run, run->join, join->left, join->right, join->raw, left->raw, right->raw");
  const down = await graph(db, "dataset:raw@v1", "down");
  t.same(down.nodes, ["0 dataset:raw@v1", "1 dataset:join@v1", "1 dataset:left@v1", "1 dataset:right@v1", `2 run:${id}`, "3 model:m/1"]);
  t.same(
    (await graph(db, "dataset:raw@v1", "down", 2)).nodes,
    ["0 dataset:raw@v1", "1 dataset:join@v1", "1 dataset:left@v1", "1 dataset:right@v1", `2 run:${id}`],
    "the depth limit",
  );
  const label = (await db.query("select label from strata.lineage($1, 'up', 0)", [`run:${id}`])).rows[0].label;
  t.equal(label, "train (running)", "a run is labelled by its name and status");

  // Users' edges: recorded once, refused when they close a cycle; refusals change nothing.
  await commitFiles(session, "labels", { x: "x" });
  const e1 = (await db.query("select strata.add_edge('dataset:labels@v1', 'labelled_by', $1) as id", [`run:${id}`])).rows[0].id;
  const e2 = (await db.query("select strata.add_edge('dataset:labels@v1', 'labelled_by', $1) as id", [`run:${id}`])).rows[0].id;
  t.equal(e1, e2, "the same edge twice is one edge");
  const edges = Number((await db.query("select count(*) as n from strata.lineage_edges")).rows[0].n);
  for (const [s, r, tg, code] of [
    ["dataset:raw@v1", "derived_from", "dataset:join@v1", Sqlstate.lineageCycle],
    [`run:${id}`, "uses", "model:m/1", Sqlstate.lineageCycle],
    ["dataset:raw@v1", "derived_from", "dataset:raw@v1", Sqlstate.lineageCycle],
    ["dataset:raw@v1", "Bad-Relation", "dataset:labels@v1", Sqlstate.invalidArgument],
    ["dataset:raw@v1", "x".repeat(64), "dataset:labels@v1", Sqlstate.invalidArgument],
    ["dataset:raw@v1", "derived_from", "nothing", Sqlstate.invalidNode],
  ])
    t.equal(await sqlstateOf(() => db.query("select strata.add_edge($1, $2, $3)", [s, r, tg])), code, `${s} ${r} ${tg}`);
  t.equal(Number((await db.query("select count(*) as n from strata.lineage_edges")).rows[0].n), edges, "no edge was added");
  t.same((await db.query("select source, relation, target, origin from strata.v_lineage_edges where origin = 'user'")).rows, [
    { source: "dataset:labels@v1", relation: "labelled_by", target: `run:${id}`, origin: "user" },
  ]);
  for (const sql of [
    "delete from strata.lineage_edges",
    "update strata.model_versions set message = 'x'",
    "delete from strata.experiment_inputs",
  ])
    t.equal(await sqlstateOf(() => db.query(sql)), Sqlstate.historyImmutable, sql);
});

t.test("versions_containing and impact: a file under any name, in any dataset or model", async (t) => {
  const { session, db } = await versionsDb(t);
  const labels = "id,label\n1,cat\n2,dog\n";
  await commitFiles(session, "raw", { "labels.csv": labels, "img/1.jpg": "jpg" });
  await commitFiles(session, "raw", { "labels.csv": labels, "img/1.jpg": "jpg", "img/2.jpg": "jpg2" });
  await commitFiles(session, "raw", { "labels.csv": "id,label\n1,cat\n2,cat\n", "img/1.jpg": "jpg" });
  await commitFiles(session, "copy", { "deep/er/l.csv": labels, other: "o" });
  await commitFiles(session, "clean", { "c.csv": "cleaned" }, { from: ["raw@v1"] });
  const id = await run(db, "train", { train: "clean@v1", eval: "copy@v1" });
  await commitModelFiles(session, "m", { "bundle/labels.csv": labels, "w.bin": "w" }, id);
  await commitModelFiles(session, "m", { "w.bin": "w2" }, id);
  await db.query(`select * from strata.set_alias('m', 'production', null, '{"1": 0.9, "2": 0.1}')`);
  await db.query("select * from strata.set_alias('m', 'staging', 2)");

  const found = (await db.query("select kind, node, path from strata.versions_containing('raw', 'v1', 'labels.csv')")).rows;
  t.same(found, [
    { kind: "dataset_version", node: "dataset:copy@v1", path: "deep/er/l.csv" },
    { kind: "dataset_version", node: "dataset:raw@v1", path: "labels.csv" },
    { kind: "dataset_version", node: "dataset:raw@v2", path: "labels.csv" },
    { kind: "model_version", node: "model:m/1", path: "bundle/labels.csv" },
  ]);
  t.equal(await sqlstateOf(() => db.query("select * from strata.versions_containing('raw', 'v1', 'nope.csv')")), Sqlstate.unknownPath);
  t.equal(
    await sqlstateOf(() => db.query("select * from strata.versions_containing('raw', 'v1', 'img')")),
    Sqlstate.unknownPath,
    "a folder",
  );
  t.equal(await sqlstateOf(() => db.query("select * from strata.versions_containing('raw', 'v7', 'labels.csv')")), Sqlstate.unknownVersion);

  const fromNode = (await db.query("select kind, node, serves, weight::text as weight, start from strata.impact('dataset:raw@v1')")).rows;
  t.same(fromNode, [
    { kind: "alias", node: "alias:m@production", serves: "model:m/1", weight: "0.9", start: false },
    { kind: "alias", node: "alias:m@production", serves: "model:m/2", weight: "0.1", start: false },
    { kind: "alias", node: "alias:m@staging", serves: "model:m/2", weight: "1", start: false },
    { kind: "dataset_version", node: "dataset:clean@v1", serves: null, weight: null, start: false },
    { kind: "dataset_version", node: "dataset:raw@v1", serves: null, weight: null, start: true },
    { kind: "model_version", node: "model:m/1", serves: null, weight: null, start: false },
    { kind: "model_version", node: "model:m/2", serves: null, weight: null, start: false },
    { kind: "run", node: `run:${id}`, serves: null, weight: null, start: false },
  ]);
  const fromFile = (await db.query("select kind, node, start from strata.impact('dataset:raw@v1', 'labels.csv') where kind <> 'alias'"))
    .rows;
  t.same(fromFile, [
    { kind: "dataset_version", node: "dataset:clean@v1", start: false },
    { kind: "dataset_version", node: "dataset:copy@v1", start: true },
    { kind: "dataset_version", node: "dataset:raw@v1", start: true },
    { kind: "dataset_version", node: "dataset:raw@v2", start: true },
    { kind: "model_version", node: "model:m/1", start: true },
    { kind: "model_version", node: "model:m/2", start: false },
    { kind: "run", node: `run:${id}`, start: false },
  ]);
  t.equal((await db.query("select count(*)::int as n from strata.impact('dataset:raw@v3')")).rows[0].n, 1, "raw@v3 fed nothing");
  t.equal(
    await sqlstateOf(() => db.query("select * from strata.impact($1, 'x')", [`run:${id}`])),
    Sqlstate.invalidArgument,
    "a run holds no files",
  );
  t.equal(await sqlstateOf(() => db.query("select * from strata.impact('model:m/1', 'nope')")), Sqlstate.unknownPath);
});

t.test("aliases: set, split by weight, route deterministically, roll back, keep every move", async (t) => {
  const { session, db } = await versionsDb(t);
  for (let i = 1; i <= 4; i++) await commitModelFiles(session, "fraud", { "w.bin": `w${i}` });
  await commitModelFiles(session, "other", { "w.bin": "o" });
  const targets = async (alias = "production") =>
    (
      await db.query("select version, weight::text as w from strata.v_aliases where model = 'fraud' and alias = $1 order by version", [
        alias,
      ])
    ).rows;
  await db.query("select * from strata.set_alias('fraud', 'production', 1)");
  await db.query("select * from strata.set_alias('fraud', 'production', 2)");
  const split = (await db.query(`select * from strata.set_alias('fraud', 'production', null, '{"3": 0.9, "4": 0.1}')`)).rows;
  t.same(
    split.map((r: Row) => [r.version, String(r.weight), r.is_primary]),
    [
      [3, "0.9", true],
      [4, "0.1", false],
    ],
  );
  const moves = Number((await db.query("select count(*) as n from strata.model_alias_history")).rows[0].n);
  const refused: [string, unknown[], string][] = [
    ["select * from strata.set_alias('fraud', 'production', null, $1::jsonb)", ['{"3": 0.5, "4": 0.4}'], Sqlstate.invalidWeights],
    ["select * from strata.set_alias('fraud', 'production', null, $1::jsonb)", ['{"3": 1.5, "4": -0.5}'], Sqlstate.invalidWeights],
    ["select * from strata.set_alias('fraud', 'production', null, $1::jsonb)", ['{"3": "0.5", "4": 0.5}'], Sqlstate.invalidWeights],
    ["select * from strata.set_alias('fraud', 'production', null, $1::jsonb)", ['{"x": 1}'], Sqlstate.invalidWeights],
    ["select * from strata.set_alias('fraud', 'production', null, $1::jsonb)", ["{}"], Sqlstate.invalidWeights],
    ["select * from strata.set_alias('fraud', 'production', null, $1::jsonb)", ['{"3": 0.5, "9": 0.5}'], Sqlstate.unknownModelVersion],
    ["select * from strata.set_alias('fraud', 'production', 9)", [], Sqlstate.unknownModelVersion],
    ["select * from strata.set_alias('other', 'production', 4)", [], Sqlstate.unknownModelVersion],
    ["select * from strata.set_alias('fraud', 'production', 3, '{\"3\": 1}')", [], Sqlstate.invalidArgument],
    ["select * from strata.set_alias('fraud', 'production')", [], Sqlstate.invalidArgument],
    ["select * from strata.set_alias('nope', 'production', 1)", [], Sqlstate.unknownModel],
    ["select * from strata.set_alias('fraud', 'bad alias', 1)", [], Sqlstate.invalidName],
    ["select * from strata.rollback_alias('fraud', 'nope')", [], Sqlstate.unknownAlias],
    ["select strata.resolve_alias('fraud', 'nope', 'k')", [], Sqlstate.unknownAlias],
  ];
  for (const [sql, params, code] of refused) t.equal(await sqlstateOf(() => db.query(sql, params)), code, `${sql} ${params.join(" ")}`);
  t.equal(Number((await db.query("select count(*) as n from strata.model_alias_history")).rows[0].n), moves, "refusals moved nothing");
  t.same(await targets(), [
    { version: 3, w: "0.9" },
    { version: 4, w: "0.1" },
  ]);
  t.equal(
    await sqlstateOf(() =>
      db.query(
        "insert into strata.model_alias_targets (model_id, alias, model_version_id, weight) select (select id from strata.models where name = 'fraud'), 'production', v.id, 1 from strata.model_versions v join strata.models m on m.id = v.model_id where m.name = 'other'",
      ),
    ),
    "23503",
    "the table itself refuses an alias target of another model",
  );

  // Routing: the documented rule, recomputed here, and its spread.
  const resolve = async (key: string) => (await db.query("select strata.resolve_alias('fraud', 'production', $1) as v", [key])).rows[0].v;
  const counts = { 3: 0, 4: 0 } as Record<number, number>;
  for (let i = 0; i < 1000; i++) {
    const key = `user-${i}`;
    const v = await resolve(key);
    counts[v] = (counts[v] ?? 0) + 1;
    const h = createHash("sha256").update(`fraud/production/${key}`).digest("hex");
    const u = Number.parseInt(h.slice(0, 13), 16) / 2 ** 52;
    if (v !== (u < 0.9 ? 3 : 4)) t.fail(`key ${key}: ${v}, the rule says ${u < 0.9 ? 3 : 4}`);
  }
  t.ok(counts[3]! > 850 && counts[3]! < 950, `about 90% of keys go to version 3 (${counts[3]})`);
  t.equal(await resolve("user-7"), await resolve("user-7"), "one key, one version");
  t.equal((await db.query("select strata.resolve_alias('fraud', 'production') as v")).rows[0].v, 3, "no key: the primary target");

  await db.query("select * from strata.rollback_alias('fraud', 'production')");
  t.same(await targets(), [{ version: 2, w: "1" }], "rollback: back to 2");
  await db.query("select * from strata.rollback_alias('fraud', 'production')");
  t.same(await targets(), [{ version: 1, w: "1" }], "and to 1");
  t.equal(await sqlstateOf(() => db.query("select * from strata.rollback_alias('fraud', 'production')")), Sqlstate.noEarlierTarget);
  await db.query("select * from strata.set_alias('fraud', 'production', 4)");
  await db.query("select * from strata.set_alias('fraud', 'production', 4)");
  t.same(
    (
      await db.query(
        "select action, from_targets, to_targets, version, undoes is not null as undo, changed_by = session_user as me from strata.v_alias_history order by id",
      )
    ).rows,
    [
      { action: "set", from_targets: null, to_targets: { "1": 1 }, version: 1, undo: false, me: true },
      { action: "set", from_targets: { "1": 1 }, to_targets: { "2": 1 }, version: 2, undo: false, me: true },
      { action: "set", from_targets: { "2": 1 }, to_targets: { "3": 0.9, "4": 0.1 }, version: 3, undo: false, me: true },
      { action: "rollback", from_targets: { "3": 0.9, "4": 0.1 }, to_targets: { "2": 1 }, version: 2, undo: true, me: true },
      { action: "rollback", from_targets: { "2": 1 }, to_targets: { "1": 1 }, version: 1, undo: true, me: true },
      { action: "set", from_targets: { "1": 1 }, to_targets: { "4": 1 }, version: 4, undo: false, me: true },
    ],
    "every move, who and from what to what (setting the same target again is no move)",
  );
  t.equal(await sqlstateOf(() => db.query("delete from strata.model_alias_history")), Sqlstate.historyImmutable);
  t.same((await db.query("select name, version_count, latest_version, aliases from strata.v_models order by name")).rows, [
    { name: "fraud", version_count: "4", latest_version: 4, aliases: "production" },
    { name: "other", version_count: "1", latest_version: 1, aliases: "" },
  ]);
});

t.test("every view and every column of a view has a comment", async (t) => {
  const { db } = await versionsDb(t);
  const missing = (
    await db.query(
      `select c.relname || coalesce('.' || a.attname, '') as what
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
       left join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
       where n.nspname = 'strata' and c.relkind = 'v'
         and (obj_description(c.oid, 'pg_class') is null or (a.attname is not null and col_description(c.oid, a.attnum) is null))
       order by 1`,
    )
  ).rows.map((r) => r.what);
  t.same(missing, []);
  const tables = (
    await db.query(
      `select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'strata' and c.relkind = 'r' and obj_description(c.oid, 'pg_class') is null
         and c.relname <> 'migrations'
       order by 1`,
    )
  ).rows.map((r) => r.relname);
  t.same(tables, [], "the tables are described too (but node-pg-migrate's own)");
});
