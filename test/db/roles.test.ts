// Least privilege: the SQL API is the only door. Logins of each Strata role do what the
// role allows and nothing more; no login is a superuser; no role writes a table directly;
// history refuses changes even from a superuser, outside the owner's maintenance window.

import pg from "pg";
import t from "tap";
import { migrate } from "../../loader/db/migrate.js";
import { Strata } from "../../loader/strata.js";
import { Sqlstate } from "../../stored/errors.js";
import { connect } from "../helpers/db.js";
import { freshDatabase, type TestLike } from "../helpers/harness.js";
import { tempDir, testStore, writeTree } from "../helpers/strata.js";

/** A login on the test cluster with `role` (granted by an admin call), dropped at the end. */
async function login(t: TestLike, admin: pg.Client, url: string, name: string, role?: "reader" | "writer" | "admin"): Promise<string> {
  await admin.query(`drop role if exists ${name}`);
  await admin.query(`create role ${name} login password 'pw'`);
  t.teardown(async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(`drop owned by ${name}`).catch(() => {});
    await c.query(`drop role if exists ${name}`).catch(() => {});
    await c.end();
  });
  if (role !== undefined) await admin.query("select strata.grant_role($1, $2)", [name, role]);
  const u = new URL(url);
  u.username = name;
  u.password = "pw";
  return u.toString();
}

async function codeOf(c: pg.Client, sql: string, params: unknown[] = []): Promise<string> {
  try {
    await c.query(sql, params);
    return "ok";
  } catch (e) {
    return (e as { code: string }).code;
  }
}

t.test("each role does what it may, and nothing more", async (t) => {
  const url = await freshDatabase(t);
  const su = await connect(t, url);
  const tag = `${process.pid}`;
  const readerUrl = await login(t, su, url, `r_${tag}`, "reader");
  const writerUrl = await login(t, su, url, `w_${tag}`, "writer");
  const adminUrl = await login(t, su, url, `a_${tag}`, "admin");
  const nobodyUrl = await login(t, su, url, `n_${tag}`);

  // A writer pushes through the SQL API alone.
  const { store } = await testStore(t, "file");
  const writer = await Strata.open({ databaseUrl: writerUrl, store, home: tempDir(t) });
  t.teardown(() => writer.close());
  const dir = tempDir(t);
  writeTree(dir, { "a.txt": "a", "b/c.txt": "c" });
  const pushed = await writer.push(dir, { dataset: "ds" });
  t.equal(pushed.version.tag, "v1", "a writer pushes");

  const reader = await connect(t, readerUrl);
  t.same((await reader.query("select tag from strata.v_versions")).rows, [{ tag: "v1" }], "a reader reads the views");
  t.equal((await reader.query("select * from strata.ls('ds', 'v1')")).rowCount, 2, "and the read functions");
  t.equal(await codeOf(reader, "select * from strata.push_begin('ds')"), "42501", "a reader cannot push");
  t.equal(await codeOf(reader, "select strata.create_dataset('x')"), "42501", "nor create a dataset");
  t.equal(await codeOf(reader, "select * from strata.versions"), "42501", "tables are the owner's: only views and functions");

  const w = await connect(t, writerUrl);
  t.equal(await codeOf(w, "select strata.grant_role('x', 'reader')"), "42501", "a writer grants no roles");
  t.equal(await codeOf(w, "copy (select 1) to program 'id'"), "42501", "COPY ... TO PROGRAM is refused");
  t.equal(await codeOf(w, "select pg_read_file('/etc/passwd')"), "42501", "so is reading server files");

  const nobody = await connect(t, nobodyUrl);
  t.equal(await codeOf(nobody, "select * from strata.v_versions"), "42501", "a login without a role sees nothing");
  t.equal(await codeOf(nobody, "select * from strata.ls('ds', 'v1')"), "42501");

  // No login of any role writes or deletes a table directly.
  const tables = (
    await su.query<{ name: string; col: string }>(
      `select t.tablename as name, (select a.attname from pg_attribute a where a.attrelid = ('strata.' || t.tablename)::regclass and a.attnum > 0 and a.attidentity = '' order by a.attnum limit 1) as col
       from pg_tables t where t.schemaname = 'strata' order by 1`,
    )
  ).rows;
  t.ok(tables.length >= 15, `${tables.length} tables`);
  const a = await connect(t, adminUrl);
  for (const [who, c] of [
    ["writer", w],
    ["admin", a],
    ["reader", reader],
  ] as const) {
    const refused: string[] = [];
    for (const { name, col } of tables)
      for (const sql of [
        `delete from strata.${name}`,
        `update strata.${name} set ${col} = ${col}`,
        `truncate strata.${name}`,
        `insert into strata.${name} default values`,
      ])
        if ((await codeOf(c, sql)) !== "42501") refused.push(sql);
    t.same(refused, [], `a ${who} writes no table directly`);
  }

  // No login is a superuser, and the group roles cannot log in.
  const supers = (
    await su.query(
      "select rolname from pg_roles where rolsuper or (rolname like 'strata\\_%' and rolcanlogin and rolname not in ('strata_app', 'strata_bi'))",
    )
  ).rows.map((r) => r.rolname as string);
  t.notOk(
    supers.some((r) => r.startsWith("strata_")),
    `no Strata role is a superuser or a login: ${supers.join(", ")}`,
  );
  t.equal((await su.query("select has_schema_privilege('public', 'strata', 'usage') as p")).rows[0].p, false, "PUBLIC gets nothing");

  // An admin grants and revokes; the audit table records it.
  t.equal(await codeOf(a, "select strata.grant_role($1, 'reader')", [`n_${tag}`]), "ok");
  t.equal((await nobody.query("select count(*)::int as n from strata.v_versions")).rows[0].n, 1, "the granted login now reads");
  t.equal(await codeOf(a, "select strata.revoke_role($1, 'reader')", [`n_${tag}`]), "ok");
  t.equal(await codeOf(nobody, "select * from strata.v_versions"), "42501", "and no longer after the revoke");
  t.equal(await codeOf(a, "select strata.grant_role('no_such_login_x', 'reader')"), Sqlstate.unknownRole);
  t.equal(await codeOf(a, "select strata.grant_role($1, 'superuser')", [`n_${tag}`]), Sqlstate.invalidArgument);
  t.equal(await codeOf(a, "select strata.grant_role('strata_owner', 'admin')"), Sqlstate.invalidArgument, "the group roles are not logins");
  t.same(
    (await su.query("select action from strata.audit where action like '% role' order by id")).rows.map((r) => r.action),
    ["grant role", "grant role", "grant role", "grant role", "revoke role"],
  );

  // History refuses changes even from a superuser.
  for (const sql of [
    "delete from strata.versions",
    "update strata.chunks set size = size",
    "truncate strata.tree_entries cascade",
    "delete from strata.lineage_edges",
  ])
    t.equal(await codeOf(su, sql), Sqlstate.historyImmutable, sql);
  t.equal((await su.query("select count(*)::int as n from strata.versions")).rows[0].n, 1, "the version is still there");
});

t.test("a login that may not migrate is told what it needs, and nothing is installed", async (t) => {
  const url = await freshDatabase(t);
  const su = await connect(t, url);
  const name = `m_${process.pid}`;
  const loginUrl = await login(t, su, url, name);
  const db = `mig_${process.pid}`;
  await su.query(`create database ${db} owner ${name} template template0`);
  t.teardown(async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(`drop database if exists ${db} with (force)`);
    await c.end();
  });
  const target = new URL(loginUrl);
  target.pathname = `/${db}`;
  const superTarget = new URL(url);
  superTarget.pathname = `/${db}`;
  const su2 = new pg.Client({ connectionString: superTarget.toString() });
  await su2.connect();
  await su2.query("create extension pllua"); // a trusted extension a database owner may make, done ahead here
  await su2.end();
  const err = await migrate(target.toString()).catch((e: unknown) => e);
  t.match(err, {
    code: "42501",
    message: /strata migrate needs CREATEROLE, or membership in strata_owner \(grant strata_owner to m_\d+\)/,
  });
  const c = new pg.Client({ connectionString: target.toString() });
  await c.connect();
  t.equal((await c.query("select to_regclass('strata.versions') as t")).rows[0].t, null, "nothing installed");
  await c.end();
});

t.test("runs, models and lineage: writers write them through functions, readers read them, the login is who did it", async (t) => {
  const url = await freshDatabase(t);
  const su = await connect(t, url);
  const tag = `${process.pid}x`;
  const reader = await connect(t, await login(t, su, url, `lr_${tag}`, "reader"));
  const writer = await connect(t, await login(t, su, url, `lw_${tag}`, "writer"));
  const { store } = await testStore(t, "file");
  const w = await Strata.open({ databaseUrl: await login(t, su, url, `lp_${tag}`, "writer"), store, home: tempDir(t) });
  t.teardown(() => w.close());
  const dir = tempDir(t);
  writeTree(dir, { "a.txt": "a" });
  await w.push(dir, { dataset: "ds" });

  const run = (await writer.query("select strata.start_experiment('r', '{\"train\": \"ds\"}')::text as id")).rows[0].id;
  t.equal(await codeOf(writer, "select strata.log_metrics($1, '{\"loss\": 1}')", [run]), "ok", "a writer logs metrics");
  await w.pushModel(dir, { model: "m", run });
  t.equal(await codeOf(writer, "select * from strata.set_alias('m', 'prod', 1)"), "ok", "a writer moves aliases");
  t.equal(await codeOf(writer, "select strata.add_edge('model:m/1', 'checked_against', 'dataset:ds@v1')"), "ok", "and adds edges");
  for (const sql of [
    "select strata.start_experiment('x')",
    `select strata.log_metrics('${run}', '{"loss": 2}', 5)`,
    `select * from strata.finish_experiment('${run}', 'failed')`,
    "select * from strata.model_push_begin('m')",
    "select * from strata.set_alias('m', 'prod', 1)",
    "select * from strata.rollback_alias('m', 'prod')",
    "select strata.add_edge('dataset:ds@v1', 'x', 'model:m/1')",
  ])
    t.equal(await codeOf(reader, sql), "42501", `a reader cannot: ${sql}`);
  for (const sql of [
    "select * from strata.v_runs",
    "select * from strata.v_metrics",
    "select * from strata.v_models",
    "select * from strata.v_model_versions",
    "select * from strata.v_aliases",
    "select * from strata.v_alias_history",
    "select * from strata.v_lineage_nodes",
    "select * from strata.v_lineage_edges",
    "select * from strata.lineage('model:m/1')",
    "select * from strata.impact('dataset:ds@v1', 'a.txt')",
    "select * from strata.versions_containing('ds', 'v1', 'a.txt')",
    "select * from strata.model_ls('m')",
    "select strata.resolve_alias('m', 'prod', 'k')",
    `select * from strata.run('${run}')`,
  ])
    t.equal(await codeOf(reader, sql), "ok", `a reader reads: ${sql}`);
  t.same(
    (
      await reader.query(
        `select (select author from strata.v_runs) as run_author, (select author from strata.v_model_versions) as model_author,
                (select changed_by from strata.v_alias_history) as mover,
                (select created_by from strata.v_lineage_edges where origin = 'user') as edge_author`,
      )
    ).rows[0],
    { run_author: `lw_${tag}`, model_author: `lp_${tag}`, mover: `lw_${tag}`, edge_author: `lw_${tag}` },
    "each row names the login that made it, not the functions' owner",
  );
});
