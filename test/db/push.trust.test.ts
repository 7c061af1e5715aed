// Push on trees as real folders have them: repeated folders and files, executable bits,
// empty folders, names that are not UTF-8, files rewritten behind the index's back or
// while being read, pushes that change nothing, metadata with exact numbers.

import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { strata } from "../helpers/cli.js";
import { bytes, openTestStrata, tempDir, writeTree } from "../helpers/strata.js";

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

t.test("folders with identical contents (a node_modules) push, each tree staged once", async (t) => {
  const s = await openTestStrata(t);
  const dir = tempDir(t);
  const pkg = { "index.js": "module.exports = 1;\n", "package.json": '{"name":"p"}\n', "lib/util.js": "x" };
  const spec: Record<string, string | Buffer> = {};
  for (const where of ["node_modules/a", "node_modules/b/node_modules/a", "node_modules/c/node_modules/a"])
    for (const [p, v] of Object.entries(pkg)) spec[`${where}/${p}`] = v;
  spec["a/x.txt"] = "hello";
  spec["b/x.txt"] = "hello";
  writeTree(dir, spec);
  const r = await s.push(dir, { dataset: "nm" });
  t.equal(r.version.fileCount, 11);
  const [row] = await s.query<{ n: number }>(
    "select count(*)::int as n from strata.tree_entries e where e.tree in (select hash from strata.trees) and e.name = 'util.js'",
  );
  t.equal(row!.n, 1, "the three copies of lib/ are one tree");
  const ls = await s.ls({ dataset: "nm" });
  t.equal(ls.length, 11, "every copy is listed at its own path");
  t.equal(ls.filter((f) => f.path.endsWith("/x.txt"))[1]?.hash, sha("hello"));
});

t.test("names that are not UTF-8 are refused, escaped, nothing committed", async (t) => {
  const s = await openTestStrata(t);
  const dir = tempDir(t);
  writeTree(dir, { "ok.txt": "fine" });
  // A name of raw bytes: Node's fs takes a Buffer path.
  writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), Buffer.from([0xff, 0xfe]), Buffer.from(".bin")]), "bytes");
  await t.rejects(s.push(dir, { dataset: "bad" }), { kind: "usage", message: /\\xff\\xfe\.bin: its name is not valid UTF-8/ });
  t.same(await s.query("select 1 from strata.versions"), [], "nothing committed");
});

t.test("contents rewritten with the mtime put back are noticed (ctime), as are same-size rewrites", async (t) => {
  const s = await openTestStrata(t);
  const dir = tempDir(t);
  const file = join(dir, "labels.csv");
  writeFileSync(file, "id,label\n1,cat\n");
  utimesSync(file, 1_700_000_000, 1_700_000_000); // a whole second: utimes can put it back exactly
  await s.push(dir, { dataset: "ds" });
  const before = statSync(file);
  writeFileSync(file, "id,label\n1,dog\n"); // same size
  utimesSync(file, 1_700_000_000, 1_700_000_000); // mtime put back; ctime moves
  t.equal(statSync(file).mtimeMs, before.mtimeMs, "same size and mtime as at the last push");
  const r = await s.push(dir, { dataset: "ds" });
  t.equal(r.unchanged, false);
  t.equal(r.unchangedFiles, 0, "the index did not vouch for the rewritten file");
  const [f] = await s.ls({ dataset: "ds", tag: r.version.tag });
  t.equal(f?.hash, sha("id,label\n1,dog\n"), "the new contents are recorded");
});

t.test("pushing an unchanged folder returns the head; --allow-empty, a tag or a message record one", async (t) => {
  const s = await openTestStrata(t);
  const dir = tempDir(t);
  writeTree(dir, { "a.bin": bytes(100_000, 3), "b/c.txt": "c" });
  const first = await s.push(dir, { dataset: "ds" });
  const again = await s.push(dir, { dataset: "ds" });
  t.equal(again.unchanged, true);
  t.equal(again.version.tag, "v1", "the head comes back");
  t.equal(again.newBytes, 0);
  t.equal((await s.log("ds")).length, 1, "no new version");
  t.equal((await s.push(dir, { dataset: "ds", allowEmpty: true })).version.tag, "v2");
  t.equal((await s.push(dir, { dataset: "ds", message: "same data, new note" })).version.tag, "v3");
  t.equal((await s.push(dir, { dataset: "ds", tag: "gold" })).version.tag, "gold");
  t.equal(first.unchanged, false);
});

t.test("executable bits and empty folders are part of the version", async (t) => {
  const s = await openTestStrata(t);
  const dir = tempDir(t);
  writeTree(dir, { "run.sh": "#!/bin/sh\necho hi\n", "data.txt": "d" });
  chmodSync(join(dir, "run.sh"), 0o755);
  mkdirSync(join(dir, "empty", "deeper"), { recursive: true });
  mkdirSync(join(dir, "logs"));
  const v1 = await s.push(dir, { dataset: "ds" });
  const rows = await s.query<{ name: string; kind: string; executable: boolean }>(
    "select e.name, e.kind, e.executable from strata.tree_entries e where e.tree = decode($1, 'hex') order by e.name",
    [v1.version.contentHash],
  );
  t.same(
    rows.map((r) => [r.name, r.kind, r.executable]),
    [
      ["data.txt", "file", false],
      ["empty", "dir", false],
      ["logs", "dir", false],
      ["run.sh", "file", true],
    ],
  );
  chmodSync(join(dir, "run.sh"), 0o644);
  const v2 = await s.push(dir, { dataset: "ds" });
  t.equal(v2.unchanged, false, "a mode change is a change");
  t.not(v2.version.contentHash, v1.version.contentHash);
  const diff = await s.diff({ dataset: "ds", tag: "v1" }, { dataset: "ds", tag: "v2" });
  t.same(
    diff.map((d) => [d.path, d.change]),
    [["run.sh", "modified"]],
  );
});

t.test("metadata keeps every digit; a NUL is refused by the CLI as bad input", async (t) => {
  const s = await openTestStrata(t);
  const dir = tempDir(t);
  writeTree(dir, { "a.txt": "a" });
  const text = '{"seed": 12345678901234567890, "lr": 1e400, "tiny": 1.000000000000000000001}';
  await s.push(dir, { dataset: "ds", metadata: text });
  const [m] = await s.query<{ seed: string; lr: string; tiny: string }>(
    "select metadata->>'seed' as seed, metadata->>'lr' as lr, metadata->>'tiny' as tiny from strata.versions",
  );
  t.same(m, { seed: "12345678901234567890", lr: `1${"0".repeat(400)}`, tiny: "1.000000000000000000001" });
  const r = await strata(["push", dir, "--dataset", "ds", "--metadata", '{"k": "a\\u0000b"}'], s.env);
  t.equal(r.code, 2, "bad input");
  t.equal(r.stderr, "strata: --metadata holds a NUL character (U+0000), which PostgreSQL cannot store\n");
});
