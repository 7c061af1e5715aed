// loader/push/tree.ts: the Merkle encoding pinned by golden values (computed outside this
// code base from the format stated at the top of tree.ts), and what buildTrees returns.

import { createHash } from "node:crypto";
import t from "tap";
import { buildTrees, hashTree, symlinkHash } from "../../loader/push/tree.js";

const sha = (b: string) => createHash("sha256").update(b).digest();

t.test("tree hashes are pinned", async (t) => {
  t.equal(hashTree([]).toString("hex"), sha("").toString("hex"), "the empty tree hashes to SHA-256 of nothing");
  t.ok(symlinkHash("b.txt").equals(sha("b.txt")), "a symlink's hash is the SHA-256 of its target");
  const sub = hashTree([{ name: "x.bin", kind: "file", hash: sha("xyz"), size: 3 }]);
  t.equal(sub.toString("hex"), "8da6a41d3b4cc49d23b97082fa4d71ae4f7349b13b9b40154c32766bcc1e86e0");
  // given out of order: the hash sorts entries by their UTF-8 bytes
  const root = hashTree([
    { name: "é.txt", kind: "file", hash: sha(""), size: 0 },
    { name: "link", kind: "symlink", hash: sha("b.txt"), size: 0, target: "b.txt" },
    { name: "b.txt", kind: "file", hash: sha("hello"), size: 5 },
    { name: "a", kind: "dir", hash: sub, size: 3 },
  ]);
  t.equal(root.toString("hex"), "aa10f35c9c9c59e8bad66f9f59a3cd18212f3c8b51615ce4357296a81bbda03f");
});

t.test("buildTrees: every tree once per folder, children first, with counts and sizes", async (t) => {
  const { root, trees } = buildTrees([
    { path: "b.txt", kind: "file", hash: sha("hello"), size: 5 },
    { path: "a/x.bin", kind: "file", hash: sha("xyz"), size: 3 },
    { path: "link", kind: "symlink", hash: sha("b.txt"), size: 0, target: "b.txt" },
    { path: "é.txt", kind: "file", hash: sha(""), size: 0 },
  ]);
  t.equal(root.hash.toString("hex"), "aa10f35c9c9c59e8bad66f9f59a3cd18212f3c8b51615ce4357296a81bbda03f", "the same root as above");
  t.same(
    trees.map((x) => [x.hash.toString("hex").slice(0, 8), x.entries.length, x.fileCount, x.size]),
    [
      ["8da6a41d", 1, 1, 3],
      ["aa10f35c", 4, 4, 8],
    ],
    "the subfolder's tree before the root's; symlinks count as files and add no bytes",
  );
  t.equal(trees.at(-1), root, "the root is the last tree");
  t.same(
    root.entries.find((e) => e.name === "link"),
    { name: "link", kind: "symlink", hash: sha("b.txt"), size: 0, target: "b.txt" },
  );
});
