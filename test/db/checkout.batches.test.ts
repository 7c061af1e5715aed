// Checkout at more than toy scale: thousands of small files read with few requests,
// files that span several fetch batches, chunks shared between different files.

import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

import t from "tap";

import { checkout, type CheckoutProgress } from "../../loader/checkout/index.js";
import { fixture, seedVersion, walk } from "../helpers/seed.js";

const KiB = 1024;

t.test("2,500 small files: every one written, ranges merged into few reads", async (t) => {
  const f = await fixture(t, "file");
  const files: Record<string, string> = {};
  for (let i = 0; i < 2500; i++) files[`shard-${i % 50}/item-${i}.json`] = JSON.stringify({ i, pad: "x".repeat(i % 300) });
  await seedVersion(f.strata, f.store, "many", files);
  const store = f.reopenStore();
  const seen: CheckoutProgress[] = [];
  const dir = join(f.tmp, "out");
  const r = await checkout(f.strata.session.withStore(store), { dataset: "many" }, dir, { onProgress: (p) => seen.push(p) });
  t.equal(r.filesWritten, 2500);
  // One read per group of 2,000 file contents (the chunk-list batch), not one per file.
  t.equal(store.stats().get, 2, "the pack is read with two requests");
  t.equal((await walk(dir)).filter((p) => p.startsWith("shard-") && p.endsWith(".json")).length, 2500);
  t.equal(await readFile(join(dir, "shard-7/item-1007.json"), "utf8"), files["shard-7/item-1007.json"]);
  t.equal(seen[0]?.phase, "plan");
  t.equal(seen[seen.length - 1]?.phase, "done");
  t.match(seen.filter((p) => p.phase === "write").pop(), {
    filesDone: 2500,
    filesTotal: 2500,
    bytesDone: r.bytesWritten,
    bytesTotal: r.bytesWritten,
  });
});

t.test("small batches: big files span batches, shared chunks are fetched once", async (t) => {
  for (const kind of ["file", "s3"] as const) {
    const f = await fixture(t, kind);
    const x = randomBytes(64 * KiB); // one whole chunk at the seed's 64 KiB split
    const a = Buffer.concat([x, randomBytes(64 * KiB), randomBytes(10 * KiB)]);
    const b = Buffer.concat([randomBytes(64 * KiB), randomBytes(64 * KiB), x]);
    const big = randomBytes(1024 * KiB + 5);
    await seedVersion(f.strata, f.store, "ds", { "a.bin": a, "b.bin": b, "big.bin": big, "z/a-copy.bin": a });
    const dir = join(f.tmp, "out");
    const r = await checkout(f.strata.session.withStore(f.reopenStore()), { dataset: "ds" }, dir, { batchBytes: 64 * KiB, concurrency: 2 });
    t.equal(r.bytesFetched, a.length + b.length - x.length + big.length, `${kind}: each distinct chunk fetched once`);
    for (const [path, data] of [
      ["a.bin", a],
      ["b.bin", b],
      ["big.bin", big],
      ["z/a-copy.bin", a],
    ] as const)
      t.ok((await readFile(join(dir, path))).equals(data), `${kind}: ${path} intact`);
  }
});
