// The trees a push puts while it reads (tree-sink.ts): one batch in flight at a time,
// every subtree put before or with the tree naming it, the root last, each tree once.

import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { TreeSink } from "../../loader/push/tree-sink.js";
import { InputTrees, type LazyTree } from "../../loader/push/tree.js";
import { walkInput } from "../../loader/push/walk.js";
import { Prng } from "../helpers/prng.js";
import { tempDir } from "../helpers/strata.js";

const sha = (b: string) => createHash("sha256").update(b).digest();

t.test("trees go one batch at a time, subtrees first, the root last", async (t) => {
  const base = tempDir(t, "strata-tree-sink-");
  for (let seed = 1; seed <= 10; seed++) {
    const rng = new Prng(seed);
    const root = join(base, String(seed));
    for (let f = 0; f < 30; f++) {
      const dir = join(root, `d${f % 7}`, `e${f}`);
      mkdirSync(dir, { recursive: true });
      for (let k = 0; k < rng.int(0, 4); k++) writeFileSync(join(dir, `f${k}`), `${f}/${k}`);
    }
    const list = walkInput(root);
    const trees = new InputTrees(list, (i) => sha(`${list.path(i)}`));
    const put = new Set<string>();
    let inFlight = 0;
    let overlapped = 0;
    let early = 0;
    let batches = 0;
    const sink = new TreeSink(
      trees,
      async (batch: LazyTree[]) => {
        if (inFlight++ > 0) overlapped++;
        batches++;
        for (let k = 0; k < rng.int(0, 3); k++) await new Promise((r) => setImmediate(r));
        for (const tree of batch) {
          for (const e of tree.entries()) if (e.kind === "dir" && !put.has(e.hash.toString("hex"))) early++;
          put.add(tree.hash.toString("hex"));
        }
        inFlight--;
      },
      4,
    );
    const files: number[] = [];
    for (let i = 0; i < list.count; i++) if (list.kind(i) !== "dir") files.splice(rng.int(0, files.length), 0, i);
    while (files.length > 0) {
      sink.stored(files.splice(0, rng.int(1, 5)));
      if (rng.int(0, 1) === 0) await new Promise((r) => setImmediate(r));
    }
    const head = await sink.finish();
    t.equal(overlapped, 0, `seed ${seed}: one batch in flight at a time`);
    t.equal(early, 0, `seed ${seed}: no tree put before its subtrees`);
    t.ok(put.has(head.hash.toString("hex")), `seed ${seed}: the root is put`);
    t.ok(batches > 2, `seed ${seed}: trees went in several batches`);
  }
});
