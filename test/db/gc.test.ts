// gc: a dry run says exactly what the real run then deletes; the real run reclaims every
// byte only deleted versions held (all of it with a high repack threshold), keeps what
// the grace protects, removes a killed push's leftovers once they are older than the
// grace, and leaves every live version checking out byte for byte and fsck --full clean,
// on a folder store and on the S3 API. gc beside a push and checkouts: gc.concurrent.test.ts.

import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { ChunkFetcher, type ChunkNeed, locator } from "../../loader/checkout/fetch.js";
import type { Strata } from "../../loader/strata.js";
import { packKey } from "../../loader/store/index.js";
import { Sqlstate } from "../../stored/errors.js";
import { cliSession, strata } from "../helpers/cli.js";
import { ageFiles, turnBack } from "../helpers/clock.js";
import { connect, sqlstateOf } from "../helpers/db.js";
import { checksOut, fourVersions, PACK } from "../helpers/gc.js";
import { bytes, csvText, openTestStrata, tempDir, writeTree } from "../helpers/strata.js";

/** Bytes of every pack object in the store. */
async function storeBytes(s: Strata): Promise<number> {
  let n = 0;
  for await (const e of s.store.list("packs/")) n += e.size;
  return n;
}

for (const kind of ["file", "s3"] as const) {
  t.test(`${kind}: the dry run is the real run; every byte only deleted versions held is reclaimed`, async (t) => {
    const s = await openTestStrata(t, kind);
    const { contents } = await fourVersions(t, s);
    await s.deleteVersion({ dataset: "ds", tag: "v1" });
    await s.deleteVersion({ dataset: "ds", tag: "v2" });
    // What v3 and v4 still use: every other byte was held only by the deleted versions.
    const [live] = await s.query<{ unique_bytes: number }>("select unique_bytes from strata.v_storage_datasets where dataset = 'ds'");
    const freed = (await storeBytes(s)) - Number(live!.unique_bytes);
    t.equal(freed, 300_000 * 2 + 200_000, "v1 and v2 alone held their own files and the file they shared");

    const young = await s.gc({ repackBelow: 0.99 });
    t.equal(young.deletedPacks.count, 0, "packs younger than the grace stay");
    t.equal(young.reclaimedBytes, 0);

    await turnBack(s.databaseUrl, "2 days");
    const before = await storeBytes(s);
    const dry = await s.gc({ dryRun: true, repackBelow: 0.99, listKeys: true });
    t.equal(await storeBytes(s), before, "a dry run changes nothing");
    t.ok(dry.deletedPacks.count > 0, `${dry.deletedPacks.count} packs would go`);
    const real = await s.gc({ repackBelow: 0.99, listKeys: true });
    t.same([...real.keys!.deleted].sort(), [...dry.keys!.deleted].sort(), "the real run deletes what the dry run said");
    t.same(real.keys!.repacked.sort(), dry.keys!.repacked.sort(), "and repacks what it said");
    t.equal(real.reclaimedBytes, dry.reclaimedBytes, "reclaiming the bytes it said");
    t.equal(before - (await storeBytes(s)), real.reclaimedBytes, "the store shrank by what gc reports");
    t.equal(real.reclaimedBytes, freed, "exactly the bytes only the deleted versions held");
    t.equal(await storeBytes(s), Number(live!.unique_bytes), "the store holds what live versions use, nothing more");
    if (kind === "s3") t.ok(real.requests.delete >= 1 && real.requests.delete <= 2, `deleted in batches: ${real.requests.delete} requests`);
    t.ok(real.forgotten.chunks > 0 && real.forgotten.blobs >= 2 && real.forgotten.trees >= 2, JSON.stringify(real.forgotten));

    const again = await s.gc({ repackBelow: 0.99 });
    t.equal(again.deletedPacks.count + again.unknownObjects.count, 0, "a second run finds nothing");
    const cli = cliSession(t);
    const fsck = await cli(["fsck", "--full"], s.env);
    t.equal(fsck.code, 0, `fsck --full is clean: ${fsck.stdout}${fsck.stderr}`);
    await checksOut(t, s, "v3", contents.get("v3")!, cli);
    await checksOut(t, s, "v4", contents.get("v4")!, cli);
    const gone = await cli(["checkout", "ds@v1", tempDir(t)], s.env);
    t.equal(gone.code, 3, "a deleted version is not found");
    t.match(gone.stderr, /ds@v1 was deleted/);
  });
}

t.test("a push reusing chunks of a deleted version keeps them from gc", async (t) => {
  const s = await openTestStrata(t);
  const dir = tempDir(t);
  writeTree(dir, { "a.bin": bytes(400_000, 1), "b.bin": bytes(400_000, 2) });
  await s.push(dir, { dataset: "ds", packSize: PACK });
  await s.deleteVersion({ dataset: "ds", tag: "v1" });
  await turnBack(s.databaseUrl, "2 days");
  // The same content again: the push finds its chunks in v1's packs and reuses them.
  const again = await s.push(dir, { dataset: "ds", packSize: PACK });
  t.equal(again.version.tag, "v2");
  t.equal(again.newBytes, 0, "nothing uploaded");
  const r = await s.gc();
  t.equal(r.deletedPacks.count, 0, "the packs the push used are fresh again");
  const out = tempDir(t);
  await s.checkout({ dataset: "ds", tag: "v2" }, out);
  t.ok(readFileSync(join(out, "b.bin")).equals(bytes(400_000, 2)));
});

t.test("a push open longer than the grace of a gc that ran meanwhile may not commit", async (t) => {
  const s = await openTestStrata(t);
  const dir = tempDir(t);
  writeTree(dir, { "a.bin": bytes(100_000, 1) });
  await s.push(dir, { dataset: "ds" });
  const [begun] = await s.query<{ push: number }>("select push from strata.push_begin('ds')");
  const root = Buffer.from((await s.version({ dataset: "ds" })).contentHash, "hex");
  await turnBack(s.databaseUrl, "2 days");
  await s.gc();
  const code = await sqlstateOf(() =>
    s.query("select * from strata.commit_version('ds', $1, null, 'late', null, null, $2)", [root, begun!.push]),
  );
  t.equal(code, Sqlstate.pushOutlivedGc, "refused: what it reuses may be gone");
  const [fresh] = await s.query<{ push: number }>("select push from strata.push_begin('ds')");
  await s.query("select * from strata.commit_version('ds', $1, null, 'late', null, null, $2)", [root, fresh!.push]);
  t.pass("a push begun after the gc commits");
});

t.test("a killed push's objects and temp files go once older than the grace", async (t) => {
  const s = await openTestStrata(t);
  const dir = tempDir(t);
  writeTree(dir, { "a.bin": bytes(100_000, 1) });
  await s.push(dir, { dataset: "ds" });
  const root = s.env.STRATA_STORE!.slice("file://".length);
  const orphan = packKey(randomBytes(32).toString("hex"));
  await s.store.put(orphan, randomBytes(5000));
  mkdirSync(join(root, ".tmp"), { recursive: true });
  writeFileSync(join(root, ".tmp", "otherhost-123-abcdef"), randomBytes(7000));

  const young = await s.gc({ dryRun: true, listKeys: true });
  t.equal(young.unknownObjects.count, 0, "a young unknown object may be a push's about to register");
  t.equal(young.tempFiles.count, 0);

  ageFiles(root, 2 * 24 * 3600 * 1000);
  await turnBack(s.databaseUrl, "2 days");
  const dry = await s.gc({ dryRun: true, listKeys: true });
  t.same(dry.keys!.unknown, [orphan]);
  t.same(dry.tempFiles, { count: 1, bytes: 7000 });
  t.ok(await s.store.has(orphan), "still there after the dry run");
  const real = await s.gc({ listKeys: true });
  t.same(real.keys!.unknown, [orphan]);
  t.same(real.tempFiles, { count: 1, bytes: 7000 });
  t.equal(await s.store.has(orphan), false, "deleted");
  t.equal(real.deletedPacks.count, 0, "the live version's packs stay");
  await checksOut(t, s, "v1", { "a.bin": bytes(100_000, 1) });
});

t.test("a reader whose pack gc repacked and deleted finds its chunks where they moved", async (t) => {
  const s = await openTestStrata(t);
  const { contents } = await fourVersions(t, s);
  // Where v3's chunks are before gc, as a checkout that began earlier would know them.
  const needs = (
    await s.query<{ chunk: Buffer; size: number; pack: Buffer; pack_offset: number }>(
      `select c.chunk, c.size, c.pack, c.pack_offset from strata.ls('ds', 'v3') l, strata.blob_chunks(array[l.hash]) c where l.kind = 'file'`,
    )
  ).map(
    (c, i): ChunkNeed => ({
      hash: c.chunk.toString("hex"),
      size: c.size,
      pack: c.pack.toString("hex"),
      offset: Number(c.pack_offset),
      path: "x",
      seq: i,
    }),
  );
  await s.deleteVersion({ dataset: "ds", tag: "v2" });
  await turnBack(s.databaseUrl, "2 days");
  const r = await s.gc({ repackBelow: 0.99 });
  t.ok(r.repackedPacks.count > 0, `${r.repackedPacks.count} packs repacked`);
  const stale = needs;
  const blind = new ChunkFetcher(s.store, undefined, 4);
  await t.rejects(blind.fetch(stale), /missing from/, "the old locations are gone");
  const got = await new ChunkFetcher(s.store, undefined, 4, locator(s.session)).fetch(stale);
  t.equal(got.size, new Set(stale.map((n) => n.hash)).size, "every chunk found where it moved");
  await checksOut(t, s, "v3", contents.get("v3")!);
});

t.test("gc repacks compressed chunks as they are stored: still zstd, still readable", async (t) => {
  const s = await openTestStrata(t);
  const dir = tempDir(t);
  const versions: Record<string, Buffer>[] = [];
  // As fourVersions, compressible: each version's pack holds its own file (dead once the
  // version is deleted) and the file it shares with the next (live), so gc repacks it.
  for (let v = 1; v <= 3; v++) {
    const files = { [`own-${v}.csv`]: csvText(400_000, 10 + v), [`shared-${v}.csv`]: csvText(300_000, 20 + v) };
    if (v > 1) files[`shared-${v - 1}.csv`] = csvText(300_000, 20 + v - 1);
    writeTree(join(dir, `v${v}`), files);
    await s.push(join(dir, `v${v}`), { dataset: "ds", packSize: 4 * 1024 * 1024 });
    versions.push(files);
  }
  const forms = () =>
    s.query<{ chunk: Buffer; stored_size: number; codec: number; pack: Buffer }>(
      `select c.chunk, c.stored_size, c.codec, c.pack from strata.ls('ds', 'v3') l, strata.blob_chunks(array[l.hash]) c order by 1`,
    );
  const before = await forms();
  t.ok(
    before.every((c) => c.codec === 1),
    "v3's chunks are compressed",
  );
  await s.deleteVersion({ dataset: "ds", tag: "v2" });
  await turnBack(s.databaseUrl, "2 days");
  const r = await s.gc({ repackBelow: 0.99 });
  t.ok(r.repackedPacks.count > 0, `${r.repackedPacks.count} packs repacked`);
  t.equal(r.corruptChunks, 0);
  const after = await forms();
  t.same(
    after.map((c) => [c.chunk, c.stored_size, c.codec]),
    before.map((c) => [c.chunk, c.stored_size, c.codec]),
    "the copies keep their stored form",
  );
  t.ok(
    after.some((c, i) => !c.pack.equals(before[i]!.pack)),
    "some moved to new packs",
  );
  const fsck = await strata(["fsck", "--full"], s.env);
  t.equal(fsck.code, 0, `fsck --full is clean: ${fsck.stdout}${fsck.stderr}`);
  const out = tempDir(t);
  const co = await strata(["checkout", "ds@v3", out], s.env);
  t.equal(co.code, 0, co.stderr);
  for (const [path, data] of Object.entries(versions[2]!)) t.ok(readFileSync(join(out, path)).equals(data), `${path} byte for byte`);
});

t.test("one gc at a time; the grace is at least an hour; a dry run cannot change anything", async (t) => {
  const s = await openTestStrata(t);
  const a = await connect(t, s.databaseUrl);
  const [run] = (await a.query("select * from strata.gc_begin()")).rows;
  const b = await connect(t, s.databaseUrl);
  t.equal(await sqlstateOf(() => b.query("select * from strata.gc_begin()")), Sqlstate.gcRunning);
  t.equal(await sqlstateOf(() => b.query("select * from strata.gc_plan($1)", [run.run])), Sqlstate.gcRunning, "another session's run");
  await a.query("select strata.gc_finish($1)", [run.run]);
  t.equal(await sqlstateOf(() => b.query("select * from strata.gc_begin('59 minutes')")), Sqlstate.invalidArgument);
  t.equal(await sqlstateOf(() => b.query("select * from strata.gc_begin('1 day', 1.5)")), Sqlstate.invalidArgument);
  const [dry] = (await b.query("select * from strata.gc_begin('1 day', 0.5, true)")).rows;
  t.equal(await sqlstateOf(() => b.query("select * from strata.gc_mark($1)", [dry.run])), Sqlstate.invalidArgument);
  t.equal(await sqlstateOf(() => b.query("select * from strata.gc_forget($1)", [dry.run])), Sqlstate.invalidArgument);
  await b.query("select strata.gc_finish($1)", [dry.run]);
  const cli = await strata(["gc", "--grace", "10m"], s.env);
  t.equal(cli.code, 2, "the CLI says so in one line");
  t.match(cli.stderr, /at least an hour/);
});
