import t from "tap";
import { Sqlstate } from "../../stored/errors.js";
import { freshDatabase } from "../helpers/harness.js";
import { connect, sqlstateOf } from "../helpers/db.js";
import { commitFiles, versionsDb } from "../helpers/versions.js";

t.test("create_dataset returns ids and v_datasets lists them", async (t) => {
  const db = await connect(t, await freshDatabase(t));
  const a = (await db.query("select strata.create_dataset('imagenet-1k', 'ILSVRC 2012') as id")).rows[0].id;
  const b = (await db.query("select strata.create_dataset('a.b_c-9') as id")).rows[0].id;
  t.ok(Number(b) > Number(a), "ids increase");
  const { rows } = await db.query("select name, description, version_count, latest_tag from strata.v_datasets order by created_at, id");
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

t.test("chunking must be an object of whole byte counts in order", async (t) => {
  const db = await connect(t, await freshDatabase(t));
  await db.query(`select strata.create_dataset('ok', null, '{"min": 1024, "avg": 4096, "max": 65536}')`);
  const { rows } = await db.query("select chunking from strata.datasets where name = 'ok'");
  t.same(rows, [{ chunking: { min: 1024, avg: 4096, max: 65536 } }]);
  const bad: [string, RegExp][] = [
    ['{"min": 1024.5, "avg": 4096, "max": 65536}', /chunking.min must be a whole number/],
    ['{"min": 1024, "avg": "4096", "max": 65536}', /chunking.avg must be a whole number/],
    ['{"min": 1024, "avg": 4096}', /chunking.max must be a whole number/],
    ['{"min": 4096, "avg": 1024, "max": 65536}', /min < avg < max/],
    ['{"min": 32, "avg": 1024, "max": 65536}', /64 <= min/],
    ["5", /must be an object/],
    ["null", /must be an object/],
    ['"x"', /must be an object/],
    ["[1, 2, 3]", /chunking.min must be a whole number/],
  ];
  for (const [chunking, message] of bad) {
    await t.rejects(
      db.query("select strata.create_dataset('d', null, $1)", [chunking]),
      { code: Sqlstate.invalidArgument, message },
      chunking,
    );
  }
  t.equal((await db.query("select count(*)::int as n from strata.datasets")).rows[0].n, 1);
});

t.test("the name rule, character by character", async (t) => {
  const db = await connect(t, await freshDatabase(t));
  for (const name of ["a", "Z", "0", "a.b-c_d", "9lives", "x".repeat(128)])
    t.equal((await db.query("select strata.create_dataset($1) as id", [name])).rowCount, 1, name);
  for (const [name, message] of [
    ["_a", /invalid dataset name/],
    ["a/b", /invalid dataset name/],
    ["a\u007fb", /invalid dataset name/],
    ["é".repeat(100), /invalid dataset name/],
    ["y".repeat(129), /129 characters long/],
  ] as const)
    await t.rejects(db.query("select strata.create_dataset($1)", [name]), { code: Sqlstate.invalidName, message }, name);
});

t.test("tags v1, v2, ... are reserved; names that only look like them are not", async (t) => {
  const { session } = await versionsDb(t);
  for (const tag of ["v", "v1a", "V2", "vv1", "v-1"]) t.equal((await commitFiles(session, "d", { a: tag }, { tag })).tag, tag, tag);
  for (const tag of ["v0", "v12", "v007"])
    await t.rejects(
      commitFiles(session, "d", { a: tag }, { tag }),
      { code: Sqlstate.invalidName, message: `tag "${tag}" is reserved` },
      tag,
    );
});
