// One conformance suite, run against the file store and against the S3 store on
// a real S3 API server (s3rver): both must behave the same for every caller.

import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import t from "tap";

import { FileStore } from "../../loader/store/file.js";
import { packKey, planRanges, StoreError, type ByteRange, type ObjectStore } from "../../loader/store/index.js";
import { S3Store } from "../../loader/store/s3.js";
import { createBucket, seedObjects, useS3Server } from "../helpers/s3server.js";

type T = Parameters<Parameters<typeof t.test>[0]>[0];
interface Subject {
  store: ObjectStore;
  /** Makes objects exist quickly, bypassing put where that is slow (s3rver). */
  seed(objects: Array<{ key: string; body: Buffer }>): Promise<void>;
}
type MakeSubject = (t: T) => Promise<Subject>;

const MiB = 1024 * 1024;

async function rejectsWith(t: T, promise: Promise<unknown>, kind: StoreError["kind"], message: string): Promise<StoreError | undefined> {
  try {
    await promise;
  } catch (err) {
    t.ok(err instanceof StoreError, `${message}: a StoreError`);
    t.equal((err as StoreError).kind, kind, `${message}: kind ${kind}`);
    t.notMatch((err as Error).message, /\n/, `${message}: one-line message`);
    return err as StoreError;
  }
  t.fail(`${message}: expected a rejection of kind ${kind}`);
  return undefined;
}

async function collect(store: ObjectStore, prefix?: string): Promise<Array<{ key: string; size: number }>> {
  const out = [];
  for await (const entry of store.list(prefix)) out.push(entry);
  return out;
}

async function putMany(store: ObjectStore, objects: Array<string | { key: string; body: Buffer }>): Promise<void> {
  await Promise.all(objects.map((o) => (typeof o === "string" ? store.put(o, Buffer.from(o)) : store.put(o.key, o.body))));
}

function conformance(t: T, makeSubject: MakeSubject): void {
  const make = async (t: T) => (await makeSubject(t)).store;

  t.test("check passes on a usable store", async (t) => {
    const store = await make(t);
    await store.check();
    t.pass("check resolved");
  });

  t.test("put/get round trip of real sizes", async (t) => {
    const store = await make(t);
    for (const size of [0, 1, MiB, 20 * MiB]) {
      const body = randomBytes(size);
      const key = packKey(randomBytes(32).toString("hex"));
      t.equal(await store.has(key), false, `${size} B: absent before`);
      t.equal(await store.put(key, body), true, `${size} B: written`);
      t.equal(await store.has(key), true, `${size} B: present after`);
      t.equal(await store.size(key), size, `${size} B: size`);
      const back = await store.get(key);
      t.equal(back.length, size, `${size} B: length read back`);
      t.ok(back.equals(body), `${size} B: same bytes`);
    }
  });

  t.test("put is idempotent and skips objects already present", async (t) => {
    const store = await make(t);
    const body = randomBytes(MiB);
    t.equal(await store.put("packs/aa/one", body), true);
    const puts = store.stats().put;
    t.equal(await store.put("packs/aa/one", body), false, "second put reports present");
    t.equal(store.stats().put, puts, "no second upload");
    t.ok((await store.get("packs/aa/one")).equals(body));
    // A same-key object of another size is damaged: it gets replaced.
    t.equal(await store.put("packs/aa/one", body.subarray(0, 10)), true, "size mismatch is overwritten");
    t.same(await store.get("packs/aa/one"), body.subarray(0, 10));
  });

  t.test("missing objects and bad keys", async (t) => {
    const store = await make(t);
    t.equal(await store.has("packs/00/missing"), false);
    t.equal(await store.size("packs/00/missing"), undefined);
    const err = await rejectsWith(t, store.get("packs/00/missing"), "not_found", "get of a missing key");
    t.match(err?.message, "packs/00/missing", "message names the key");
    t.match(err?.message, store.describe(), "message names the store");
    await rejectsWith(t, store.getRange("packs/00/missing", 0, 10), "not_found", "getRange of a missing key");
    await rejectsWith(t, store.getRanges("packs/00/missing", [{ offset: 0, length: 10 }]), "not_found", "getRanges of a missing key");
    for (const bad of ["", "/abs", "a//b", "../up", "a/../b", ".hidden", "a/.tmp-1", "sp ace", "trail/"]) {
      await rejectsWith(t, store.put(bad, Buffer.from("x")), "bad_key", `key ${JSON.stringify(bad)}`);
    }
  });

  t.test("getRange reads exact ranges and refuses ranges past the end", async (t) => {
    const store = await make(t);
    const body = randomBytes(3 * MiB + 17);
    await store.put("packs/ab/range", body);
    for (const [offset, length] of [
      [0, 1],
      [0, body.length],
      [MiB, MiB],
      [body.length - 1, 1],
      [12345, 0],
    ] as const) {
      const got = await store.getRange("packs/ab/range", offset, length);
      t.ok(got.equals(body.subarray(offset, offset + length)), `range ${offset}+${length}`);
    }
    await rejectsWith(t, store.getRange("packs/ab/range", body.length - 5, 10), "bad_range", "range running past the end");
    await rejectsWith(t, store.getRange("packs/ab/range", body.length + 100, 10), "bad_range", "range starting past the end");
    await rejectsWith(t, store.getRange("packs/ab/range", -1, 10), "bad_range", "negative offset");
  });

  t.test("getRanges merges neighbouring ranges into fewer reads", async (t) => {
    const store = await make(t);
    const body = randomBytes(8 * MiB);
    await store.put("packs/cd/many", body);
    const ranges: ByteRange[] = [];
    // 300 chunk-like ranges 4 KiB apart (mergeable), overlaps, far-apart ones, empties.
    for (let i = 0; i < 300; i++) ranges.push({ offset: 100_000 + i * 5000, length: 1000 });
    ranges.push({ offset: 100_500, length: 3000 }, { offset: 7 * MiB, length: 10 }, { offset: 5 * MiB, length: MiB });
    ranges.push({ offset: 42, length: 0 }, { offset: 8 * MiB - 1, length: 1 });
    ranges.reverse(); // answers must follow the caller's order, not the offsets
    const before = store.stats().get;
    const parts = await store.getRanges("packs/cd/many", ranges);
    const requests = store.stats().get - before;
    t.equal(parts.length, ranges.length, "one answer per range");
    ranges.forEach((r, i) => {
      if (!parts[i]!.equals(body.subarray(r.offset, r.offset + r.length))) t.fail(`range ${i} (${r.offset}+${r.length}) differs`);
    });
    t.pass("every range has the right bytes");
    t.ok(requests < ranges.length, `${requests} reads for ${ranges.length} ranges`);
    t.equal(requests, planRanges(ranges).length, "one read per planned group");
    t.ok(requests <= 4, `merged into ${requests} reads`);

    const unmerged = store.stats().get;
    await store.getRanges("packs/cd/many", ranges.slice(10, 30), { gap: 0 });
    t.equal(store.stats().get - unmerged, 20, "gap 0 keeps separate ranges separate");
    await rejectsWith(t, store.getRanges("packs/cd/many", [{ offset: 8 * MiB - 1, length: 2 }]), "bad_range", "a range past the end");
  });

  t.test("list paginates past 1000 keys, in key order, by string prefix", async (t) => {
    const { store, seed } = await makeSubject(t);
    const keys = Array.from({ length: 1005 }, (_, i) => `many/${String(i).padStart(4, "0")}`);
    await seed(keys.map((key) => ({ key, body: Buffer.from(key) })));
    // Neighbours sharing the string prefix 'man'. (Not 'many-x/': s3rver lists in
    // folder-walk order, which puts 'many-x/' after 'many/' and then loses it
    // across a page boundary; real S3 and the file store list by key bytes.)
    await putMany(store, ["other/x", "many0/x", "man/y"]);
    const lists = store.stats().list;
    const listed = await collect(store, "many/");
    t.equal(listed.length, keys.length, "every key listed once");
    t.same(
      listed.map((e) => e.key),
      keys,
      "keys in order, relative to the store",
    );
    t.ok(
      listed.every((e) => e.size === 9),
      "sizes listed",
    );
    if (store instanceof S3Store) t.ok(store.stats().list - lists >= 2, "took more than one page");
    t.same(
      (await collect(store, "many/100")).map((e) => e.key),
      ["many/1000", "many/1001", "many/1002", "many/1003", "many/1004"],
    );
    t.equal((await collect(store, "man")).length, keys.length + 2, "prefix is a plain string prefix");
    t.same(await collect(store, "nothing/"), [], "empty prefix result");
    const all = (await collect(store)).map((e) => e.key);
    t.same(all, [...all].sort(), "whole listing sorted");
    t.equal(all.length, keys.length + 3, "whole listing complete");
  });

  t.test("delete removes exactly the given keys", async (t) => {
    const store = await make(t);
    const keys = ["del/a/1", "del/a/2", "del/a/3", "del/b/1", "del/b/2", "keep/1"];
    await putMany(store, keys);
    // Emptying del/a/ is the case s3rver answers with HTTP 500 (guide, fault 2):
    // the contents are checked below, not only the answer.
    await store.delete(["del/a/1", "del/a/2", "del/a/3", "del/b/2", "del/never-existed"]);
    t.same(
      (await collect(store)).map((e) => e.key),
      ["del/b/1", "keep/1"],
      "only the others remain",
    );
    t.equal(await store.has("del/a/1"), false);
    await store.delete(["del/a/1"]);
    t.pass("deleting again is fine");
    await store.delete([]);
    t.equal(await store.put("del/a/1", Buffer.from("again")), true, "a deleted key can be written again");
    t.same(await store.get("del/a/1"), Buffer.from("again"));
  });
}

t.test("file store", async (t) => {
  conformance(t, async (t) => {
    const root = mkdtempSync(join(tmpdir(), "strata-filestore-"));
    t.teardown(() => rmSync(root, { recursive: true, force: true }));
    const store = new FileStore(join(root, "objects"));
    return { store, seed: (objects) => putMany(store, objects) };
  });
});

t.test("s3 store on s3rver", async (t) => {
  const server = await useS3Server((fn) => t.teardown(fn));
  const bucket = `conformance-${process.pid}-${randomBytes(3).toString("hex")}`;
  await createBucket(server, bucket);
  let n = 0;
  conformance(t, async (t) => {
    const store = new S3Store({
      bucket,
      prefix: `case-${++n}/`,
      endpoint: server.endpoint,
      region: server.region,
      credentials: server,
      concurrency: 16,
    });
    t.teardown(() => store.close());
    const seed = (objects: Array<{ key: string; body: Buffer }>) =>
      seedObjects(
        server,
        bucket,
        objects.map((o) => ({ key: store.settings.prefix + o.key, body: o.body })),
      );
    return { store, seed };
  });
});
