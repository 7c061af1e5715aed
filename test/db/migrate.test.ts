import { readdirSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { migrate } from "../../loader/db/migrate.js";
import { projectRoot } from "../../loader/paths.js";
import { Session } from "../../loader/session.js";
import { emptyDatabase } from "../helpers/harness.js";
import { connect } from "../helpers/db.js";
import { tempDir } from "../helpers/strata.js";
import { commitFiles } from "../helpers/versions.js";

/** The names of all migrations of this release, in order. */
const ALL = readdirSync(join(projectRoot(), "migrations"))
  .filter((f) => f.endsWith(".sql"))
  .map((f) => f.slice(0, -4))
  .sort();

/** Everything migrate creates in schema strata, as text: compare before and after. */
async function schemaSnapshot(db: import("pg").Client): Promise<string> {
  const { rows } = await db.query(`
    select string_agg(x, E'\n' order by x) as s from (
      select 'rel ' || c.relname || ' ' || c.relkind::text || ' ' || c.oid as x
        from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'strata'
      union all
      select 'fn ' || p.proname || ' ' || p.oid || ' ' || md5(p.prosrc) || ' ' || p.xmin::text
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'strata'
      union all
      select 'mig ' || name from strata.migrations
      union all
      select 'install ' || id from strata._installs) q`);
  return rows[0].s;
}

t.test("migrating twice changes nothing the second time", async (t) => {
  const url = await emptyDatabase(t);
  const first = await migrate(url);
  t.same(first.applied, ALL);
  t.equal(first.storedLogic, "installed");
  const db = await connect(t, url);
  const before = await schemaSnapshot(db);
  const second = await migrate(url);
  t.same(second, { applied: [], storedLogic: "unchanged" });
  t.equal(await schemaSnapshot(db), before, "no object was created, replaced or dropped");
});

t.test("upgrading a database of the first release keeps its rows", async (t) => {
  const url = await emptyDatabase(t);
  const old = await migrate(url, { count: 1, skipStoredLogic: true });
  t.same(old.applied, ["001_schema"]);
  const db = await connect(t, url);
  await db.query("insert into strata.datasets (name, description) values ('old-one', 'made by release 1'), ('old-two', null)");
  t.equal((await db.query("select to_regclass('strata.tabular_rows') as r")).rows[0].r, null, "release 1 has no tabular_rows");

  const up = await migrate(url);
  t.same(up.applied, ALL.slice(1));
  const { rows } = await db.query("select name, description from strata.v_datasets order by name");
  t.same(rows, [
    { name: "old-one", description: "made by release 1" },
    { name: "old-two", description: null },
  ]);
  await db.query("select strata.create_dataset('new-one')");
  t.equal((await db.query("select count(*)::int as n from strata.datasets")).rows[0].n, 3);
});

t.test("two migrators at once: both succeed, the migrations apply once", async (t) => {
  const url = await emptyDatabase(t);
  const [a, b] = await Promise.all([migrate(url), migrate(url)]);
  t.same([...a.applied, ...b.applied].sort(), ALL);
  t.same([a.storedLogic, b.storedLogic].sort(), ["installed", "unchanged"]);
});

t.test("an upgrade drops wrappers this release no longer declares", async (t) => {
  const url = await emptyDatabase(t);
  await migrate(url);
  const db = await connect(t, url);
  // a wrapper of an older release, with arguments the current one no longer has
  await db.query("create function strata.create_dataset(name text) returns bigint language pllua as $$ return 0 $$");
  await db.query("delete from strata._installs");
  t.equal((await migrate(url)).storedLogic, "installed");
  const { rows } = await db.query(
    "select pg_get_function_identity_arguments(p.oid) as args from pg_proc p where p.proname = 'create_dataset'",
  );
  t.same(rows, [{ args: "name text, description text, chunking jsonb" }]);
});

t.test("upgrading from the release whose ls, blob_chunks, datasets() and versions() were PL/Lua", async (t) => {
  const url = await emptyDatabase(t);
  await migrate(url);
  const db = await connect(t, url);
  // That release's functions, as its migrator left them (bodies do not matter here).
  await db.query("drop function strata.ls(text, text, text), strata.blob_chunks(bytea[]), strata.version_history(text)");
  await db.query(`
    create function strata.ls(dataset text, tag text, prefix text default '')
      returns table(path text, kind text, size bigint, content_hash bytea, target text) language pllua stable as $$ $$;
    create function strata.blob_chunks(blobs bytea[])
      returns table(blob bytea, seq integer, chunk bytea, size integer, pack bytea, pack_offset bigint, stored_size integer)
      language pllua stable as $$ $$;
    create function strata.datasets() returns setof strata.v_datasets language pllua stable as $$ $$;
    create function strata.versions(dataset text) returns setof strata.v_versions language pllua stable as $$ $$;
    delete from strata._installs;`);
  t.equal((await migrate(url)).storedLogic, "installed");
  const { rows } = await db.query(
    `select p.proname as name, l.lanname as lang, pg_get_function_result(p.oid) as result
     from pg_proc p join pg_language l on l.oid = p.prolang
     where p.proname in ('ls', 'blob_chunks', 'datasets', 'versions', 'version_history') order by 1`,
  );
  t.same(
    rows.map((r) => [r.name, r.lang]),
    [
      ["blob_chunks", "sql"],
      ["ls", "sql"],
      ["version_history", "pllua"],
    ],
    "datasets() and versions() are gone, ls and blob_chunks are SQL",
  );
  t.match(rows.find((r) => r.name === "ls")?.result, "hash bytea");
  const session = await Session.open({ databaseUrl: url, migrate: false, store: `file://${tempDir(t)}`, home: tempDir(t) });
  t.teardown(() => session.close());
  await commitFiles(session, "d", { "a/b": "x" }, { tag: "one" });
  t.same((await db.query("select path from strata.ls('d', 'one')")).rows, [{ path: "a/b" }]);
  t.same((await db.query("select tag from strata.version_history('d')")).rows, [{ tag: "one" }]);
});
