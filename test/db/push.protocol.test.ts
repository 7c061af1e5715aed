// The push protocol (docs/push-protocol.md) spoken from plain SQL, as a client in another
// language would: hashes computed by the client, one pack object written to a file store,
// every other step a function call of a writer login. The loader then checks the version
// out byte for byte.

import { createHash, randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Encoder } from "@toondepauw/node-zstd";
import pg from "pg";
import t from "tap";
import { Strata } from "../../loader/strata.js";
import { Sqlstate } from "../../stored/errors.js";
import { connect, sqlstateOf } from "../helpers/db.js";
import { freshDatabase } from "../helpers/harness.js";
import { tempDir } from "../helpers/strata.js";

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest();

function treeHash(entries: { kind: string; name: string; hash: Buffer; size: number }[]): Buffer {
  const parts = [...entries]
    .sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)))
    .map((e) => {
      const size = Buffer.alloc(8);
      size.writeBigUInt64BE(BigInt(e.size));
      return Buffer.concat([Buffer.from(e.kind), Buffer.from(e.name), Buffer.of(0), e.hash, size]);
    });
  return sha(Buffer.concat(parts));
}

t.test("a version pushed with SQL calls alone checks out byte for byte", async (t) => {
  const url = await freshDatabase(t);
  const su = await connect(t, url);
  await su.query("drop role if exists proto_writer");
  await su.query("create role proto_writer login password 'pw'");
  await su.query("select strata.grant_role('proto_writer', 'writer')");
  t.teardown(async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query("drop owned by proto_writer").catch(() => {});
    await c.query("drop role if exists proto_writer");
    await c.end();
  });
  const u = new URL(url);
  u.username = "proto_writer";
  u.password = "pw";
  const db = await connect(t, u.toString());
  const store = tempDir(t);

  // 1. The store's id.
  const { rows: claim } = await db.query("select * from strata.claim_store($1)", [randomUUID()]);
  t.same([claim[0].claimed, claim[0].has_chunks], [true, false]);
  writeFileSync(join(store, "strata.json"), JSON.stringify({ format: 1, storeId: claim[0].store_id }));
  // 2. Open the push.
  const { rows: begun } = await db.query("select * from strata.push_begin('proto', null, 'gold')");
  const push = begun[0].push;
  // 3. Two files, cut into chunks of 4 bytes; one pack.
  const files = { "run.sh": Buffer.from("#!/bin/sh\necho hi\n"), "data/x.txt": Buffer.from("hello world") };
  const chunksOf = (b: Buffer) => Array.from({ length: Math.ceil(b.length / 4) }, (_, i) => b.subarray(i * 4, i * 4 + 4));
  const all = new Map<string, Buffer>();
  for (const b of Object.values(files)) for (const c of chunksOf(b)) all.set(sha(c).toString("hex"), c);
  const { rows: missing } = await db.query("select h from strata.missing_chunks($1::bytea[]) h", [
    [...all.keys()].map((h) => Buffer.from(h, "hex")),
  ]);
  t.equal(missing.length, all.size);
  const hashes = [...all.keys()].map((h) => Buffer.from(h, "hex"));
  const pack = sha(Buffer.concat(hashes));
  const body = Buffer.concat([...all.values()]);
  mkdirSync(join(store, "packs", pack.toString("hex").slice(0, 2)), { recursive: true });
  writeFileSync(join(store, "packs", pack.toString("hex").slice(0, 2), pack.toString("hex")), body);
  const offsets: number[] = [];
  let at = 0;
  for (const c of all.values()) {
    offsets.push(at);
    at += c.length;
  }
  await db.query("select strata.register_pack($1, $2, $3::bytea[], $4::bigint[], $5::int[], $6)", [
    pack,
    body.length,
    hashes,
    offsets,
    [...all.values()].map((c) => c.length),
    push,
  ]);
  // 4. Contents.
  await db.query("select strata.put_blobs($1::bytea[], $2::bigint[], $3::bytea[])", [
    Object.values(files).map(sha),
    Object.values(files).map((b) => b.length),
    Object.values(files).map((b) => Buffer.concat(chunksOf(b).map(sha))),
  ]);
  // 5. Trees, children first.
  const dataEntries = [{ kind: "f", name: "x.txt", hash: sha(files["data/x.txt"]), size: 11 }];
  const data = treeHash(dataEntries);
  const rootEntries = [
    { kind: "d", name: "data", hash: data, size: 11 },
    { kind: "x", name: "run.sh", hash: sha(files["run.sh"]), size: files["run.sh"].length },
  ];
  const root = treeHash(rootEntries);
  await db.query(
    "select strata.put_trees($1::bytea[], $2::bigint[], $3::bigint[], $4::int[], $5::text[], $6::text[], $7::boolean[], $8::bytea[], $9::bigint[], $10::text[])",
    [
      [data, root],
      [1, 2],
      [11, 11 + files["run.sh"].length],
      [1, 2, 2],
      ["x.txt", "data", "run.sh"],
      ["file", "dir", "file"],
      [false, false, true],
      [dataEntries[0]!.hash, data, rootEntries[1]!.hash],
      [11, 11, files["run.sh"].length],
      [null, null, null],
    ],
  );
  // 7. Commit.
  const { rows: v } = await db.query("select * from strata.commit_version('proto', $1, null, 'gold', 'from SQL', '{\"seed\": 7}', $2)", [
    root,
    push,
  ]);
  t.match(v[0], { dataset: "proto", tag: "gold", file_count: 2, content_hash: root.toString("hex"), new_bytes: body.length });

  const strata = await Strata.open({ databaseUrl: url, store: `file://${store}`, home: tempDir(t) });
  t.teardown(() => strata.close());
  const out = tempDir(t);
  await strata.checkout({ dataset: "proto", tag: "gold" }, out);
  t.equal(readFileSync(join(out, "data/x.txt"), "utf8"), "hello world");
  t.equal(readFileSync(join(out, "run.sh"), "utf8"), "#!/bin/sh\necho hi\n");
});

t.test("a push commits one version, of what it was opened for", async (t) => {
  const url = await freshDatabase(t);
  const db = await connect(t, url);
  const empty = treeHash([]);
  await db.query(
    "select strata.put_trees($1::bytea[], $2::bigint[], $3::bigint[], $4::int[], $5::text[], $6::text[], $7::boolean[], $8::bytea[], $9::bigint[], $10::text[])",
    [[empty], [0], [0], [], [], [], [], [], [], []],
  );
  const begin = async (sql: string): Promise<number> => (await db.query(sql)).rows[0].push;
  const commit = (dataset: string, push: number) =>
    db.query("select * from strata.commit_version($1, $2, null, null, null, null, $3)", [dataset, empty, push]);
  const forA = await begin("select * from strata.push_begin('a', null, null)");
  await t.rejects(commit("b", forA), { code: "ST008", message: /push \d+ was opened for dataset "a", not dataset "b"/ });
  const forModel = await begin("select * from strata.model_push_begin('m')");
  await t.rejects(commit("a", forModel), { code: "ST008", message: /opened for model "m", not dataset "a"/ });
  await t.rejects(db.query("select * from strata.commit_model_version('m', $1, null, null, null, $2)", [empty, forA]), {
    code: "ST008",
    message: /opened for dataset "a", not model "m"/,
  });
  await commit("a", forA);
  await t.rejects(commit("a", forA), { code: "ST008", message: /has committed its version already/ });
  t.equal((await db.query("select count(*)::int as n from strata.versions")).rows[0].n, 1, "only the honest commit made a version");
});

t.test("a chunk registered as a zstd frame from SQL checks out; bad codecs and sizes are refused", async (t) => {
  const url = await freshDatabase(t);
  const db = await connect(t, url);
  const store = tempDir(t);
  const { rows: claim } = await db.query("select * from strata.claim_store($1)", [randomUUID()]);
  writeFileSync(join(store, "strata.json"), JSON.stringify({ format: 1, storeId: claim[0].store_id }));
  const { rows: begun } = await db.query("select * from strata.push_begin('zstd', null, null)");
  const push = begun[0].push;

  const raw = Buffer.from("hello zstd, ".repeat(500));
  const frame = new Encoder(3).encodeSync(raw);
  t.ok(frame.length < raw.length / 10, `${frame.length} bytes of frame for ${raw.length}`);
  const chunk = sha(raw);
  const pack = sha(Buffer.from("a zstd pack"));
  const register = (size: number, sizes: number[], stored: number[] | null, codecs: number[] | null) =>
    db.query("select strata.register_pack($1, $2, $3::bytea[], $4::bigint[], $5::int[], $6, $7::int[], $8::smallint[])", [
      pack,
      size,
      [chunk],
      [0],
      sizes,
      push,
      stored,
      codecs,
    ]);
  const refused = async (why: string, size: number, sizes: number[], stored: number[] | null, codecs: number[] | null) =>
    t.equal(await sqlstateOf(() => register(size, sizes, stored, codecs)), Sqlstate.invalidArgument, why);
  await refused("an unknown codec", frame.length, [raw.length], [frame.length], [2]);
  await refused("a raw chunk stored in fewer bytes than its size", frame.length, [raw.length], [frame.length], [0]);
  await refused("a stored size past the pack's end", frame.length, [raw.length], [frame.length + 1], [1]);
  await refused("a stored size of zero", frame.length, [raw.length], [0], [1]);
  await refused("stored sizes without codecs", frame.length, [raw.length], [frame.length], null);
  await refused("codecs without stored sizes", frame.length, [raw.length], null, [1]);
  await refused("one codec too many", frame.length, [raw.length], [frame.length], [1, 1]);
  const [none] = (await db.query("select count(*)::int as n from strata.chunks")).rows;
  t.equal(none.n, 0, "nothing registered");

  mkdirSync(join(store, "packs", pack.toString("hex").slice(0, 2)), { recursive: true });
  writeFileSync(join(store, "packs", pack.toString("hex").slice(0, 2), pack.toString("hex")), frame);
  await register(frame.length, [raw.length], [frame.length], [1]);
  const [row] = (await db.query("select size, stored_size, codec from strata.chunks")).rows;
  t.same(row, { size: raw.length, stored_size: frame.length, codec: 1 });
  await db.query("select strata.put_blobs($1::bytea[], $2::bigint[], $3::bytea[])", [[chunk], [raw.length], [chunk]]);
  const entries = [{ kind: "f", name: "hello.txt", hash: chunk, size: raw.length }];
  const root = treeHash(entries);
  await db.query(
    "select strata.put_trees($1::bytea[], $2::bigint[], $3::bigint[], $4::int[], $5::text[], $6::text[], $7::boolean[], $8::bytea[], $9::bigint[], $10::text[])",
    [[root], [1], [raw.length], [1], ["hello.txt"], ["file"], [false], [chunk], [raw.length], [null]],
  );
  await db.query("select * from strata.commit_version('zstd', $1, null, null, null, null, $2)", [root, push]);
  const strata = await Strata.open({ databaseUrl: url, store: `file://${store}`, home: tempDir(t) });
  t.teardown(() => strata.close());
  const out = tempDir(t);
  await strata.checkout({ dataset: "zstd" }, out);
  t.ok(readFileSync(join(out, "hello.txt")).equals(raw), "decoded byte for byte");
});
