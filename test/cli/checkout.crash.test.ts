// Kill a checkout switching versions at exact steps (STRATA_FAULT, loader/fault.ts): after
// every file is staged and before any is renamed, and in the middle of the renames. No
// path ever shows bytes that are neither the old nor the new version's, and the next
// checkout finishes the switch, leaving no temp file, with the right executable bits and
// a state that status trusts. The files are many small ones written in parallel and large
// ones of several chunks.

import { chmodSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import t, { type Test } from "tap";
import { strata } from "../helpers/cli.js";
import { bytes, openTestStrata, tempDir, writeTree } from "../helpers/strata.js";

type Tree = Record<string, Buffer>;

/** 120 small files (every 7th executable) and 2 files of 3 MB, as version `seed`. */
function version(seed: number, changed: (i: number) => boolean): Tree {
  const tree: Tree = {};
  for (let i = 0; i < 120; i++) tree[`d${i % 6}/f${i}.bin`] = bytes(500 + ((i * 97) % 9000), changed(i) ? 1000 * seed + i : i + 1);
  tree["big/a.bin"] = bytes(3_000_000, 50 + seed);
  tree["big/b.bin"] = bytes(3_000_000, 77);
  return tree;
}

/** Every 7th small file is executable. */
const executable = (path: string): boolean => {
  const m = /^d\d\/f(\d+)\.bin$/.exec(path);
  return m !== null && Number(m[1]) % 7 === 0;
};

/** Every file under `dir` (relative path -> bytes), temp names included, `.strata/` left out. */
function files(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const rel of readdirSync(dir, { recursive: true }).map(String)) {
    if (rel.startsWith(".strata/") || rel === ".strata") continue;
    if (statSync(join(dir, rel)).isFile()) out.set(rel, readFileSync(join(dir, rel)));
  }
  return out;
}

function isTemp(rel: string): boolean {
  return /(^|\/)\.strata-[0-9a-f]+-l?\d+$/.test(rel);
}

/** Every visible file holds the old or the new version's bytes for its path, whole. */
function checkNoWrongFile(t: Test, dir: string, v1: Tree, v2: Tree, what: string): void {
  const wrong: string[] = [];
  for (const [rel, data] of files(dir)) {
    if (isTemp(rel)) continue;
    if (!(v1[rel]?.equals(data) || v2[rel]?.equals(data))) wrong.push(rel);
  }
  t.same(wrong, [], `${what}: no visible file holds wrong bytes`);
}

/** The folder holds exactly `v` (bytes and executable bits) and no temp file. */
function checkExactly(t: Test, dir: string, v: Tree, what: string): void {
  const got = files(dir);
  t.same([...got.keys()].filter(isTemp), [], `${what}: no temp file left`);
  t.same([...got.keys()].sort(), Object.keys(v).sort(), `${what}: the version's paths`);
  const bad = Object.entries(v).filter(([rel, data]) => !got.get(rel)?.equals(data));
  t.same(
    bad.map(([rel]) => rel),
    [],
    `${what}: every file's bytes`,
  );
  const bits = Object.keys(v).filter((rel) => ((statSync(join(dir, rel)).mode & 0o100) !== 0) !== executable(rel));
  t.same(bits, [], `${what}: executable bits`);
}

t.test("a checkout killed while switching leaves no wrong file; the next one finishes", async (t) => {
  const s = await openTestStrata(t, "file");
  const src = tempDir(t);
  const v1 = version(1, () => false);
  const v2 = version(2, (i) => i % 2 === 0);
  const push = async (v: Tree): Promise<void> => {
    writeTree(src, v);
    for (const rel of Object.keys(v)) chmodSync(join(src, rel), executable(rel) ? 0o755 : 0o644);
    const r = await strata(["push", src, "--dataset", "ds"], s.env);
    t.equal(r.code, 0, r.stderr);
  };
  await push(v1);
  await push(v2);

  for (const fault of ["checkout.before-apply:1", "checkout.after-rename:25"]) {
    const out = tempDir(t);
    const first = await strata(["checkout", "ds@v1", out], s.env);
    t.equal(first.code, 0, first.stderr);
    checkExactly(t, out, v1, `${fault}: v1`);

    const killed = await strata(["checkout", "ds@v2", out], { ...s.env, STRATA_FAULT: fault });
    t.not(killed.code, 0, `${fault}: the checkout was killed`);
    checkNoWrongFile(t, out, v1, v2, fault);
    if (fault.startsWith("checkout.before-apply")) {
      const visible = [...files(out).keys()].filter((rel) => !isTemp(rel));
      t.ok(
        visible.every((rel) => v1[rel]!.equals(readFileSync(join(out, rel)))),
        "killed before any rename: every visible file is still v1's",
      );
    }

    const again = await strata(["checkout", "ds@v2", out, "--json"], s.env);
    t.equal(again.code, 0, again.stderr);
    checkExactly(t, out, v2, `${fault}: re-run`);
    const status = await strata(["status", out, "--json"], s.env);
    t.equal(status.code, 0, status.stderr);
    const st = JSON.parse(status.stdout) as { tag: string; modified: string[]; deleted: string[]; added: string[] };
    t.same([st.tag, st.modified, st.deleted, st.added], ["v2", [], [], []], `${fault}: status finds v2, unchanged`);
  }
});
