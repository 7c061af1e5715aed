import { createHash } from "node:crypto";
import { join } from "node:path";
import pg from "pg";
import t from "tap";
import { Sqlstate } from "../../stored/errors.js";
import { StrataError } from "../../loader/errors.js";
import { Strata } from "../../loader/strata.js";
import { buildTrees, hashTree, type TreeEntry } from "../../loader/push/tree.js";
import { bytes, openTestStrata, tempDir, testStore, writeTree } from "../helpers/strata.js";

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

t.test("push commits a version: Merkle root, counts, sizes, new bytes, tags, lineage", async (t) => {
  const s = await openTestStrata(t);
  const dir = tempDir(t);
  const big = bytes(3 * 1024 * 1024, 7);
  writeTree(dir, {
    "train/a.csv": "x,y\n1,2\n",
    "train/b.csv": "x,y\n1,2\n", // same contents as a.csv: stored once
    "val/big.bin": big,
    empty: "",
    latest: { symlink: "train/a.csv" },
  });
  const r1 = await s.push(dir, { dataset: "ds", message: "first" });
  t.equal(r1.version.tag, "v1");
  t.equal(r1.version.fileCount, 5);
  t.equal(r1.version.size, 8 + 8 + big.length);
  t.equal(r1.version.newBytes, 8 + big.length, "new bytes count each chunk once");
  t.equal(r1.version.parentTag, null);

  const expectedRoot = buildTrees([
    { path: "train/a.csv", kind: "file", hash: Buffer.from(sha("x,y\n1,2\n"), "hex"), size: 8 },
    { path: "train/b.csv", kind: "file", hash: Buffer.from(sha("x,y\n1,2\n"), "hex"), size: 8 },
    { path: "val/big.bin", kind: "file", hash: Buffer.from(sha(big), "hex"), size: big.length },
    { path: "empty", kind: "file", hash: Buffer.from(sha(""), "hex"), size: 0 },
    { path: "latest", kind: "symlink", hash: Buffer.from(sha("train/a.csv"), "hex"), size: 0, target: "train/a.csv" },
  ]).root.hash.toString("hex");
  t.equal(r1.version.contentHash, expectedRoot, "content hash is the Merkle root of the files");

  const files = await s.query<{ path: string; kind: string; size: number; hash: Buffer; target: string | null }>(
    "select * from strata.ls('ds', 'v1')",
  );
  t.same(
    files.map((f) => [f.path, f.kind, Number(f.size), f.hash.toString("hex"), f.target]),
    [
      ["empty", "file", 0, sha(""), null],
      ["latest", "symlink", 0, sha("train/a.csv"), "train/a.csv"],
      ["train/a.csv", "file", 8, sha("x,y\n1,2\n"), null],
      ["train/b.csv", "file", 8, sha("x,y\n1,2\n"), null],
      ["val/big.bin", "file", big.length, sha(big), null],
    ],
  );

  writeTree(dir, { "train/c.csv": "x,y\n3,4\n" });
  const r2 = await s.push(dir, { dataset: "ds" });
  t.equal(r2.version.tag, "v2");
  t.equal(r2.version.parentTag, "v1");
  t.equal(r2.version.newBytes, 8, "only the new file's bytes are new");
  t.equal(r2.unchangedFiles, 4, "unchanged files come from the local index, unread");

  const r3 = await s.push(dir, { dataset: "ds", tag: "release-1", parent: "v1" });
  t.equal(r3.version.tag, "release-1");
  t.equal(r3.version.parentTag, "v1");
  t.equal(r3.newChunks, 0);

  const log = await s.log("ds");
  t.same(
    log.map((v) => v.tag),
    ["release-1", "v2", "v1"],
    "log is newest first",
  );
  const edges = await s.query<{ n: number }>(
    `select count(*)::int as n from strata.lineage_edges e join strata.versions v on v.id = e.source_id
     where e.relation = 'derived_from' and v.tag in ('v2', 'release-1')`,
  );
  t.equal(edges[0]!.n, 2, "each child has a derived_from edge to its parent");
});

t.test("tags: taken, reserved, invalid; unknown parent; nothing committed on error", async (t) => {
  const s = await openTestStrata(t);
  const dir = tempDir(t);
  writeTree(dir, { "a.txt": "a" });
  await s.push(dir, { dataset: "ds", tag: "gold" });
  const codeOf = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (e) {
      t.type(e, StrataError);
      return ((e as StrataError).cause as { code?: string } | undefined)?.code ?? (e as StrataError).kind;
    }
    return "none";
  };
  t.equal(await codeOf(s.push(dir, { dataset: "ds", tag: "gold" })), Sqlstate.tagTaken, "a taken tag fails before any upload");
  t.equal(await codeOf(s.push(dir, { dataset: "ds", tag: "v7" })), Sqlstate.invalidName);
  t.equal(await codeOf(s.push(dir, { dataset: "ds", tag: "bad tag" })), Sqlstate.invalidName);
  t.equal(await codeOf(s.push(dir, { dataset: "ds", parent: "nope" })), Sqlstate.unknownVersion);
  t.equal(await codeOf(s.push(dir, { dataset: "bad name!" })), Sqlstate.invalidName);
  t.same(
    (await s.log("ds")).map((v) => v.tag),
    ["gold"],
  );
  t.same(
    (await s.datasets()).map((d) => d.name),
    ["ds"],
    "a failed push to a new dataset does not create it",
  );
});

t.test("a committed version cannot be updated", async (t) => {
  const s = await openTestStrata(t);
  const dir = tempDir(t);
  writeTree(dir, { "a.txt": "a" });
  await s.push(dir, { dataset: "ds" });
  try {
    await s.pool.query("update strata.versions set message = 'changed'");
    t.fail("update went through");
  } catch (e) {
    t.equal((e as { code: string }).code, Sqlstate.historyImmutable);
    t.match((e as Error).message, /strata\.versions is history: its rows cannot be changed \(update refused\)/);
  }
});

t.test("put_blobs, put_trees and commit_version refuse what does not add up, and store nothing", async (t) => {
  const s = await openTestStrata(t);
  const c = new pg.Client({ connectionString: s.databaseUrl });
  await c.connect();
  t.teardown(() => c.end());
  const err = async (sql: string, params: unknown[]) => {
    try {
      await c.query(sql, params);
      return "accepted";
    } catch (e) {
      return `${(e as { code: string }).code} ${(e as Error).message}`;
    }
  };
  const putTrees = (trees: { hash: Buffer; files: number; size: number; entries: (TreeEntry & { tree?: number })[] }[]) =>
    err(
      "select strata.put_trees($1::bytea[], $2::bigint[], $3::bigint[], $4::int[], $5::text[], $6::text[], $7::boolean[], $8::bytea[], $9::bigint[], $10::text[])",
      [
        trees.map((x) => x.hash),
        trees.map((x) => x.files),
        trees.map((x) => x.size),
        trees.flatMap((x, i) => x.entries.map(() => i + 1)),
        trees.flatMap((x) => x.entries.map((e) => e.name)),
        trees.flatMap((x) => x.entries.map((e) => e.kind)),
        trees.flatMap((x) => x.entries.map((e) => e.executable === true)),
        trees.flatMap((x) => x.entries.map((e) => e.hash)),
        trees.flatMap((x) => x.entries.map((e) => e.size)),
        trees.flatMap((x) => x.entries.map((e) => e.target ?? null)),
      ],
    );
  const one = (entries: TreeEntry[], files = entries.length, size = entries.reduce((n, e) => n + e.size, 0)) => ({
    hash: hashTree(entries),
    files,
    size,
    entries,
  });

  // a file whose contents the database does not have
  const a = [{ name: "a", kind: "file" as const, hash: Buffer.alloc(32, 1), size: 5 }];
  t.match(await putTrees([one(a)]), new RegExp(`^${Sqlstate.missingObject} file a refers to contents 0101`));
  // a tree whose hash does not match its entries
  t.match(
    await putTrees([{ ...one([]), hash: Buffer.alloc(32, 9) }]),
    new RegExp(`^${Sqlstate.integrityFailure} tree 0909.* does not hash to its entries`),
  );
  // a symlink hashed as another target (tree poisoning): refused even with an honest-looking tree hash
  const link = [{ name: "l", kind: "symlink" as const, hash: createHash("sha256").update("elsewhere").digest(), size: 0, target: "/etc" }];
  t.match(await putTrees([one(link)]), new RegExp(`^${Sqlstate.integrityFailure} symlink l .* another target than /etc`));
  // contents referring to a chunk nobody registered
  t.match(
    await err("select strata.put_blobs($1::bytea[], $2::bigint[], $3::bytea[])", [[Buffer.alloc(32, 3)], [4], [Buffer.alloc(32, 4)]]),
    new RegExp(`^${Sqlstate.missingObject} .*refer to chunk 0404`),
  );
  // arrays that do not line up
  t.match(
    await err("select strata.put_blobs($1::bytea[], $2::bigint[], $3::bytea[])", [[Buffer.alloc(32, 3)], [], []]),
    /differ in length/,
  );
  // a root that is not stored
  t.match(
    await err("select * from strata.commit_version('ds', $1)", [Buffer.alloc(32, 5)]),
    new RegExp(`^${Sqlstate.missingObject} the root tree`),
  );
  // an empty tree is fine and commits
  t.equal(await putTrees([one([])]), "accepted");
  t.equal(await err("select * from strata.commit_version('ds', $1)", [hashTree([])]), "accepted");
  const counts = (
    await c.query("select (select count(*) from strata.trees)::int as trees, (select count(*) from strata.blobs)::int as blobs")
  ).rows[0];
  t.same(counts, { trees: 1, blobs: 0 }, "only the valid empty tree was stored");
});

t.test("two pushes to one dataset at once both commit with distinct tags", async (t) => {
  const s = await openTestStrata(t);
  const a = tempDir(t);
  const b = tempDir(t);
  writeTree(a, { "x.bin": bytes(400_000, 1) });
  writeTree(b, { "y.bin": bytes(400_000, 2) });
  const [ra, rb] = await Promise.all([s.push(a, { dataset: "race" }), s.push(b, { dataset: "race" })]);
  t.same([ra.version.tag, rb.version.tag].sort(), ["v1", "v2"]);
  const log = await s.log("race");
  t.equal(log.length, 2);
  t.equal(log[0]!.parentTag, "v1", "the later commit's parent is the earlier one");
});

t.test("push of a single file and of an empty folder", async (t) => {
  const s = await openTestStrata(t);
  const dir = tempDir(t);
  writeTree(dir, { "one.txt": "only" });
  const r = await s.push(join(dir, "one.txt"), { dataset: "single" });
  t.equal(r.version.fileCount, 1);
  t.same(
    (await s.query<{ path: string }>("select path from strata.ls('single', 'v1')")).map((f) => f.path),
    ["one.txt"],
  );
  const empty = tempDir(t);
  const e = await s.push(empty, { dataset: "empty" });
  t.equal(e.version.fileCount, 0);
  t.equal(e.version.contentHash, sha(""), "the empty tree hashes to SHA-256 of nothing");
});

t.test("a dataset's own chunk sizes govern its pushes", async (t) => {
  const s = await openTestStrata(t);
  await s.createDataset("fine", undefined, { min: 4096, avg: 16384, max: 65536 });
  const dir = tempDir(t);
  writeTree(dir, { "data.bin": bytes(2 * 1024 * 1024, 11) });
  const fine = await s.push(dir, { dataset: "fine" });
  const coarse = await s.push(dir, { dataset: "coarse" });
  t.ok(fine.chunks > 60, `2 MiB in ${fine.chunks} chunks of about 16 KiB`);
  t.ok(coarse.chunks <= 4, `2 MiB in ${coarse.chunks} chunks with the 1 MiB default`);
  const bad = await s.createDataset("bad", undefined, { min: 10, avg: 5, max: 1 }).catch((e: StrataError) => e.kind);
  t.equal(bad, "usage", "impossible chunk sizes are refused");
});

t.test("a local index from another database is noticed and every file read again", async (t) => {
  const first = await openTestStrata(t);
  const dir = tempDir(t);
  writeTree(dir, { "a.bin": bytes(300_000, 21), "b.txt": "b" });
  await first.push(dir, { dataset: "ds" });
  // a second database and store, sharing the first one's home (and so its local index)
  const second = await openTestStrata(t);
  const other = await Strata.open({ databaseUrl: second.databaseUrl, store: second.store, home: first.home });
  t.teardown(() => other.close());
  const r = await other.push(dir, { dataset: "ds" });
  t.equal(r.version.fileCount, 2);
  t.equal(r.newBytes, 300_001, "the contents were read and uploaded to the new store");
  t.equal(r.unchangedFiles, 0);
  const again = await other.push(dir, { dataset: "ds" });
  t.equal(again.unchangedFiles, 2, "the rewritten index serves the next push");
});

t.test("a store is bound to its database: concurrent first pushes agree, a new empty store is refused", async (t) => {
  for (let i = 0; i < 3; i++) {
    const s = await openTestStrata(t);
    const [a, b] = [tempDir(t), tempDir(t)];
    writeTree(a, { "a.txt": "a" });
    writeTree(b, { "b.txt": "b" });
    const other = await Strata.open({ databaseUrl: s.databaseUrl, store: s.store, home: s.home });
    t.teardown(() => other.close());
    const results = await Promise.all([s.push(a, { dataset: "one" }), other.push(b, { dataset: "two" })]);
    t.same(
      results.map((r) => r.version.tag),
      ["v1", "v1"],
      "two first pushes to one new store both pass the check",
    );
  }
  const s = await openTestStrata(t);
  const dir = tempDir(t);
  writeTree(dir, { "x.txt": "x" });
  await s.push(dir, { dataset: "ds" });
  const { store: emptyStore } = await testStore(t, "file");
  const moved = await Strata.open({ databaseUrl: s.databaseUrl, store: emptyStore, home: s.home });
  t.teardown(() => moved.close());
  const err = await moved.push(dir, { dataset: "ds" }).catch((e: StrataError) => e);
  t.equal((err as StrataError).kind, "store");
  t.match((err as StrataError).message, /holds no Strata data; the database's chunks are in store/);
});
