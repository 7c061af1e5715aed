// Deleting versions and datasets, and retention policies: what is used is refused unless
// forced; a deleted version keeps its row, lineage and audit trail but is gone for reads;
// a policy keeps the latest, the last N, the young, the tagged and the used, and its dry
// run says exactly what the real run deletes.

import pg from "pg";
import t, { type Test } from "tap";
import { Sqlstate } from "../../stored/errors.js";
import { cliSession } from "../helpers/cli.js";
import { connect, sqlstateOf } from "../helpers/db.js";
import { openTestStrata, tempDir, writeTree } from "../helpers/strata.js";

type S = Awaited<ReturnType<typeof openTestStrata>>;

/** Push `n` versions of `dataset`, each a different small file. */
async function versions(t: Test, s: S, dataset: string, n: number, tags: Record<number, string> = {}): Promise<void> {
  for (let i = 1; i <= n; i++) {
    const dir = tempDir(t);
    writeTree(dir, { "data.txt": `${dataset} ${i}\n` });
    await s.push(dir, { dataset, tag: tags[i] });
  }
}

/** A run that used `dataset@tag`, and a model version trained on it, served by alias `production`. */
async function useVersion(db: pg.Client, dataset: string, tag: string): Promise<void> {
  const v = (await db.query("select id, content_hash from strata.v_versions where dataset = $1 and tag = $2", [dataset, tag])).rows[0];
  const run = (await db.query("insert into strata.experiments (name) values ('train-fraud') returning id")).rows[0].id;
  await db.query("insert into strata.experiment_inputs (experiment_id, version_id) values ($1, $2)", [run, v.id]);
  const model = (await db.query("insert into strata.models (name) values ('fraud') returning id")).rows[0].id;
  const mv = (
    await db.query(
      `insert into strata.model_versions (model_id, version, content_hash, file_count, size, experiment_id)
       values ($1, 1, decode($2, 'hex'), 1, 1, $3) returning id`,
      [model, v.content_hash, run],
    )
  ).rows[0].id;
  await db.query(
    `insert into strata.lineage_edges (source_kind, source_id, relation, target_kind, target_id)
     values ('model_version', $1, 'trained_on', 'dataset_version', $2)`,
    [mv, v.id],
  );
  await db.query("insert into strata.model_aliases (model_id, alias, model_version_id) values ($1, 'production', $2)", [model, mv]);
}

t.test("a used version is kept unless forced; a deleted one keeps its row, lineage and audit trail", async (t) => {
  const s = await openTestStrata(t);
  const cli = cliSession(t);
  const db = await connect(t, s.databaseUrl);
  await versions(t, s, "ds", 3);
  await useVersion(db, "ds", "v2");

  const refused = await sqlstateOf(() => s.deleteVersion({ dataset: "ds", tag: "v2" }));
  t.equal(refused, Sqlstate.versionInUse);
  const conflict = await cli(["rm", "ds@v2"], s.env);
  t.equal(conflict.code, 4, "the CLI: a conflict");
  t.match(conflict.stderr, /input of run train-fraud.*used by model fraud\/1 \(alias production\)/);
  t.equal((await s.log("ds")).length, 3, "nothing deleted");

  const forced = await cli(["rm", "ds@v2", "--force", "--json"], s.env);
  t.equal(forced.code, 0, forced.stderr);
  const [deleted] = JSON.parse(forced.stdout) as { tag: string; deletedAt: string | null; deletedBy: string }[];
  t.equal(deleted!.tag, "v2");
  t.ok(deleted!.deletedAt, "when it was deleted");
  t.same(
    (await s.log("ds")).map((v) => v.tag),
    ["v3", "v1"],
    "the log leaves it out",
  );
  const row = (await db.query("select state, deleted_by from strata.v_versions where dataset = 'ds' and tag = 'v2'")).rows[0];
  t.same(row, { state: "deleted", deleted_by: new URL(s.databaseUrl).username || row.deleted_by }, "its row stays, with who deleted it");
  const edges = await db.query(
    "select relation from strata.lineage_edges where target_kind = 'dataset_version' and target_id = (select id from strata.versions where tag = 'v2')",
  );
  t.same(edges.rows.map((r) => r.relation).sort(), ["derived_from", "trained_on"], "its lineage stays");
  const audit = (await db.query("select detail from strata.audit where action = 'delete versions'")).rows;
  t.equal(audit.length, 1);
  t.match(audit[0].detail, { deleted: "ds@v2", force: true, uses: /train-fraud/ }, "the audit says what it was used by");

  for (const args of [
    ["checkout", "ds@v2", tempDir(t)],
    ["ls", "ds@v2"],
    ["diff", "ds@v1", "ds@v2"],
  ]) {
    const r = await cli(args, s.env);
    t.equal(r.code, 3, `${args[0]} of a deleted version: not found`);
    t.match(r.stderr, /ds@v2 was deleted/);
  }
  t.equal(await sqlstateOf(() => s.deleteVersion({ dataset: "ds", tag: "v2" })), Sqlstate.unknownVersion, "deleting twice");
  t.equal((await cli(["rm", "ds"], s.env)).code, 2, "rm needs a version, or --all");

  // Deleting the latest: the one before is the latest now, and the next push follows it.
  await s.deleteVersion({ dataset: "ds", tag: "v3" });
  t.equal((await s.version({ dataset: "ds" })).tag, "v1");
  const dir = tempDir(t);
  writeTree(dir, { "data.txt": "ds 4\n" });
  const next = await s.push(dir, { dataset: "ds" });
  t.same([next.version.tag, next.version.parentTag], ["v4", "v1"], "numbering goes on; the parent is the latest live version");
});

t.test("deleting a dataset: refused when used unless forced; its name can be pushed to again", async (t) => {
  const s = await openTestStrata(t);
  const cli = cliSession(t);
  const db = await connect(t, s.databaseUrl);
  await versions(t, s, "raw", 2);
  await versions(t, s, "other", 1);
  await useVersion(db, "raw", "v1");
  t.equal(await sqlstateOf(() => s.deleteDataset("raw")), Sqlstate.versionInUse);
  const r = await cli(["rm", "raw", "--all", "--force"], s.env);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /deleted raw@v2\ndeleted raw@v1\ndeleted dataset raw/);
  t.same(
    (await s.datasets()).map((d) => d.name),
    ["other"],
    "it leaves the list of datasets",
  );
  t.equal((await cli(["log", "raw"], s.env)).code, 3, "and is not found");
  const dir = tempDir(t);
  writeTree(dir, { "new.txt": "again" });
  const again = await s.push(dir, { dataset: "raw" });
  t.same([again.version.tag, again.version.parentTag], ["v3", null], "a push starts it again, numbering on");
  t.same(
    (await s.datasets()).map((d) => [d.name, d.versionCount]),
    [
      ["raw", 1],
      ["other", 1],
    ],
  );
});

t.test("a retention policy keeps the latest, the last N, the young, the tagged and the used", async (t) => {
  const s = await openTestStrata(t);
  const cli = cliSession(t);
  const db = await connect(t, s.databaseUrl);
  await versions(t, s, "ds", 8, { 2: "golden" });
  await versions(t, s, "kept", 3);
  await useVersion(db, "ds", "v3");
  // v1-v5 were made 40 days ago, v6-v8 today.
  await db.query("begin");
  await db.query("set local role strata_owner");
  await db.query("select set_config('strata.maintenance', 'on', true)");
  await db.query("update strata.versions set created_at = created_at - interval '40 days' where seq <= 5");
  await db.query("commit");

  t.equal(await sqlstateOf(() => s.applyRetention("ds")), Sqlstate.noRetentionPolicy);
  t.equal((await cli(["retention", "set", "ds"], s.env)).code, 2, "set needs a rule");
  t.equal((await cli(["retention", "set", "ds", "--keep-last", "0"], s.env)).code, 2);
  t.equal((await cli(["retention", "set", "ds", "--keep-within", "soon"], s.env)).code, 2, "an interval PostgreSQL cannot read");
  const set = await cli(["retention", "set", "ds", "--keep-last", "2", "--keep-within", "30d"], s.env);
  t.equal(set.code, 0, set.stderr);
  const show = await cli(["retention", "show", "--json"], s.env);
  t.match(JSON.parse(show.stdout), [{ dataset: "ds", keepLast: 2, keepWithin: "30 days" }]);

  const expected: Record<string, string | null> = {
    v8: "latest",
    v7: "one of the last 2",
    v6: "younger than 30 days",
    v5: null,
    v4: null,
    v3: "input of run train-fraud (1)",
    golden: "tagged",
    v1: null,
  };
  const dry = await s.applyRetention("ds", true);
  t.same(Object.fromEntries(dry.map((d) => [d.tag, d.keptBecause])), { ...expected, v3: dry.find((d) => d.tag === "v3")!.keptBecause });
  t.match(
    dry.find((d) => d.tag === "v3")!.keptBecause,
    /^input of run train-fraud \(\d+\); trained model fraud\/1 \(alias production\); used by model fraud\/1 \(alias production\)$/,
  );
  t.equal((await s.log("ds")).length, 8, "a dry run deletes nothing");
  const real = await cli(["retention", "apply", "--json"], s.env);
  t.equal(real.code, 0, real.stderr);
  t.same(
    JSON.parse(real.stdout),
    JSON.parse(JSON.stringify(dry)),
    "the real run decides what the dry run said, for every dataset with a policy",
  );
  t.same(
    (await s.log("ds")).map((v) => v.tag),
    ["v8", "v7", "v6", "v3", "golden"],
  );
  t.equal((await s.log("kept")).length, 3, "a dataset without a policy keeps everything");

  const unset = await cli(["retention", "unset", "ds"], s.env);
  t.equal(unset.code, 0);
  t.same(await s.retentionPolicies(), []);
});

t.test("only an admin deletes", async (t) => {
  const s = await openTestStrata(t);
  const db = await connect(t, s.databaseUrl);
  await versions(t, s, "ds", 1);
  const name = `writer_${process.pid}`;
  await db.query(`drop role if exists ${name}`);
  await db.query(`create role ${name} login password 'pw'`);
  t.teardown(async () => {
    const c = new pg.Client({ connectionString: s.databaseUrl });
    await c.connect();
    await c.query(`drop role if exists ${name}`).catch(() => {});
    await c.end();
  });
  await db.query("select strata.grant_role($1, 'writer')", [name]);
  const u = new URL(s.databaseUrl);
  u.username = name;
  u.password = "pw";
  const writer = await connect(t, u.toString());
  for (const sql of [
    "select * from strata.delete_version('ds', 'v1')",
    "select * from strata.delete_dataset('ds')",
    "select strata.set_retention('ds', 1)",
    "select * from strata.apply_retention()",
    "select * from strata.gc_begin()",
  ])
    t.equal(await sqlstateOf(() => writer.query(sql)), "42501", sql);
  t.ok((await writer.query("select * from strata.v_storage_datasets")).rows.length === 1, "a writer reads where the bytes are");
});
