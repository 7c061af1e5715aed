// strata.ls and strata.blob_chunks (SQL functions, sql/30_files.sql) against a model of
// the listing: a nested tree with odd names, symlinks and empty files, under many prefixes.

import { createHash } from "node:crypto";
import t from "tap";
import { Sqlstate } from "../../stored/errors.js";
import { sqlstateOf } from "../helpers/db.js";
import { commitFiles, type Files, PIECE, versionsDb } from "../helpers/versions.js";

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

function fixture(): Files {
  const files: Files = {};
  const names = ["a", "a-b", "a.b", "B", "é", "z", "a b", "ab", "a_", "Z9", "日本"];
  let k = 0;
  for (const x of names)
    for (const y of names.slice(0, 5))
      for (const z of ["f.txt", "g", "h.csv"]) {
        k++;
        if (k % 7 === 0) files[`${x}/${y}/${z}`] = { symlink: `../${y}/${z}` };
        else files[`${x}/${y}/${z}`] = k % 5 === 0 ? "" : Buffer.alloc(k * 300, `${x}${y}${z}`);
      }
  files["top.txt"] = "top";
  files.a0 = "a0";
  files["deep/1/2/3/4/5/6/leaf"] = "leaf";
  files["deep/1/2/x"] = { symlink: "3/4" };
  return files;
}

type Row = [path: string, kind: string, size: number, hash: string, target: string | null];

/** What ls lists: the prefix's folders (empty names dropped) must be folders, and names there start with the rest. */
function model(files: Files, prefix: string | null): Row[] {
  const parts = (prefix ?? "").split("/");
  const rest = parts.pop()!;
  const folders = parts.filter((p) => p !== "");
  const start = (folders.length > 0 ? `${folders.join("/")}/` : "") + rest;
  return Object.entries(files)
    .filter(([path]) => path.startsWith(start))
    .map(([path, f]): Row => {
      if (typeof f === "object" && !Buffer.isBuffer(f)) return [path, "symlink", 0, sha(f.symlink), f.symlink];
      return [path, "file", Buffer.byteLength(f), sha(f), null];
    })
    .sort((x, y) => Buffer.compare(Buffer.from(x[0]), Buffer.from(y[0])));
}

t.test("ls lists exactly the files under each prefix, in byte order of paths", async (t) => {
  const { session, db } = await versionsDb(t);
  const files = fixture();
  await commitFiles(session, "d", files, { tag: "one" });
  await commitFiles(session, "d", { "only/file": "x" }, { tag: "two" });
  const ls = async (tag: string | null, prefix: string | null): Promise<Row[]> => {
    const { rows } = await db.query("select path, kind, size::int, encode(hash, 'hex') as hash, target from strata.ls('d', $1, $2)", [
      tag,
      prefix,
    ]);
    return rows.map((r) => [r.path, r.kind, r.size, r.hash, r.target]);
  };
  const prefixes = ["", null, "a", "a/", "a/a", "a/a/", "a/a/f", "a/a/f.txt", "a/a/f.txt/", "/a/", "a//a/", "//", "é", "日", "日本/B/"];
  prefixes.push("nope/", "top.txt", "top.txt/", "deep/", "deep/1/2/", "deep/1/2/3/4/5/6/leaf", "deep/1/2/x/", "deep/1/2/x", "A", "a b/");
  for (const p of prefixes) t.same(await ls("one", p), model(files, p), `prefix ${JSON.stringify(p)}`);
  t.equal(model(files, "").length, Object.keys(files).length);
  t.same(await ls(null, ""), [["only/file", "file", 1, sha("x"), null]], "tag null lists the latest version");
  const { rows } = await db.query("select * from strata.ls('d', 'one', 'top')");
  t.same(Object.keys(rows[0]), ["path", "kind", "executable", "size", "hash", "target"], "the columns, hash the file's SHA-256");
});

t.test("ls raises Strata's errors before listing", async (t) => {
  const { session, db } = await versionsDb(t);
  await commitFiles(session, "d", { a: "1" }, { tag: "one" });
  await db.query("select strata.create_dataset('empty')");
  const code = (sql: string) => sqlstateOf(() => db.query(sql));
  t.equal(await code("select * from strata.ls('nope', 'one')"), Sqlstate.unknownDataset);
  t.equal(await code("select * from strata.ls('d', 'nope')"), Sqlstate.unknownVersion);
  t.equal(await code("select * from strata.ls('empty', null)"), Sqlstate.unknownVersion);
  t.equal(await code("select * from strata.ls('-bad', 'one')"), Sqlstate.invalidName);
  t.equal(await code("select * from strata.ls(null, 'one')"), Sqlstate.invalidName);
  await t.rejects(db.query("select * from strata.ls('d', 'nope', 'x/')"), { message: 'dataset "d" has no version "nope"' });
});

t.test("blob_chunks lists each distinct content's chunks in order, with their packs", async (t) => {
  const { session, db } = await versionsDb(t);
  const big = Buffer.concat([Buffer.alloc(PIECE, "1"), Buffer.alloc(PIECE, "2"), Buffer.alloc(10, "3")]);
  const c = await commitFiles(session, "d", { big, small: "s", empty: "" }, { tag: "one" });
  const blob = (p: string) => c.blobs.get(p)!;
  const { rows } = await db.query(
    `select encode(blob, 'hex') as blob, seq, encode(chunk, 'hex') as chunk, size, octet_length(pack) as pack_bytes, stored_size
     from strata.blob_chunks($1::bytea[])`,
    [[blob("small"), blob("big"), blob("big"), Buffer.alloc(32), null, blob("empty")]],
  );
  const chunk = (b: Buffer) => ({ chunk: sha(b), size: b.length, pack_bytes: 32, stored_size: b.length });
  const expected = [
    { blob: sha(big), seq: 1, ...chunk(big.subarray(0, PIECE)) },
    { blob: sha(big), seq: 2, ...chunk(big.subarray(PIECE, 2 * PIECE)) },
    { blob: sha(big), seq: 3, ...chunk(big.subarray(2 * PIECE)) },
    { blob: sha("s"), seq: 1, ...chunk(Buffer.from("s")) },
  ].sort((x, y) => (x.blob < y.blob ? -1 : x.blob > y.blob ? 1 : x.seq - y.seq));
  t.same(rows, expected, "duplicates once, unknown hashes, null and the empty file give no rows");
  t.same((await db.query("select * from strata.blob_chunks(null)")).rows, []);
});
