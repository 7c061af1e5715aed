import t from "tap";
import { StoreError } from "../../loader/store/index.js";
import { openTestStrata, tempDir, writeTree, bytes } from "../helpers/strata.js";

t.test("many small files travel in a few pack objects on S3, each chunk located in its pack", async (t) => {
  const s = await openTestStrata(t, "s3");
  const dir = tempDir(t);
  const spec: Record<string, Buffer> = {};
  for (let i = 0; i < 2000; i++) spec[`shard-${i % 10}/f${i}.bin`] = bytes(1000 + (i % 7) * 100, i + 1);
  writeTree(dir, spec);
  await s.session.checkStore(); // writes the store's id marker once
  const before = s.store.stats();
  const r = await s.push(dir, { dataset: "small" });
  const after = s.store.stats();
  t.equal(r.version.fileCount, 2000);
  t.equal(r.packs, 1, "2,000 files of about 1 KiB make one pack");
  t.equal(after.put - before.put, 1, "one PUT request");
  const rows = await s.query<{ chunks: number; packs: number; bad: number }>(
    `select count(*)::int as chunks, count(distinct pack_id)::int as packs,
            count(*) filter (where c.pack_offset + c.size > p.size)::int as bad
     from strata.chunks c join strata.packs p on p.id = c.pack_id`,
  );
  t.same(rows[0], { chunks: 2000, packs: 1, bad: 0 }, "every chunk has its pack, offset and length");

  const again = await s.push(dir, { dataset: "small", tag: "same" });
  t.equal(again.newChunks, 0);
  t.equal(s.store.stats().put, after.put, "an unchanged tree uploads nothing");
});

t.test("a pack is registered only after it is stored", async (t) => {
  const s = await openTestStrata(t);
  const dir = tempDir(t);
  writeTree(dir, { "a.bin": bytes(50_000, 3) });
  const realPut = s.store.put.bind(s.store);
  s.store.put = async () => {
    throw new StoreError("io", "disk full");
  };
  await t.rejects(s.push(dir, { dataset: "failing" }), /disk full/);
  const rows = await s.query<{ n: number }>("select (select count(*) from strata.packs) + (select count(*) from strata.chunks) as n");
  t.equal(Number(rows[0]!.n), 0, "no pack or chunk rows for an object that was not stored");
  s.store.put = realPut;
  const r = await s.push(dir, { dataset: "failing" });
  t.equal(r.version.tag, "v1", "the same push then succeeds");
});
