import t from "tap";
import { Sqlstate } from "../../stored/errors.js";
import { freshDatabase } from "../helpers/harness.js";
import { connect, sqlstateOf } from "../helpers/db.js";

t.test("create_dataset returns ids and datasets() lists them oldest first", async (t) => {
  const db = await connect(t, await freshDatabase(t));
  const a = (await db.query("select strata.create_dataset('imagenet-1k', 'ILSVRC 2012') as id")).rows[0].id;
  const b = (await db.query("select strata.create_dataset('a.b_c-9') as id")).rows[0].id;
  t.ok(Number(b) > Number(a), "ids increase");
  const { rows } = await db.query("select name, description, version_count, latest_tag from strata.datasets()");
  t.same(rows, [
    { name: "imagenet-1k", description: "ILSVRC 2012", version_count: "0", latest_tag: null },
    { name: "a.b_c-9", description: null, version_count: "0", latest_tag: null },
  ]);
  const view = await db.query("select name from strata.v_datasets order by id");
  t.same(
    view.rows.map((r) => r.name),
    ["imagenet-1k", "a.b_c-9"],
    "the view shows the same",
  );
});

t.test("a bad name raises ST001 naming the problem and creates nothing", async (t) => {
  const db = await connect(t, await freshDatabase(t));
  const bad: [string | null, RegExp][] = [
    ["", /must not be empty/],
    [null, /must not be null/],
    ["-leading-dash", /invalid dataset name "-leading-dash"/],
    [".hidden", /invalid dataset name/],
    ["has space", /invalid dataset name/],
    ["slash/inside", /invalid dataset name/],
    ["ünicode", /invalid dataset name/],
    ["x".repeat(129), /129 characters long; the limit is 128/],
  ];
  for (const [name, message] of bad) {
    try {
      await db.query("select strata.create_dataset($1)", [name]);
      t.fail(`accepted ${JSON.stringify(name)}`);
    } catch (e) {
      const err = e as { code: string; message: string };
      t.equal(err.code, Sqlstate.invalidName, `${JSON.stringify(name)} raises ST001`);
      t.match(err.message, message);
    }
  }
  t.equal((await db.query("select strata.create_dataset($1) as id", ["x".repeat(128)])).rowCount, 1, "128 characters is fine");
  t.equal((await db.query("select count(*)::int as n from strata.datasets")).rows[0].n, 1, "only the good name was stored");
});

t.test("a duplicate name raises ST002 and keeps the first", async (t) => {
  const db = await connect(t, await freshDatabase(t));
  await db.query("select strata.create_dataset('demo', 'first')");
  const code = await sqlstateOf(() => db.query("select strata.create_dataset('demo', 'second')"));
  t.equal(code, Sqlstate.datasetExists);
  const { rows } = await db.query("select description from strata.datasets where name = 'demo'");
  t.same(rows, [{ description: "first" }]);
});

t.test("the table refuses bad names even without the function", async (t) => {
  const db = await connect(t, await freshDatabase(t));
  t.equal(await sqlstateOf(() => db.query("insert into strata.datasets (name) values ('-x')")), "23514");
});
