import t from "tap";
import { freshDatabase } from "../helpers/harness.js";
import { strata } from "../helpers/cli.js";

t.test("dataset create and list against DATABASE_URL", async (t) => {
  const env = { DATABASE_URL: await freshDatabase(t) };
  const created = await strata(["dataset", "create", "demo", "--description", "a demo"], env);
  t.equal(created.code, 0, created.stderr);
  t.equal(created.stdout, "created dataset demo\n");

  const table = await strata(["dataset", "list"], env);
  t.equal(table.code, 0);
  t.match(table.stdout, /^NAME\s+VERSIONS\s+LATEST/);
  t.match(table.stdout, /\ndemo\s+0\s/);

  const json = await strata(["dataset", "list", "--json"], env);
  const list = JSON.parse(json.stdout) as { name: string; description: string; versionCount: number }[];
  t.same(
    list.map((d) => [d.name, d.description, d.versionCount]),
    [["demo", "a demo", 0]],
  );
});

t.test("bad input: one line on stderr, its exit code, nothing created", async (t) => {
  const env = { DATABASE_URL: await freshDatabase(t) };
  const bad = await strata(["dataset", "create", "no/slash"], env);
  t.equal(bad.code, 2);
  t.equal(bad.stderr.trim().split("\n").length, 1, "one line");
  t.match(bad.stderr, /^strata: invalid dataset name "no\/slash"/);

  await strata(["dataset", "create", "twice"], env);
  const dup = await strata(["dataset", "create", "twice"], env);
  t.equal(dup.code, 4);
  t.equal(dup.stderr, 'strata: dataset "twice" already exists\n');

  const list = JSON.parse((await strata(["dataset", "list", "--json"], env)).stdout) as unknown[];
  t.equal(list.length, 1);

  const usage = await strata(["dataset", "create"], env);
  t.equal(usage.code, 2, "a missing argument is a usage error");
});

t.test("an unreachable database is named in one line with exit code 5", async (t) => {
  const r = await strata(["dataset", "list"], { DATABASE_URL: "postgresql://strata@127.0.0.1:9/strata" });
  t.equal(r.code, 5);
  t.match(r.stderr, /^strata: cannot reach the database at 127\.0\.0\.1:9\/strata/);
  t.equal(r.stderr.trim().split("\n").length, 1);
});
