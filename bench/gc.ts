/**
 * gc benchmark: 20 versions of a 1 GiB dataset, half of them deleted, then `strata gc`,
 * on a folder store and on the S3 API test server (s3rver), through the real CLI under
 * GNU time. Each version rewrites the dataset's hot tenth (labels, features: files no
 * other version holds) and adds a 2 MiB file every later version keeps (in extra/, which
 * a push reads before hot/, so it shares a pack with hot chunks): the packs of a deleted
 * version are mostly, not wholly, dead, and gc deletes some and repacks others.
 *
 * Reported per store: push time of the 20 versions (context), `gc --dry-run` and `gc`
 * wall time, gc's peak RSS, the bytes gc reclaimed against the bytes only the deleted
 * versions held (store bytes less what live versions use, measured before gc: target 1),
 * what the store holds after against what live versions use, and gc's store requests.
 * The packs were made "two days ago" (their timestamps turned back as the tests do), so
 * the default 24-hour grace protects nothing.
 *
 *   npx tsx bench/gc.ts            (BENCH_QUICK=1: 128 MiB versions, about 1 minute)
 *
 * Results: a table on stdout and bench/results/gc-latest.json (gc-latest-quick.json).
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { openStore } from "../loader/store/index.js";
import { turnBack } from "../test/helpers/clock.js";
import { startS3Server, s3Env } from "../test/helpers/s3server.js";
import { GiB, MiB, writeRandomFile } from "./lib/data.js";
import { hasGnuTime, timed, useGnuTime } from "./lib/measure.js";
import { fmtBytes } from "./lib/report.js";
import { STRATA_BIN, startCluster } from "./lib/strata.js";

const quick = process.env.BENCH_QUICK === "1";
const VERSIONS = 20;
const VERSION_BYTES = quick ? 128 * MiB : GiB;
const FILE_BYTES = quick ? 4 * MiB : 16 * MiB;
const HOT_FILES = Math.round(VERSION_BYTES / 10 / FILE_BYTES);
const COLD_FILES = Math.round(VERSION_BYTES / FILE_BYTES) - HOT_FILES;
const KEPT_BYTES = 2 * MiB;

interface StoreResult {
  store: string;
  pushSeconds: number;
  dryRunSeconds: number;
  gcSeconds: number;
  gcPeakRssMiB: number;
  onlyDeletedBytes: number;
  reclaimedBytes: number;
  /** reclaimed / only-deleted: 1 reclaims all of it. */
  reclaimedRatio: number;
  storeBytesAfter: number;
  liveBytes: number;
  deletedPacks: number;
  repackedPacks: number;
  copiedBytes: number;
  requests: Record<string, number>;
}

type StoreOptions = Parameters<typeof openStore>[1];

async function storeBytes(url: string, options: StoreOptions): Promise<number> {
  const store = openStore(url, options);
  let n = 0;
  for await (const e of store.list("packs/")) n += e.size;
  await store.close();
  return n;
}

async function runStore(
  name: string,
  databaseUrl: string,
  storeUrl: string,
  extraEnv: Record<string, string>,
  storeOptions: StoreOptions,
  scratch: string,
): Promise<StoreResult> {
  const home = join(scratch, `home-${name}`);
  const data = join(scratch, `data-${name}`);
  await mkdir(join(data, "cold"), { recursive: true });
  await mkdir(join(data, "hot"), { recursive: true });
  await mkdir(join(data, "extra"), { recursive: true });
  const env = { DATABASE_URL: databaseUrl, STRATA_STORE: storeUrl, STRATA_HOME: home, NODE_OPTIONS: undefined, ...extraEnv };
  const cli = (args: string[]) => timed([process.execPath, STRATA_BIN, ...args], { env, scratch });
  for (let i = 0; i < COLD_FILES; i++) await writeRandomFile(join(data, "cold", `part-${i}.bin`), FILE_BYTES, 1000 + i);
  let pushSeconds = 0;
  for (let v = 1; v <= VERSIONS; v++) {
    for (let i = 0; i < HOT_FILES; i++) await writeRandomFile(join(data, "hot", `part-${i}.bin`), FILE_BYTES, v * 10_000 + i);
    await writeRandomFile(join(data, "extra", `v${v}.bin`), KEPT_BYTES, 500_000 + v);
    const m = await cli(["push", data, "--dataset", "ds", "--json"]);
    if (!m.ok) throw new Error(`push v${v}: ${m.error}`);
    pushSeconds += m.seconds;
  }
  const deleted = Array.from({ length: VERSIONS / 2 }, (_, i) => `ds@v${2 * i + 1}`);
  const rmm = await cli(["rm", ...deleted]);
  if (!rmm.ok) throw new Error(`rm: ${rmm.error}`);
  const du = await cli(["du", "--json"]);
  const live = (JSON.parse(du.stdout) as { uniqueBytes: number }[])[0]!.uniqueBytes;
  const before = await storeBytes(storeUrl, storeOptions);
  await turnBack(databaseUrl, "2 days");

  const dry = await cli(["gc", "--dry-run", "--json"]);
  if (!dry.ok) throw new Error(`gc --dry-run: ${dry.error}`);
  const gc = await cli(["gc", "--json"]);
  if (!gc.ok) throw new Error(`gc: ${gc.error}`);
  const r = JSON.parse(gc.stdout) as {
    reclaimedBytes: number;
    deletedPacks: { count: number };
    repackedPacks: { count: number };
    copied: { bytes: number };
    requests: Record<string, number>;
  };
  const after = await storeBytes(storeUrl, storeOptions);
  const onlyDeleted = before - live;
  return {
    store: name,
    pushSeconds,
    dryRunSeconds: dry.seconds,
    gcSeconds: gc.seconds,
    gcPeakRssMiB: gc.rssMiB,
    onlyDeletedBytes: onlyDeleted,
    reclaimedBytes: r.reclaimedBytes,
    reclaimedRatio: r.reclaimedBytes / onlyDeleted,
    storeBytesAfter: after,
    liveBytes: live,
    deletedPacks: r.deletedPacks.count,
    repackedPacks: r.repackedPacks.count,
    copiedBytes: r.copied.bytes,
    requests: r.requests,
  };
}

async function main(): Promise<void> {
  useGnuTime(hasGnuTime());
  const scratch = await mkdtemp(join(process.env.BENCH_DIR ?? os.tmpdir(), "strata-bench-gc-"));
  const cluster = await startCluster();
  const s3 = await startS3Server();
  const results: StoreResult[] = [];
  try {
    results.push(await runStore("folder", await cluster.database("gc_folder"), `file://${join(scratch, "store")}`, {}, {}, scratch));
    const s3Options = {
      s3: { endpoint: s3.endpoint, region: s3.region, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } },
    };
    results.push(
      await runStore("s3", await cluster.database("gc_s3"), `s3://${s3.bucket}/gc`, s3Env(s3, s3.bucket, "gc"), s3Options, scratch),
    );
  } finally {
    await s3.stop();
    await cluster.stop();
    await rm(scratch, { recursive: true, force: true });
  }
  console.log(
    `gc: ${VERSIONS} versions of ${fmtBytes(VERSION_BYTES)} (${COLD_FILES} cold files, ${HOT_FILES} hot files rewritten each version, ${fmtBytes(KEPT_BYTES)} kept per version); odd versions deleted; default grace and repack threshold (0.5)`,
  );
  for (const r of results) {
    console.log(`\n[${r.store}] push of ${VERSIONS} versions: ${r.pushSeconds.toFixed(1)} s`);
    console.log(
      `  gc --dry-run ${r.dryRunSeconds.toFixed(2)} s; gc ${r.gcSeconds.toFixed(2)} s, peak RSS ${r.gcPeakRssMiB.toFixed(0)} MiB`,
    );
    console.log(
      `  reclaimed ${fmtBytes(r.reclaimedBytes)} of the ${fmtBytes(r.onlyDeletedBytes)} only the deleted versions held: ratio ${r.reclaimedRatio.toFixed(3)} (target 1)`,
    );
    console.log(
      `  store after ${fmtBytes(r.storeBytesAfter)}, live versions use ${fmtBytes(r.liveBytes)}: ratio ${(r.storeBytesAfter / r.liveBytes).toFixed(3)}`,
    );
    console.log(`  ${r.deletedPacks} packs deleted, ${r.repackedPacks} repacked (${fmtBytes(r.copiedBytes)} copied)`);
    console.log(
      `  store requests: ${Object.entries(r.requests)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")}`,
    );
  }
  const dir = fileURLToPath(new URL("./results/", import.meta.url));
  await mkdir(dir, { recursive: true });
  const file = join(dir, quick ? "gc-latest-quick.json" : "gc-latest.json");
  await writeFile(file, `${JSON.stringify({ at: new Date().toISOString(), quick, versionBytes: VERSION_BYTES, results }, null, 2)}\n`);
  console.log(`\nresults: ${relative(process.cwd(), file)}`);
}

await main();
