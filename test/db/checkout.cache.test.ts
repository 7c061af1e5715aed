// The local chunk cache: a warm cache serves a checkout from a remote store without
// a single GET; a damaged entry is dropped and fetched again.

import { randomBytes } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";

import t from "tap";

import { cat, checkout, ChunkCache, defaultCacheDir, isLocalStore } from "../../loader/checkout/index.js";
import { fixture, seedVersion } from "../helpers/seed.js";

t.test("S3: the second checkout with a warm cache makes no GET requests", async (t) => {
  const f = await fixture(t, "s3");
  const files = { "a.bin": randomBytes(300_000), "b/c.bin": randomBytes(700_000), "d.txt": "small" };
  await seedVersion(f.strata, f.store, "ds", files);
  const cacheDir = join(f.tmp, "cache");

  const first = f.reopenStore();
  const r1 = await checkout(f.strata.session.withStore(first), { dataset: "ds" }, join(f.tmp, "one"), { cacheDir });
  t.ok(first.stats().get > 0, "the cold checkout reads packs");
  t.equal(r1.chunksFromCache, 0);
  t.equal(r1.bytesFetched, 1_000_005);

  const second = f.reopenStore();
  const r2 = await checkout(f.strata.session.withStore(second), { dataset: "ds" }, join(f.tmp, "two"), { cacheDir });
  t.equal(second.stats().get, 0, "no GET with a warm cache");
  t.match(r2, { filesWritten: 3, bytesFetched: 0, chunksFetched: 0, chunksFromCache: r1.chunksFetched, bytesFromCache: 1_000_005 });
  for (const [path, v] of Object.entries(files)) t.ok((await readFile(join(f.tmp, "two", path))).equals(Buffer.from(v)), `${path} intact`);

  const third = f.reopenStore();
  const out = new PassThrough();
  const parts: Buffer[] = [];
  out.on("data", (d: Buffer) => parts.push(d));
  await cat(f.strata.session.withStore(third), { dataset: "ds" }, "b/c.bin", out, { cacheDir });
  t.ok(Buffer.concat(parts).equals(files["b/c.bin"]), "cat reads the cache too");
  t.equal(third.stats().get, 0, "cat made no GET");
});

t.test("a damaged cache entry is dropped and refetched", async (t) => {
  const f = await fixture(t, "s3");
  const data = randomBytes(200_000);
  await seedVersion(f.strata, f.store, "ds", { "x.bin": data });
  const cacheDir = join(f.tmp, "cache");
  const r1 = await checkout(f.strata.session.withStore(f.reopenStore()), { dataset: "ds" }, join(f.tmp, "one"), { cacheDir });

  const fan = (await readdir(cacheDir)).sort();
  const victim = join(cacheDir, fan[0]!, (await readdir(join(cacheDir, fan[0]!)))[0]!);
  const good = await readFile(victim);
  await writeFile(victim, Buffer.concat([good.subarray(1), Buffer.from([good[0]! ^ 1])]));

  const store = f.reopenStore();
  const r2 = await checkout(f.strata.session.withStore(store), { dataset: "ds" }, join(f.tmp, "two"), { cacheDir });
  t.equal(r2.chunksFetched, 1, "only the damaged chunk came from the store");
  t.equal(r2.chunksFromCache, r1.chunksFetched - 1);
  t.ok(store.stats().get >= 1);
  t.ok((await readFile(join(f.tmp, "two", "x.bin"))).equals(data), "the file is right");
  t.ok((await readFile(victim)).equals(good), "the entry was repaired");
  const cache = new ChunkCache(cacheDir);
  t.ok(await cache.get(victim.slice(-64)), "and verifies");
});

t.test("isLocalStore and defaultCacheDir", async (t) => {
  const file = await fixture(t, "file");
  const s3 = await fixture(t, "s3");
  t.equal(isLocalStore(file.store), true, "file:// store: no cache needed");
  t.equal(isLocalStore(s3.store), false, "s3:// store: cache");
  t.equal(defaultCacheDir("/home/u/.strata"), "/home/u/.strata/cache/chunks");
});
