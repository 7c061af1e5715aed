// The push's compact bookkeeping: the walk's columns, the trees built from them (the same
// trees as buildTrees, on random folders).

import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { buildInputTrees, buildTrees, hashTree, InputTrees, type PushedPath, symlinkHash, type TreeEntry } from "../../loader/push/tree.js";
import { walkInput } from "../../loader/push/walk.js";
import { Prng } from "../helpers/prng.js";
import { tempDir } from "../helpers/strata.js";

const sha = (b: string) => createHash("sha256").update(b).digest();
const NAMES = ["a", "b", "B", "é", "z.txt", "data.csv", "x y", "日本", "ab", "a-b", "\u{1F600}", "\uE000"];

/** A random folder: nested folders (some empty, some equal), files (some executable), symlinks. */
function randomFolder(dir: string, rng: Prng, depth: number): void {
  const n = rng.int(0, 6);
  for (let k = 0; k < n; k++) {
    const name = NAMES[rng.int(0, NAMES.length - 1)]! + (rng.int(0, 2) === 0 ? "" : String(rng.int(0, 9)));
    const p = join(dir, name);
    try {
      const r = rng.int(0, 9);
      if (r < 2 && depth < 4) {
        mkdirSync(p);
        randomFolder(p, rng, depth + 1);
      } else if (r < 3) symlinkSync(NAMES[rng.int(0, NAMES.length - 1)]!, p);
      else {
        writeFileSync(p, "x".repeat(rng.int(0, 3)));
        if (rng.int(0, 3) === 0) chmodSync(p, 0o755);
      }
    } catch {
      // the name was taken: skip it
    }
  }
}

/** Folder `seed` of `base`, filled at random; its walk, and a stand-in hash for each entry. */
function randomInput(base: string, seed: number, extra?: (root: string) => void) {
  const root = join(base, String(seed));
  mkdirSync(root);
  const rng = new Prng(seed);
  randomFolder(root, rng, 0);
  extra?.(root);
  const list = walkInput(root);
  const hashOf = (i: number) => (list.kind(i) === "symlink" ? symlinkHash(list.target(i)!) : sha(`${list.size(i)}:${list.name(i)}`));
  return { rng, list, hashOf };
}

t.test("trees from the walk's columns equal buildTrees' on random folders", async (t) => {
  const base = tempDir(t, "strata-compact-");
  for (let seed = 1; seed <= 40; seed++) {
    const { list, hashOf } = randomInput(base, seed, (root) => {
      if (seed % 5 !== 0) return;
      // two equal folders: one tree
      for (const d of ["same1", "same2"]) {
        mkdirSync(join(root, d));
        writeFileSync(join(root, d, "f"), "same");
      }
    });
    const records: PushedPath[] = [];
    for (let i = 0; i < list.count; i++) {
      const kind = list.kind(i);
      const r: PushedPath = { path: list.path(i), kind, hash: hashOf(i), size: list.size(i) };
      if (list.executable(i)) r.executable = true;
      if (kind === "symlink") r.target = list.target(i);
      records.push(r);
    }
    const want = buildTrees(records);
    const got = buildInputTrees(list, hashOf);
    t.ok(got.root.hash.equals(want.root.hash), `seed ${seed}: the same root`);
    const norm = (trees: { hash: Buffer; fileCount: number; size: number; entries: unknown[] }[]) =>
      trees.map((x) => ({
        hash: x.hash.toString("hex"),
        fileCount: x.fileCount,
        size: x.size,
        entries: (x.entries as { name: string }[])
          .map((e) => JSON.stringify(e))
          .sort()
          .join("\n"),
      }));
    const byHash = (a: { hash: string }, b: { hash: string }) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0);
    const gotTrees = got.trees.map((x) => ({ ...x, entries: x.entries() }));
    t.same(norm(gotTrees).sort(byHash), norm(want.trees).sort(byHash), `seed ${seed}: the same trees`);
    const stored = new Set<string>();
    for (const tree of gotTrees) {
      for (const e of tree.entries)
        if (e.kind === "dir") t.ok(stored.has(e.hash.toString("hex")), `seed ${seed}: ${e.name}'s tree comes first`);
      stored.add(tree.hash.toString("hex"));
    }
    t.ok(gotTrees.at(-1)!.hash.equals(got.root.hash), `seed ${seed}: the root is the last tree`);
  }
});

t.test("trees made as their files are stored, in any order, are the same trees, each once everything in it is stored", async (t) => {
  const base = tempDir(t, "strata-compact-");
  for (let seed = 1; seed <= 40; seed++) {
    const { rng, list, hashOf } = randomInput(base, seed);
    const want = buildInputTrees(list, hashOf);
    const order: number[] = [];
    for (let i = 0; i < list.count; i++) if (list.kind(i) !== "dir") order.splice(rng.int(0, order.length), 0, i);
    const stored = new Set<number>();
    // each folder's tree, and whether everything below it is stored (-1: the pushed folder)
    const treeOf = (f: number): { hash: Buffer; size: number } => {
      const entries: TreeEntry[] = [];
      for (let i = 0; i < list.count; i++) {
        if (list.parent(i) !== f) continue;
        const kind = list.kind(i);
        if (kind === "dir") entries.push({ name: list.name(i), kind, ...treeOf(i) });
        else if (kind === "symlink") entries.push({ name: list.name(i), kind, hash: hashOf(i), size: 0 });
        else entries.push({ name: list.name(i), kind, executable: list.executable(i), hash: hashOf(i), size: list.size(i) });
      }
      return { hash: hashTree(entries), size: entries.reduce((n, e) => n + e.size, 0) };
    };
    const complete = (f: number): boolean => {
      for (let i = 0; i < list.count; i++)
        if (list.parent(i) === f && (list.kind(i) === "dir" ? !complete(i) : !stored.has(i))) return false;
      return true;
    };
    const completeTrees = (): string[] => {
      const out = new Set<string>();
      for (let f = -1; f < list.count; f++) if ((f < 0 || list.kind(f) === "dir") && complete(f)) out.add(treeOf(f).hash.toString("hex"));
      return [...out].sort();
    };
    const made = new Set<string>();
    const trees = new InputTrees(list, hashOf);
    const check = (): void => {
      for (const tree of trees.take()) {
        const entries = tree.entries();
        t.equal(tree.entryCount, entries.length, `seed ${seed}: entry count`);
        for (const e of entries) if (e.kind === "dir") t.ok(made.has(e.hash.toString("hex")), `seed ${seed}: ${e.name}'s tree came first`);
        t.notOk(made.has(tree.hash.toString("hex")), `seed ${seed}: each tree once`);
        made.add(tree.hash.toString("hex"));
      }
      t.same([...made].sort(), completeTrees(), `seed ${seed}: the trees made are those of the folders whose files are all stored`);
    };
    check();
    for (const i of order) {
      t.equal(trees.root, undefined, `seed ${seed}: no root before every file is stored`);
      trees.stored(i);
      stored.add(i);
      check();
    }
    t.ok(trees.root?.hash.equals(want.root.hash), `seed ${seed}: the same root`);
    t.same([...made].sort(), want.trees.map((x) => x.hash.toString("hex")).sort(), `seed ${seed}: the same trees`);
  }
});

t.test("a single file pushed under its own name", async (t) => {
  const base = tempDir(t, "strata-compact-");
  const file = join(base, "one.bin");
  writeFileSync(file, "abc");
  const list = walkInput(file);
  t.equal(list.count, 1);
  t.equal(list.path(0), "one.bin");
  t.equal(list.abs(0), file);
  const got = buildInputTrees(list, () => sha("abc"));
  const want = buildTrees([{ path: "one.bin", kind: "file", hash: sha("abc"), size: 3 }]);
  t.ok(got.root.hash.equals(want.root.hash));
});
