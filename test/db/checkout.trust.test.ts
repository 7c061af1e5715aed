// A checkout folder belongs to its user: it holds the version and nothing else, Strata
// never overwrites or deletes what it did not write (or what was changed since), never
// writes through a symlink it did not make, and keeps its own state in the home.

import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import t from "tap";
import { strata } from "../helpers/cli.js";
import type { TestLike } from "../helpers/harness.js";
import { openTestStrata, tempDir, writeTree } from "../helpers/strata.js";

async function twoVersions(t: TestLike) {
  const s = await openTestStrata(t);
  const src = tempDir(t);
  writeTree(src, { "keep.txt": "keep", "change.txt": "v1", "gone.txt": "bye", "train/a.csv": "a,b\n1,2\n" });
  await s.push(src, { dataset: "ds" });
  writeTree(src, { "change.txt": "v2!", "added.txt": "new" });
  rmSync(join(src, "gone.txt"));
  await s.push(src, { dataset: "ds" });
  return s;
}

const snapshot = (dir: string): Record<string, string> => {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const d of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const p = rel === "" ? d.name : `${rel}/${d.name}`;
      if (d.isDirectory()) walk(p);
      else out[p] = d.isSymbolicLink() ? "->" : readFileSync(join(dir, p), "utf8");
    }
  };
  walk("");
  return out;
};

t.test("the folder holds the version and nothing else; its state lives in the home and follows a move", async (t) => {
  const s = await twoVersions(t);
  const top = tempDir(t);
  const dir = join(top, "co");
  await s.checkout({ dataset: "ds", tag: "v1" }, dir);
  t.same(Object.keys(snapshot(dir)).sort(), ["change.txt", "gone.txt", "keep.txt", "train/a.csv"], "no .strata, no temp files");
  t.notOk(existsSync(join(dir, ".strata")));
  t.ok(
    readdirSync(join(s.home, "checkouts")).some((f) => f.endsWith(".jsonl")),
    "the state is in the home",
  );

  const moved = join(top, "moved");
  renameSync(dir, moved);
  writeFileSync(join(moved, "keep.txt"), "edited");
  const st = await s.status(moved);
  t.match(st, { tag: "v1", modified: ["keep.txt"], deleted: [], added: [] }, "status still knows the moved folder");
  writeFileSync(join(moved, "keep.txt"), "keep");
  const r = await s.checkout({ dataset: "ds", tag: "v2" }, moved);
  t.match(r, { filesWritten: 2, filesDeleted: 1, filesUnchanged: 2 }, "switching the moved folder rewrites only what differs");
  t.same(snapshot(moved), { "added.txt": "new", "change.txt": "v2!", "keep.txt": "keep", "train/a.csv": "a,b\n1,2\n" });
});

t.test("a switch never overwrites an edit or a file of the user's: exit 4, the paths listed, nothing changed", async (t) => {
  const s = await twoVersions(t);
  const dir = tempDir(t);
  await s.checkout({ dataset: "ds", tag: "v1" }, dir);
  writeFileSync(join(dir, "change.txt"), "my edit");
  writeFileSync(join(dir, "added.txt"), "my own file");
  writeFileSync(join(dir, "notes.md"), "untracked, out of the way");
  const before = snapshot(dir);

  const r = await strata(["checkout", "ds@v2", dir], s.env);
  t.equal(r.code, 4, "conflict");
  t.match(
    r.stderr,
    /^strata: checkout would overwrite 2 paths of yours: added\.txt \(yours, not from the checked-out version\), change\.txt \(changed here since checkout\); nothing was changed/,
  );
  t.same(snapshot(dir), before, "nothing changed");
  const json = await strata(["checkout", "ds@v2", dir, "--json"], s.env);
  t.match(JSON.parse(json.stderr), { error: { code: "checkout_conflict", exit: 4 } });

  const forced = await s.checkout({ dataset: "ds", tag: "v2" }, dir, { force: true });
  t.same(forced.overwritten, ["added.txt", "change.txt"], "--force says what it overwrote");
  t.equal(readFileSync(join(dir, "change.txt"), "utf8"), "v2!");
  t.equal(readFileSync(join(dir, "notes.md"), "utf8"), "untracked, out of the way", "a file the version does not touch stays");
});

t.test("an edited file that leaves the version stays; status tells modified, deleted and added", async (t) => {
  const s = await twoVersions(t);
  const dir = tempDir(t);
  await s.checkout({ dataset: "ds", tag: "v1" }, dir);
  writeFileSync(join(dir, "gone.txt"), "I still need this");
  const r = await s.checkout({ dataset: "ds", tag: "v2" }, dir);
  t.same(r.leftModified, ["gone.txt"]);
  t.equal(readFileSync(join(dir, "gone.txt"), "utf8"), "I still need this");

  rmSync(join(dir, "train/a.csv"));
  writeFileSync(join(dir, "keep.txt"), "same size!"); // a different size
  mkdirSync(join(dir, "extra/deep"), { recursive: true });
  writeFileSync(join(dir, "extra/deep/x"), "x");
  const cli = await strata(["status", dir], s.env);
  t.equal(cli.code, 0, cli.stderr);
  t.equal(cli.stdout, `ds@v2 in ${dir}: 1 modified, 1 deleted, 2 added\nM keep.txt\nD train/a.csv\nA extra/\nA gone.txt\n`);

  // From a sub-folder, as git status: the checkout is found above it, the paths under it listed.
  const sub = await strata(["status", join(dir, "train")], s.env);
  t.equal(sub.stdout, `ds@v2 in ${dir} (under train/): 0 modified, 1 deleted, 0 added\nD train/a.csv\n`, sub.stderr);
  t.match(await s.status(join(dir, "extra/deep")), { root: dir, within: "extra/deep", modified: [], deleted: [], added: ["extra/"] });
  const outside = await strata(["status", tempDir(t)], s.env);
  t.equal(outside.code, 3, outside.stderr);
  t.match(outside.stderr, /is in no checkout known to the Strata home/);
});

t.test("checkout never writes through a symlink it did not make", async (t) => {
  const s = await openTestStrata(t);
  const src = tempDir(t);
  writeTree(src, { "sub/x.txt": "version's", "top.txt": "t" });
  await s.push(src, { dataset: "ds" });
  const elsewhere = tempDir(t);
  writeFileSync(join(elsewhere, "x.txt"), "must survive");
  const dir = tempDir(t);
  symlinkSync(elsewhere, join(dir, "sub"));
  symlinkSync(elsewhere, join(dir, ".strata")); // where earlier releases kept their state
  await t.rejects(s.checkout({ dataset: "ds" }, dir), {
    kind: "conflict",
    message: /sub \(yours, where sub\/ is a folder in the version\)/,
  });
  t.equal(readFileSync(join(elsewhere, "x.txt"), "utf8"), "must survive");
  t.same(readdirSync(elsewhere), ["x.txt"], "nothing written there");
  t.notOk(existsSync(join(dir, "top.txt")), "nothing written here either");
});

t.test("the temp files of a checkout that died are removed by the next run, and only they", async (t) => {
  const s = await twoVersions(t);
  const dir = tempDir(t);
  await s.checkout({ dataset: "ds", tag: "v1" }, dir);
  const { folderId } = await import("../../loader/checkout/index.js");
  const id = await folderId(dir);
  // What a run killed while staging leaves: its journal, a temp file, a folder it made.
  mkdirSync(join(dir, "newdir"));
  writeFileSync(join(dir, "newdir", ".strata-0123456789ab-1"), "half");
  writeFileSync(join(dir, ".strata-0123456789ab-2"), "half");
  writeFileSync(join(dir, ".strata-ffffffffffff-3"), "a user's file that only looks like one");
  writeFileSync(
    join(s.home, "checkouts", `${id.key}.pending`),
    JSON.stringify({ runId: "0123456789ab", tempDirs: ["", "newdir"], made: ["newdir"] }),
  );
  const st = await s.status(dir);
  t.same(st.added, [".strata-ffffffffffff-3"]);
  t.notOk(existsSync(join(dir, "newdir")), "the folder it made is gone");
  t.notOk(existsSync(join(dir, ".strata-0123456789ab-2")));
});

t.test("checkout restores executable bits and empty folders; switching follows mode changes", async (t) => {
  const s = await openTestStrata(t);
  const src = tempDir(t);
  writeTree(src, { "run.sh": "#!/bin/sh\necho hi\n", "lib/util.py": "x = 1\n", "copy.sh": "#!/bin/sh\necho hi\n" });
  chmodSync(join(src, "run.sh"), 0o755);
  mkdirSync(join(src, "logs/old"), { recursive: true });
  mkdirSync(join(src, "cache"));
  await s.push(src, { dataset: "ds" });
  const dir = tempDir(t);
  const first = await s.checkout({ dataset: "ds" }, dir);
  t.match(first, { filesWritten: 3, filesUnchanged: 0 }, "files are counted, the empty folders made are not");
  t.equal(statSync(join(dir, "run.sh")).mode & 0o111, 0o111 & ~process.umask(), "run.sh is executable");
  t.equal(statSync(join(dir, "copy.sh")).mode & 0o111, 0, "the same contents, not executable, stay so");
  t.ok(statSync(join(dir, "logs/old")).isDirectory(), "empty folders are made");
  t.ok(statSync(join(dir, "cache")).isDirectory());
  t.same((await s.status(dir)).modified, [], "a fresh checkout is clean");

  chmodSync(join(src, "run.sh"), 0o644);
  rmSync(join(src, "cache"), { recursive: true });
  await s.push(src, { dataset: "ds" });
  const r = await s.checkout({ dataset: "ds" }, dir);
  t.match(r, { filesWritten: 1, filesUnchanged: 2 }, "only the file whose mode changed is written");
  t.equal(statSync(join(dir, "run.sh")).mode & 0o111, 0, "and it is no longer executable");
  t.notOk(existsSync(join(dir, "cache")), "an empty folder that left the version goes");
  chmodSync(join(dir, "run.sh"), 0o755);
  t.same((await s.status(dir)).modified, ["run.sh"], "a mode change here shows in status");
  const ls = await s.ls({ dataset: "ds" });
  t.same(
    ls.map((f) => [f.path, f.kind, f.executable]),
    [
      ["copy.sh", "file", false],
      ["lib/util.py", "file", false],
      ["logs/old", "dir", false],
      ["run.sh", "file", false],
    ],
  );
});
