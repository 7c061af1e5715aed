import { rmSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { strata } from "../helpers/cli.js";
import { openTestStrata, tempDir, writeTree } from "../helpers/strata.js";

t.test("diff, diff --rows and ls through the CLI", async (t) => {
  const s = await openTestStrata(t);
  const dir = tempDir(t);
  writeTree(dir, { "labels.csv": "id,label\n1,cat\n2,dog\n2,dog\n", "img/a.jpg": "a", "img/b.jpg": "b", "notes.txt": "n" });
  t.equal((await strata(["push", dir, "--dataset", "ds"], s.env)).code, 0);
  writeTree(dir, { "labels.csv": "id,label\n1,cat\n2,bird\n2,dog\n3,cow\n", "img/c.jpg": "c" });
  rmSync(join(dir, "img/b.jpg"));
  t.equal((await strata(["push", dir, "--dataset", "ds"], s.env)).code, 0);

  const d = await strata(["diff", "ds@v1", "ds@v2"], s.env);
  t.equal(d.code, 0, d.stderr);
  const lines = d.stdout.trim().split("\n");
  t.match(lines[0], /^1 added, 1 removed, 1 modified, 0 changed type; /);
  t.same(lines.slice(1), ["- img/b.jpg", "+ img/c.jpg", "~ labels.csv (27 B -> 34 B)"]);

  const json = JSON.parse((await strata(["diff", "ds@v1", "ds", "--json"], s.env)).stdout) as {
    changes: { path: string; change: string }[];
  };
  t.same(
    json.changes.map((c) => `${c.change} ${c.path}`),
    ["removed img/b.jpg", "added img/c.jpg", "modified labels.csv"],
    "NAME alone means the latest",
  );

  const rows = await strata(["diff", "ds@v1", "ds@v2", "--rows", "labels.csv"], s.env);
  t.equal(rows.code, 0, rows.stderr);
  t.same(
    rows.stdout.trim().split("\n"),
    ["labels.csv: 3 rows -> 4; 2 added, 1 removed, 2 unchanged", "- 2: 2,dog", "+ 2: 2,bird", "+ 4: 3,cow"],
    "a duplicated row removed once is one removal, shown with its text",
  );

  const rowsJson = JSON.parse((await strata(["diff", "ds@v1", "ds@v2", "--rows", "labels.csv", "--json", "--limit", "2"], s.env)).stdout);
  t.same(
    rowsJson,
    {
      summary: { rowsA: 3, rowsB: 4, added: 2, removed: 1, unchanged: 2, headerChanged: false },
      rows: [
        { change: "removed", rowNumber: 2, text: "2,dog" },
        { change: "added", rowNumber: 2, text: "2,bird" },
      ],
      more: 1,
    },
    "--json: camelCase keys, the rows' text, and --limit",
  );
  const missing = await strata(["diff", "ds@v1", "ds@v2", "--rows", "nope.csv"], s.env);
  t.equal(missing.code, 3, "a path in neither version is not found");
  t.equal(missing.stderr, 'strata: no file "nope.csv" in either version (see the paths with strata ls)\n');
  const badLimit = await strata(["diff", "ds@v1", "ds@v2", "--rows", "labels.csv", "--limit", "-1"], s.env);
  t.equal(badLimit.code, 2);

  const ls = await strata(["ls", "ds@v2", "img/"], s.env);
  t.match(ls.stdout, /img\/a\.jpg\n.*img\/c\.jpg\n$/);
  const none = await strata(["ls", "ds@v2", "nothing/here", "--json"], s.env);
  t.same(JSON.parse(none.stdout), [], "a prefix that matches nothing lists nothing");

  const notTabular = await strata(["diff", "ds@v1", "ds@v2", "--rows", "notes.txt"], s.env);
  t.equal(notTabular.code, 2);
  t.match(notTabular.stderr, /^strata: "notes\.txt" in version v1 has no row hashes/);
  const unknown = await strata(["diff", "ds@v1", "ds@v7"], s.env);
  t.equal(unknown.code, 3);
  t.match(unknown.stderr, /^strata: dataset "ds" has no version "v7"\n$/);
});
