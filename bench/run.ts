/**
 * Strata's benchmark (`npm run bench`): push, re-push, dedup, checkout, small files
 * and S3, each measured in ONE run against its peers on the same machine and data:
 * restic and borg (backup tools doing the same job), `openssl dgst -sha256` (the
 * hashing limit) and `cp -r`. Every command, strata's included, runs under GNU
 * `/usr/bin/time -f '%e %M'` (wall seconds, peak RSS). Strata is the real CLI
 * (bin/strata.js over dist/) against a throwaway PostgreSQL with fsync on.
 *
 * Environment:
 *   BENCH_QUICK=1        every size about 10x smaller (a smoke run, about 2 minutes)
 *   BENCH_BIG_GIB=N      size of row 2's single file (default 10; quick 1)
 *   BENCH_SMALL_FILES=N  files of row 6 (default 100000; quick 10000)
 *   BENCH_MILLION_FILES=N  files of row 10 (default 1000000; quick 50000)
 *   BENCH_DIR=/path      where the temp folder goes (default /tmp)
 *   BENCH_KEEP=1         keep the temp folder
 *
 * Results: a table on stdout and bench/results/latest.json (latest-quick.json for BENCH_QUICK).
 * MB = 10^6 bytes; MiB/GiB are powers of 2.
 */
import { spawnSync } from "node:child_process";
import { link, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { startS3Server, s3Env, type S3ServerInfo } from "../test/helpers/s3server.js";
import {
  freeBytes,
  GiB,
  insertMiddle,
  KiB,
  makeFlatTree,
  makeSpreadTree,
  MiB,
  overwriteMiddle,
  Rand,
  remove,
  removeFile,
  treeBytes,
  writeNew,
  writeRandomFile,
  type TreeInfo,
} from "./lib/data.js";
import { timed, useGnuTime, type Measured } from "./lib/measure.js";
import {
  Borg,
  cpTree,
  diskWrite,
  ensurePeers,
  opensslDigest,
  peerEnv,
  Restic,
  syncDisks,
  type PeerStatus,
  type Peers,
} from "./lib/peers.js";
import {
  fmtBytes,
  fmtRatio,
  lineOf,
  ratio,
  renderRow,
  renderTargets,
  target,
  unavailable,
  valueLine,
  type Line,
  type Row,
  type Target,
} from "./lib/report.js";
import {
  checkoutSupport,
  startCluster,
  strataCheckout,
  strataNpx,
  strataPush,
  strataRun,
  type CheckoutSupport,
  type Cluster,
  type StrataTarget,
} from "./lib/strata.js";

const quick = process.env.BENCH_QUICK === "1";
/** BENCH_ROWS=6,10 runs only what those rows need (rows 1, 3, 5, 7, 8 and 9 share one tree) and prints only them. */
const only = process.env.BENCH_ROWS ? new Set(process.env.BENCH_ROWS.split(",").map(Number)) : null;
const wants = (...ids: number[]): boolean => only === null || ids.some((id) => only.has(id));
const envInt = (name: string, dflt: number): number => {
  const v = process.env[name];
  if (v === undefined || v === "") return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${v}`);
  return n;
};

const cfg = {
  treeFiles: 20,
  treeFileSize: quick ? 10 * MiB : 100 * MiB,
  bigBytes: Math.round(envInt("BENCH_BIG_GIB", quick ? 1 : 10) * GiB),
  manyFiles: quick ? 200 : 2000,
  manyFileSize: 1 * MiB,
  seriesFiles: quick ? 50 : 500,
  seriesVersions: 10,
  smallFiles: Math.round(envInt("BENCH_SMALL_FILES", quick ? 10_000 : 100_000)),
  smallFolders: 100,
  millionFiles: Math.round(envInt("BENCH_MILLION_FILES", quick ? 50_000 : 1_000_000)),
  millionFolders: 1000,
  s3Bytes: quick ? 100 * MiB : 1 * GiB,
};

const t0 = performance.now();
const clock = (): string => {
  const s = Math.floor((performance.now() - t0) / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
};
const log = (s: string): void => {
  process.stderr.write(`[${clock()}] ${s}\n`);
};

/** Logs a measured command as it finishes. */
function note(l: Line): Line {
  const what = l.error ? `ERROR ${l.error}` : `${l.seconds?.toFixed(2)} s, ${l.rssMiB?.toFixed(0) ?? "?"} MiB RSS`;
  log(`  ${l.tool} ${l.op}: ${what}`);
  return l;
}

interface Ctx {
  root: string;
  cluster: Cluster;
  peers: Peers;
  status: PeerStatus;
  checkout: CheckoutSupport;
  /** Every strata command's peak RSS, for the RSS target. */
  strataRss: { what: string; rssMiB: number }[];
  /** Metadata bytes of an empty migrated database. */
  metaBaseline: number;
}

let nextTarget = 0;
async function strataTarget(ctx: Ctx, name: string): Promise<StrataTarget> {
  const n = nextTarget++;
  const store = join(ctx.root, `strata-store-${n}-${name}`);
  await mkdir(store, { recursive: true });
  return {
    databaseUrl: await ctx.cluster.database(name),
    store: pathToFileURL(store).href,
    home: join(ctx.root, `strata-home-${n}-${name}`),
  };
}

function storeDir(t: StrataTarget): string {
  return fileURLToPath(t.store);
}

function trackRss(ctx: Ctx, what: string, m: Measured): void {
  if (!Number.isNaN(m.rssMiB)) ctx.strataRss.push({ what, rssMiB: m.rssMiB });
}

function resticOr(ctx: Ctx): string | null {
  return ctx.status.restic ? null : "restic is not installed";
}
function borgOr(ctx: Ctx): string | null {
  return ctx.status.borg ? null : "borg is not installed";
}

/** `du -sb` of a folder (apparent bytes, folders included), as people measure repositories. */
function duBytes(dir: string): number | null {
  const r = spawnSync("du", ["-sb", dir], { encoding: "utf8" });
  const n = Number(r.stdout.split(/\s/)[0]);
  return r.status === 0 && Number.isFinite(n) ? n : null;
}

/** The fastest of n runs (for the hashing limit: the best the machine does). */
async function bestOf(n: number, fn: () => Promise<Measured>): Promise<Measured> {
  let best: Measured | undefined;
  for (let i = 0; i < n; i++) {
    const m = await fn();
    if (!m.ok) return m;
    if (best === undefined || m.seconds < best.seconds) best = m;
  }
  return best!;
}

/** Runs a command twice (the first warms caches, as asked for checkouts) and keeps the second. */
async function warmTwice<M extends Measured>(prepare: () => Promise<void>, fn: () => Promise<M>): Promise<M> {
  await prepare();
  const first = await fn();
  if (!first.ok) return first;
  await prepare();
  syncDisks();
  return fn();
}

/** Checks an extracted/checked-out folder holds the expected bytes (a cheap sanity check). */
async function checkOutput(l: Line, dir: string, expected: { bytes: number; files: number }): Promise<Line> {
  if (l.error) return l;
  const got = await treeBytes(dir);
  const strataState = await treeBytes(join(dir, ".strata"));
  const bytes = got.bytes - strataState.bytes;
  const files = got.files - strataState.files;
  if (bytes !== expected.bytes || files !== expected.files) {
    l.error = `output holds ${files} files / ${bytes} bytes, expected ${expected.files} / ${expected.bytes}`;
  }
  return l;
}

/** A fresh restic repository and a first backup of `dir` into it. */
async function resticFirstBackup(ctx: Ctx, restic: Restic, dir: string, work: { bytes?: number; files?: number }): Promise<Line> {
  if (resticOr(ctx)) return unavailable("restic", "backup", resticOr(ctx)!);
  const init = await restic.init();
  syncDisks();
  return init.ok ? lineOf("restic", "backup", await restic.backup(dir), work) : lineOf("restic", "init", init);
}

/** A fresh borg repository and a first archive of `dir` in it. */
async function borgFirstCreate(
  ctx: Ctx,
  borg: Borg,
  archive: string,
  dir: string,
  work: { bytes?: number; files?: number },
): Promise<Line> {
  if (borgOr(ctx)) return unavailable("borg", "create", borgOr(ctx)!);
  const init = await borg.init();
  syncDisks();
  return init.ok ? lineOf("borg", "create", await borg.create(archive, dir), work) : lineOf("borg", "init", init);
}

/** Empties `dir` (creating it) and syncs, so that every restore starts alike. */
async function emptyFolder(dir: string): Promise<void> {
  await remove(dir);
  await mkdir(dir, { recursive: true });
  syncDisks();
}

/** A restore of restic's latest snapshot into the emptied `out`, counted in files. */
async function resticRestoreLine(restic: Restic, backup: Line, out: string, expect: { bytes: number; files: number }): Promise<Line> {
  if (backup.error) return unavailable("restic", "restore", "the backup failed");
  await emptyFolder(out);
  return checkOutput(lineOf("restic", "restore", await restic.restore(out), { files: expect.files }), out, expect);
}

/** A checkout of `ref` into `dir` (one run), checked against what was pushed. */
async function checkoutLine(
  ctx: Ctx,
  st: StrataTarget,
  ref: string,
  dir: string,
  push: Line,
  expect: { bytes: number; files: number },
  what: string,
): Promise<Line> {
  if (!ctx.checkout.available) return unavailable("strata", "checkout", ctx.checkout.why ?? "no checkout command");
  if (push.error) return unavailable("strata", "checkout", "the push failed");
  const m = await strataCheckout(st, ref, dir, ctx.checkout);
  trackRss(ctx, what, m);
  return checkOutput(lineOf("strata", "checkout", m, { files: expect.files }), dir, expect);
}

// ---------------------------------------------------------------- row 2

async function rowBig(ctx: Ctx): Promise<Row> {
  const size = cfg.bigBytes;
  const row: Row = {
    id: 2,
    title: `One ${fmtBytes(size)} file: push (peak RSS must stay under 512 MiB)`,
    lines: [],
    ratios: [],
    notes: [],
  };
  const dir = join(ctx.root, "big");
  await mkdir(dir, { recursive: true });
  const file = join(dir, "big.bin");
  log(`row 2: writing ${fmtBytes(size)}`);
  await writeRandomFile(file, size, 2);
  syncDisks();
  const o = note(lineOf("openssl", "dgst -sha256 (one core, best of 2)", await bestOf(2, () => opensslDigest([file])), { bytes: size }));
  row.lines.push(o);
  const t = await strataTarget(ctx, "big");
  syncDisks();
  const p = await strataPush(t, file, "big");
  trackRss(ctx, "row 2 push", p);
  const pl = note(lineOf("strata", "push", p, { bytes: size }));
  if (p.result) pl.note = `${p.result.packs} packs, ${fmtBytes(p.result.newBytes)} new`;
  row.lines.push(pl);
  row.ratios.push({ name: "strata/openssl", value: ratio(pl.rate, o.rate), meaning: "strata push MB/s / openssl dgst MB/s" });
  row.ratios.push({ name: "peak RSS / 512 MiB", value: ratio(pl.rssMiB, 512), meaning: "below 1 passes" });
  await remove(dir);
  await remove(storeDir(t));
  return row;
}

// ---------------------------------------------------------------- rows 1, 3a, 5a, 7

interface TreeRows {
  row1: Row;
  row3a: Line[];
  row5a: Row;
  row7: Row;
  row8: Row;
  row9: Row;
}

async function rowsTree(ctx: Ctx): Promise<TreeRows> {
  const tree = await makeFlatTree(join(ctx.root, "tree"), cfg.treeFiles, cfg.treeFileSize, 1);
  const desc = `${cfg.treeFiles} files x ${fmtBytes(cfg.treeFileSize)} = ${fmtBytes(tree.bytes)}`;
  log(`row 1: wrote ${desc}`);
  const row1: Row = { id: 1, title: `Push of new data: ${desc} of random bytes, fresh repositories`, lines: [], ratios: [], notes: [] };
  syncDisks();
  const o = note(
    lineOf("openssl", "dgst -sha256 over the files (one core, best of 2)", await bestOf(2, () => opensslDigest(tree.files)), {
      bytes: tree.bytes,
    }),
  );
  row1.lines.push(o);
  // The other limit: writing the bytes durably, as the packs are (the store's disk).
  const ddOut = join(ctx.root, "dd-out");
  const dd = note(
    lineOf("dd", "the same bytes written with O_DIRECT in 16 MiB blocks, then fsync", await diskWrite(tree.files, ddOut), {
      bytes: tree.bytes,
    }),
  );
  await remove(ddOut);
  row1.lines.push(dd);

  const st = await strataTarget(ctx, "tree");
  syncDisks();
  const p = await strataPush(st, tree.dir, "tree", "first");
  trackRss(ctx, "row 1 push", p);
  const pl = note(lineOf("strata", "push", p, { bytes: tree.bytes }));
  if (p.result) pl.note = `${p.result.packs} packs, ${fmtBytes(p.result.newBytes)} new`;
  row1.lines.push(pl);

  const restic = new Restic(ctx.peers, join(ctx.root, "restic-tree"));
  const rl = note(await resticFirstBackup(ctx, restic, tree.dir, { bytes: tree.bytes }));
  row1.lines.push(rl);

  const borg = new Borg(ctx.peers, join(ctx.root, "borg-tree"));
  const bl = note(await borgFirstCreate(ctx, borg, "a1", tree.dir, { bytes: tree.bytes }));
  row1.lines.push(bl);
  row1.ratios.push(
    { name: "strata/openssl", value: ratio(pl.rate, o.rate), meaning: "strata push MB/s / openssl dgst MB/s" },
    { name: "strata/dd", value: ratio(pl.rate, dd.rate), meaning: "strata push MB/s / dd O_DIRECT write MB/s" },
    { name: "strata/restic", value: ratio(pl.rate, rl.rate), meaning: "strata push MB/s / restic backup MB/s" },
    { name: "strata/borg", value: ratio(pl.rate, bl.rate), meaning: "strata push MB/s / borg create MB/s" },
  );
  row1.notes.push(
    "all three write durably (strata fsyncs each pack and PostgreSQL runs with fsync on; restic and borg fsync their repositories)",
    "restic 0.14 compresses (repository v2, zstd auto) and encrypts (AES-256); borg compresses with lz4 by default (here unencrypted); the data is random, so compression gains nothing",
    "openssl is one core; strata, restic use both cores, borg 1.2 one",
  );

  // row 3a: the same tree again, unchanged (strata's local index skips unread files)
  log("row 3: re-push of the unchanged tree");
  const row3a: Line[] = [];
  syncDisks();
  const rp = await strataPush(st, tree.dir, "tree", "again");
  trackRss(ctx, "row 3 unchanged re-push", rp);
  const rpl = note(lineOf("strata", `re-push unchanged (${tree.files.length} files)`, rp, { bytes: tree.bytes, unit: "s/GiB" }));
  if (rp.result) rpl.note = `${rp.result.unchangedFiles}/${rp.result.files} files from the index, ${fmtBytes(rp.result.newBytes)} new`;
  row3a.push(rpl);
  if (!rl.error) {
    syncDisks();
    row3a.push(
      note(
        lineOf("restic", `second backup, unchanged (${tree.files.length} files)`, await restic.backup(tree.dir), {
          bytes: tree.bytes,
          unit: "s/GiB",
        }),
      ),
    );
  }
  if (!bl.error) {
    syncDisks();
    row3a.push(
      note(
        lineOf("borg", `second create, unchanged (${tree.files.length} files)`, await borg.create("a2", tree.dir), {
          bytes: tree.bytes,
          unit: "s/GiB",
        }),
      ),
    );
  }
  const row8 = await rowStartup(ctx, st);
  const row9 = await rowPackChecks(st, tree.dir, "tree", tree.bytes, "folder store");

  // row 5a: checkout of the tree into an empty folder, second (warm) run of each
  log("row 5: checkout / restore / extract of the tree");
  const row5a: Row = {
    id: 5,
    title: `Checkout: the ${fmtBytes(tree.bytes)} version into an empty folder (second, warm run of each)`,
    lines: [],
    ratios: [],
    notes: [],
  };
  const expect = { bytes: tree.bytes, files: tree.files.length };
  const out = join(ctx.root, "out");
  const fresh = async (): Promise<void> => {
    await remove(out);
    await mkdir(out, { recursive: true });
  };
  let sl: Line;
  if (!ctx.checkout.available) sl = unavailable("strata", "checkout", ctx.checkout.why ?? "no checkout command");
  else if (pl.error) sl = unavailable("strata", "checkout", "the push failed");
  else {
    const m = await warmTwice(fresh, () => strataCheckout(st, "tree@first", join(out, "co"), ctx.checkout));
    trackRss(ctx, "row 5 checkout", m);
    sl = await checkOutput(lineOf("strata", "checkout (file store)", m, { bytes: tree.bytes }), join(out, "co"), expect);
  }
  row5a.lines.push(note(sl));
  await fresh();
  const cl = await checkOutput(
    lineOf(
      "cp",
      "-r of the source tree",
      await warmTwice(
        async () => remove(join(out, "cp")),
        () => cpTree(tree.dir, join(out, "cp")),
      ),
      { bytes: tree.bytes },
    ),
    join(out, "cp"),
    expect,
  );
  row5a.lines.push(note(cl));
  await fresh();
  let rr: Line;
  if (rl.error) rr = unavailable("restic", "restore", "the backup failed");
  else
    rr = await checkOutput(
      lineOf("restic", "restore", await warmTwice(fresh, () => restic.restore(out)), { bytes: tree.bytes }),
      out,
      expect,
    );
  row5a.lines.push(note(rr));
  let be: Line;
  if (bl.error) be = unavailable("borg", "extract", "the create failed");
  else
    be = await checkOutput(
      lineOf("borg", "extract", await warmTwice(fresh, () => borg.extract("a1", out)), { bytes: tree.bytes }),
      out,
      expect,
    );
  row5a.lines.push(note(be));
  await remove(out);
  row5a.ratios.push(
    { name: "strata/cp", value: ratio(sl.rate, cl.rate), meaning: "MB/s ratio" },
    { name: "strata/restic", value: ratio(sl.rate, rr.rate), meaning: "MB/s ratio" },
    { name: "strata/borg", value: ratio(sl.rate, be.rate), meaning: "MB/s ratio" },
  );
  row5a.notes.push(
    "each command ran twice into an empty folder, the second run timed (sources and repositories warm in the page cache); none of them fsyncs the output",
  );

  // row 7: a subset of the tree against the S3 API test server (and row 9's S3 lines)
  const row7 = await rowS3(ctx, tree, pl, row9);

  await remove(storeDir(st));
  await remove(restic.repo);
  await remove(borg.repo);
  await remove(tree.dir);
  return { row1, row3a, row5a, row7, row8, row9 };
}

async function rowS3(ctx: Ctx, tree: TreeInfo, fileStoreLine: Line, packChecks: Row): Promise<Row> {
  const count = Math.max(1, Math.min(tree.files.length, Math.round(cfg.s3Bytes / cfg.treeFileSize)));
  const bytes = count * cfg.treeFileSize;
  const row: Row = {
    id: 7,
    title: `Push of ${count} files (${fmtBytes(bytes)}) of row 1's tree to the S3 API test server (s3rver)`,
    lines: [],
    ratios: [],
    notes: [],
  };
  log(`row 7: S3 push of ${fmtBytes(bytes)}`);
  const sub = join(ctx.root, "tree-s3");
  await mkdir(sub, { recursive: true });
  for (const f of tree.files.slice(0, count)) await link(f, join(sub, f.slice(f.lastIndexOf("/") + 1)));
  let server: S3ServerInfo | undefined;
  try {
    server = await startS3Server({ buckets: ["bench"] });
    const t = await strataTarget(ctx, "s3");
    const env = s3Env(server, "bench", "strata");
    const st: StrataTarget = { ...t, store: env.STRATA_STORE!, env };
    syncDisks();
    const p = await strataPush(st, sub, "s3");
    trackRss(ctx, "row 7 S3 push", p);
    const l = note(lineOf("strata", "push to s3://", p, { bytes }));
    const isObject = (n: string): boolean => n.endsWith("._S3rver_object");
    const objects = await treeBytes(join(server.directory, "bench"), isObject);
    const packObjects = await treeBytes(join(server.directory, "bench", "strata", "packs"), isObject);
    row.lines.push(l);
    if (!l.error && l.seconds !== null) {
      const other = objects.files - packObjects.files;
      row.lines.push({
        tool: "strata",
        op: `PUT requests (objects in the bucket)`,
        seconds: null,
        rate: objects.files / Math.max(l.seconds, 0.01),
        unit: "PUT/s",
        rssMiB: null,
        files: objects.files,
        note:
          `${packObjects.files} pack objects (avg ${fmtBytes(packObjects.bytes / Math.max(1, packObjects.files))})` +
          (other ? ` + ${other} other (${fmtBytes(objects.bytes - packObjects.bytes)})` : "") +
          `; push says ${p.result?.packs ?? "?"} packs; rate = PUTs / push time`,
      });
    }
    row.ratios.push({ name: "s3/file store", value: ratio(l.rate, fileStoreLine.rate), meaning: "MB/s of this push / MB/s of row 1 push" });
    if (!l.error) addPackChecks(packChecks, await packCheckLines(st, sub, "s3", bytes, "S3"));
    row.notes.push(
      "s3rver is a functional test server (Node, one process, ~150-200 PUT/s of 1 MiB objects, writes every object to its own temp folder): this measures the request pattern, not S3 throughput",
    );
    await remove(storeDir(t));
  } catch (e) {
    row.lines.push(unavailable("strata", "push to s3://", (e as Error).message));
  } finally {
    await server?.stop();
    await remove(sub);
  }
  return row;
}

// ---------------------------------------------------------------- row 3b

async function rowManyFiles(ctx: Ctx): Promise<Line[]> {
  const n = cfg.manyFiles;
  const changed = Math.max(1, Math.round(n / 100));
  log(`row 3: writing ${n} files of ${fmtBytes(cfg.manyFileSize)}`);
  const tree = await makeSpreadTree(join(ctx.root, "many"), {
    count: n,
    folders: 20,
    minSize: cfg.manyFileSize,
    maxSize: cfg.manyFileSize,
    seed: 3,
  });
  const lines: Line[] = [];
  const st = await strataTarget(ctx, "many");
  const restic = new Restic(ctx.peers, join(ctx.root, "restic-many"));
  const borg = new Borg(ctx.peers, join(ctx.root, "borg-many"));
  const resticOk = !resticOr(ctx) && (await restic.init()).ok;
  const borgOk = !borgOr(ctx) && (await borg.init()).ok;
  const round = async (what: string, k: number, unit: "MB/s" | "s/GiB"): Promise<void> => {
    syncDisks();
    const p = await strataPush(st, tree.dir, "many");
    trackRss(ctx, `row 3 ${what}`, p);
    const l = note(lineOf("strata", `push, ${what}`, p, { bytes: tree.bytes, unit }));
    if (p.result) l.note = `${p.result.unchangedFiles} files from the index, ${fmtBytes(p.result.newBytes)} new`;
    lines.push(l);
    if (resticOk) {
      syncDisks();
      lines.push(note(lineOf("restic", `backup, ${what}`, await restic.backup(tree.dir), { bytes: tree.bytes, unit })));
    } else lines.push(unavailable("restic", `backup, ${what}`, resticOr(ctx) ?? "restic init failed"));
    if (borgOk) {
      syncDisks();
      lines.push(note(lineOf("borg", `create, ${what}`, await borg.create(`m${k}`, tree.dir), { bytes: tree.bytes, unit })));
    } else lines.push(unavailable("borg", `create, ${what}`, borgOr(ctx) ?? "borg init failed"));
  };
  await round(`first (${n} files)`, 1, "MB/s");
  await round(`unchanged (${n} files)`, 2, "s/GiB");
  const rand = new Rand(33);
  for (const i of rand.pick(tree.files.length, changed)) await overwriteMiddle(tree.files[i]!, 4 * KiB, 3000 + i);
  await round(`${changed} of ${n} files changed (1%)`, 3, "s/GiB");
  await remove(storeDir(st));
  await remove(restic.repo);
  await remove(borg.repo);
  await remove(tree.dir);
  return lines;
}

// ---------------------------------------------------------------- rows 4 and 5b

async function rowsSeries(ctx: Ctx): Promise<{ row4: Row; row5b: Line[]; switchRatio: number | null }> {
  const versions = cfg.seriesVersions;
  const dir = join(ctx.root, "series");
  log(`row 4: writing ${cfg.seriesFiles} files of 1-4 MiB`);
  const made = await makeSpreadTree(dir, { count: cfg.seriesFiles, folders: 10, minSize: 1 * MiB, maxSize: 4 * MiB, seed: 4, hash: true });
  const current = made.hashes; // path -> content
  const contents = new Map<string, number>(); // every distinct file content of every version
  let raw = 0;
  let newCount = 0;
  const rand = new Rand(44);
  const st = await strataTarget(ctx, "series");
  const restic = new Restic(ctx.peers, join(ctx.root, "restic-series"));
  const borg = new Borg(ctx.peers, join(ctx.root, "borg-series"));
  const resticOk = !resticOr(ctx) && (await restic.init()).ok;
  const borgOk = !borgOr(ctx) && (await borg.init()).ok;
  const time = { strata: [] as Measured[], restic: [] as Measured[], borg: [] as Measured[] };
  const change = { added: 0, deleted: 0, edited: 0 };

  for (let v = 1; v <= versions; v++) {
    if (v > 1) {
      const paths = [...current.keys()];
      const add = Math.max(1, Math.round(paths.length * 0.02));
      const del = Math.max(1, Math.round(paths.length * 0.01));
      const edit = Math.max(1, Math.round(paths.length * 0.01));
      const chosen = rand.pick(paths.length, del + edit).map((i) => paths[i]!);
      for (const p of chosen.slice(0, del)) {
        await removeFile(p);
        current.delete(p);
      }
      for (const p of chosen.slice(del)) current.set(p, await insertMiddle(p, rand.int(2 * KiB, 8 * KiB), rand.next()));
      for (let i = 0; i < add; i++) {
        const p = join(dir, `d${String(rand.int(0, 9)).padStart(3, "0")}`, `new-v${v}-${newCount++}.bin`);
        current.set(p, await writeNew(p, rand.int(1 * MiB, 4 * MiB), rand.next()));
      }
      change.added += add;
      change.deleted += del;
      change.edited += edit;
    }
    for (const c of current.values()) {
      raw += c.size;
      contents.set(c.hash, c.size);
    }
    log(`row 4: version ${v}/${versions} (${current.size} files)`);
    syncDisks();
    const p = await strataPush(st, dir, "series", `ver${v}`);
    trackRss(ctx, `row 4 push v${v}`, p);
    time.strata.push(p);
    if (!p.ok) log(`  strata push v${v}: ERROR ${p.error}`);
    if (resticOk) {
      syncDisks();
      const r = await restic.backup(dir);
      time.restic.push(r);
      if (!r.ok) log(`  restic backup v${v}: ERROR ${r.error}`);
    }
    if (borgOk) {
      syncDisks();
      const b = await borg.create(`v${v}`, dir);
      time.borg.push(b);
      if (!b.ok) log(`  borg create v${v}: ERROR ${b.error}`);
    }
  }

  const wholeFile = [...contents.values()].reduce((a, b) => a + b, 0);
  const packs = (await treeBytes(join(storeDir(st), "packs"))).bytes;
  const meta = Math.max(0, (await ctx.cluster.metadataBytes(st.databaseUrl)) - ctx.metaBaseline);
  const resticBytes = resticOk ? duBytes(restic.repo) : null;
  const borgBytes = borgOk ? duBytes(borg.repo) : null;
  const row4: Row = {
    id: 4,
    title: `Dedup over ${versions} versions: ${cfg.seriesFiles} files of 1-4 MiB; each next version adds 2%, deletes 1%, inserts 2-8 KiB into the middle of 1%`,
    lines: [],
    ratios: [],
    notes: [],
  };
  const sumTime = (ms: Measured[], tool: string, op: string): Line => {
    const failed = ms.find((m) => !m.ok);
    const total: Measured = {
      cmd: `${ms.length} runs`,
      ok: ms.length === versions && failed === undefined,
      code: 0,
      seconds: ms.reduce((a, m) => a + m.seconds, 0),
      rssMiB: Math.max(...ms.map((m) => m.rssMiB)),
      stdout: "",
      stderr: "",
    };
    if (failed) total.error = failed.error ?? "failed";
    else if (ms.length !== versions) total.error = "not run";
    const l = lineOf(tool, op, total, { bytes: raw });
    const first = ms[0]?.seconds;
    const rest = ms.slice(1).reduce((a, m) => a + m.seconds, 0) / Math.max(1, ms.length - 1);
    if (!l.error && first !== undefined) l.note = `v1 ${first.toFixed(2)} s, then ${rest.toFixed(2)} s per version`;
    return l;
  };
  row4.lines.push(valueLine("(data)", `raw bytes of all ${versions} versions`, raw));
  row4.lines.push(valueLine("(whole-file CAS)", "distinct file contents (SHA-256 of each file)", wholeFile));
  const strataStored = valueLine(
    "strata",
    "stored: pack objects",
    packs,
    `+ ${fmtBytes(meta)} PostgreSQL metadata (tables + indexes) = ${fmtBytes(packs + meta)}`,
  );
  if (time.strata.some((m) => !m.ok)) strataStored.error = time.strata.find((m) => !m.ok)!.error ?? "a push failed";
  row4.lines.push(strataStored);
  row4.lines.push(
    resticBytes === null
      ? unavailable("restic", "stored: du -sb repo", resticOr(ctx) ?? "init failed")
      : valueLine(
          "restic",
          "stored: du -sb repo",
          resticBytes,
          "encrypted, zstd auto (repository v2; nothing to gain on random data), includes its indexes and snapshots",
        ),
  );
  row4.lines.push(
    borgBytes === null
      ? unavailable("borg", "stored: du -sb repo", borgOr(ctx) ?? "init failed")
      : valueLine("borg", "stored: du -sb repo", borgBytes, "lz4 (useless on random data), includes its index"),
  );
  row4.lines.push(note(sumTime(time.strata, "strata", `${versions} pushes`)));
  if (resticOk) row4.lines.push(note(sumTime(time.restic, "restic", `${versions} backups`)));
  if (borgOk) row4.lines.push(note(sumTime(time.borg, "borg", `${versions} creates`)));
  const dStrata = strataStored.error ? null : raw / packs;
  row4.ratios.push(
    { name: "raw/stored strata", value: dStrata, meaning: "raw bytes / pack bytes" },
    {
      name: "strata incl. metadata",
      value: strataStored.error ? null : raw / (packs + meta),
      meaning: "raw / (packs + PostgreSQL tables)",
    },
    { name: "whole-file", value: raw / wholeFile, meaning: "raw / distinct file contents" },
    { name: "restic", value: resticBytes === null ? null : raw / resticBytes, meaning: "raw / restic repo" },
    { name: "borg", value: borgBytes === null ? null : raw / borgBytes, meaning: "raw / borg repo" },
    {
      name: "strata vs restic",
      value: ratio(dStrata, resticBytes === null ? null : raw / resticBytes),
      meaning: "dedup factor ratio (>= 1 passes)",
    },
  );
  row4.notes.push(
    `changes over the series: ${change.added} files added, ${change.deleted} deleted, ${change.edited} edited by an insertion`,
    "chunk sizes: strata FastCDC 256 KiB / 1 MiB / 4 MiB; restic 512 KiB / 1 MiB / 8 MiB; borg 1.2 default 512 KiB / 2 MiB / 8 MiB (buzhash)",
  );

  // row 5b: switching a checkout v9 -> v10 against a full checkout of v10
  const row5b: Line[] = [];
  let switchRatio: number | null = null;
  if (!ctx.checkout.available) {
    row5b.push(unavailable("strata", `checkout v${versions} into an empty folder`, ctx.checkout.why ?? "no checkout command"));
    row5b.push(unavailable("strata", `switch v${versions - 1} -> v${versions}`, ctx.checkout.why ?? "no checkout command"));
  } else if (strataStored.error) {
    row5b.push(unavailable("strata", "switch", "a push of the series failed"));
  } else {
    log("row 5: full checkout vs switch");
    const expect = { bytes: [...current.values()].reduce((a, c) => a + c.size, 0), files: current.size };
    const full = join(ctx.root, "co-full");
    const full1 = await warmTwice(
      () => remove(full),
      () => strataCheckout(st, `series@ver${versions}`, full, ctx.checkout),
    );
    trackRss(ctx, "row 5 full checkout", full1);
    const fl = note(
      await checkOutput(lineOf("strata", `checkout v${versions} into an empty folder`, full1, { bytes: expect.bytes }), full, expect),
    );
    row5b.push(fl);
    await remove(full);
    const sw = join(ctx.root, "co-switch");
    const prep = await strataCheckout(st, `series@ver${versions - 1}`, sw, ctx.checkout);
    if (!prep.ok) row5b.push(note(lineOf("strata", `checkout v${versions - 1} (before the switch)`, prep)));
    else {
      syncDisks();
      const m = await strataCheckout(st, `series@ver${versions}`, sw, ctx.checkout);
      trackRss(ctx, "row 5 switch", m);
      const sl = note(await checkOutput(lineOf("strata", `switch v${versions - 1} -> v${versions} (same folder)`, m), sw, expect));
      if (m.result)
        sl.note = `${m.result.filesWritten} files written (${fmtBytes(m.result.bytesWritten)}), ${m.result.filesUnchanged} unchanged, ${m.result.filesDeleted} deleted`;
      row5b.push(sl);
      switchRatio = ratio(fl.seconds, sl.error ? null : sl.seconds);
    }
    await remove(sw);
  }
  await remove(storeDir(st));
  await remove(restic.repo);
  await remove(borg.repo);
  await remove(dir);
  return { row4, row5b, switchRatio };
}

// ---------------------------------------------------------------- row 6

async function rowSmall(ctx: Ctx): Promise<Row> {
  const n = cfg.smallFiles;
  log(`row 6: writing ${n} files of 1-20 KiB in ${cfg.smallFolders} folders`);
  const tree = await makeSpreadTree(join(ctx.root, "small"), {
    count: n,
    folders: cfg.smallFolders,
    minSize: 1 * KiB,
    maxSize: 20 * KiB,
    seed: 6,
  });
  const row: Row = {
    id: 6,
    title: `Many small files: ${n} files of 1-20 KiB (${fmtBytes(tree.bytes)}) in ${cfg.smallFolders} folders`,
    lines: [],
    ratios: [],
    notes: [],
  };
  const expect = { bytes: tree.bytes, files: n };
  const st = await strataTarget(ctx, "small");
  syncDisks();
  const p = await strataPush(st, tree.dir, "small", "first");
  trackRss(ctx, "row 6 push", p);
  const pl = note(lineOf("strata", "push", p, { files: n }));
  if (p.result) pl.note = `${p.result.packs} packs`;
  row.lines.push(pl);
  const restic = new Restic(ctx.peers, join(ctx.root, "restic-small"));
  const borg = new Borg(ctx.peers, join(ctx.root, "borg-small"));
  const rb = note(await resticFirstBackup(ctx, restic, tree.dir, { files: n }));
  row.lines.push(rb);
  const bb = note(await borgFirstCreate(ctx, borg, "s1", tree.dir, { files: n }));
  row.lines.push(bb);

  // Unchanged: strata's local index vouches for every file, restic's parent snapshot does.
  syncDisks();
  const rp = await strataPush(st, tree.dir, "small", "again");
  trackRss(ctx, "row 6 unchanged re-push", rp);
  const rpl = note(lineOf("strata", "re-push unchanged", rp, { files: n }));
  if (rp.result) rpl.note = `${rp.result.unchangedFiles}/${rp.result.files} files from the index`;
  row.lines.push(rpl);
  let rr2: Line = unavailable("restic", "second backup, unchanged", "the first backup failed");
  if (!rb.error) {
    syncDisks();
    rr2 = note(lineOf("restic", "second backup, unchanged", await restic.backup(tree.dir), { files: n }));
  }
  row.lines.push(rr2);

  const out = join(ctx.root, "out-small");
  await emptyFolder(out);
  const sc = note(await checkoutLine(ctx, st, "small@first", join(out, "co"), pl, expect, "row 6 checkout"));
  row.lines.push(sc);
  const rr = note(await resticRestoreLine(restic, rb, out, expect));
  row.lines.push(rr);
  let be: Line;
  if (bb.error) be = unavailable("borg", "extract", "the create failed");
  else {
    await emptyFolder(out);
    be = await checkOutput(lineOf("borg", "extract", await borg.extract("s1", out), { files: n }), out, expect);
  }
  row.lines.push(note(be));
  await remove(out);
  row.ratios.push(
    { name: "push strata/restic", value: ratio(pl.rate, rb.rate), meaning: "files/s ratio" },
    { name: "push strata/borg", value: ratio(pl.rate, bb.rate), meaning: "files/s ratio" },
    { name: "re-push unchanged strata/restic", value: ratio(rpl.rate, rr2.rate), meaning: "files/s ratio" },
    { name: "checkout strata/restic", value: ratio(sc.rate, rr.rate), meaning: "files/s ratio" },
    { name: "checkout strata/borg", value: ratio(sc.rate, be.rate), meaning: "files/s ratio" },
  );
  row.notes.push("one run each, right after the backups (repositories warm in the page cache)");
  await remove(storeDir(st));
  await remove(restic.repo);
  await remove(borg.repo);
  await remove(tree.dir);
  return row;
}

// ---------------------------------------------------------------- row 8

/** The fastest of `times` runs of a command (start-up: the floor the machine allows). */
async function startLine(tool: string, op: string, times: number, fn: () => Promise<Measured>): Promise<Line> {
  return note(lineOf(tool, op, await bestOf(times, fn)));
}

/** CLI start-up: `strata --version` against `restic version`, and `npx strata log` against `node bin/strata.js log`. */
async function rowStartup(ctx: Ctx, st: StrataTarget): Promise<Row> {
  log("row 8: CLI start-up");
  const row: Row = { id: 8, title: "CLI start-up (best of 5 runs each)", lines: [], ratios: [], notes: [] };
  const version = await startLine("strata", "--version (node bin/strata.js)", 5, () => strataRun(st, ["--version"]));
  const restic = resticOr(ctx)
    ? unavailable("restic", "version", resticOr(ctx)!)
    : await startLine("restic", "version", 5, () => timed(["restic", "version"]));
  const logNode = await startLine("strata", "log (node bin/strata.js: start, connect, schema check)", 5, () =>
    strataRun(st, ["log", "tree"]),
  );
  const logNpx = await startLine("strata", "log (npx strata)", 5, () => strataNpx(st, ["log", "tree"]));
  row.lines.push(version, restic, logNode, logNpx);
  const npxCost = logNpx.seconds !== null && logNode.seconds !== null ? logNpx.seconds - logNode.seconds : null;
  row.ratios.push(
    {
      name: "strata/restic start-up",
      // GNU time reports restic's start as 0.00 s: counted at its 0.01 s resolution
      value: ratio(version.seconds, restic.seconds === null ? null : Math.max(restic.seconds, 0.01)),
      meaning: "time of --version / time of restic version (at least 0.01 s)",
    },
    { name: "npx/node log", value: ratio(logNpx.seconds, logNode.seconds), meaning: "time through npx / time of node bin/strata.js" },
  );
  if (npxCost !== null)
    row.notes.push(
      `npx adds ${npxCost.toFixed(2)} s (target: within 0.3 s): npm's own start and a shell (npx finds the command in node_modules/.bin, linked there by npm ci from bin/package.json); with bin/ on PATH (README) \`strata\` costs what node bin/strata.js does`,
    );
  row.notes.push("restic is one static Go binary; strata starts Node and loads its modules (and for log connects and checks the schema)");
  return row;
}

// ---------------------------------------------------------------- row 9

/**
 * The cost of a push's pack checks: before reusing a chunk, a push confirms its pack is in
 * the store (one HEAD per pack, remembered in the home). Two re-pushes that read every
 * file (the local index removed): the first with the home's record of checked packs
 * removed too (every pack checked), the second with it kept (none).
 */
async function packCheckLines(st: StrataTarget, dir: string, dataset: string, bytes: number, where: string): Promise<Line[]> {
  const lines: Line[] = [];
  for (const cold of [true, false]) {
    await remove(join(st.home, "index"));
    if (cold) await remove(join(st.home, "verified-packs"));
    syncDisks();
    const m = await strataPush(st, dir, dataset);
    const l = note(lineOf("strata", `re-read push, ${where}, packs ${cold ? "not yet checked" : "checked before"}`, m, { bytes }));
    if (m.result) l.note = `${m.result.packChecks} HEAD requests, ${fmtBytes(m.result.newBytes)} new`;
    lines.push(l);
  }
  return lines;
}

function addPackChecks(row: Row, [cold, warm]: Line[]): void {
  row.lines.push(cold!, warm!);
  const where = cold!.op.split(", ")[1];
  row.ratios.push({
    name: `${where} checked/unchecked`,
    value: ratio(cold!.seconds, warm!.seconds),
    meaning: "push time with every pack checked / with none",
  });
}

async function rowPackChecks(st: StrataTarget, dir: string, dataset: string, bytes: number, where: string): Promise<Row> {
  log("row 9: the cost of pack checks");
  const row: Row = {
    id: 9,
    title: "Pack checks: a re-push reading every file, every reused pack checked (one HEAD each) or none",
    lines: [],
    ratios: [],
    notes: [
      "the same data pushed again with the local index removed, so every chunk is read, hashed and found in the database; the checks are the only difference",
      "S3: the s3rver test server of row 7, on this machine (a real S3 HEAD costs a network round trip, 8 in flight)",
    ],
  };
  addPackChecks(row, await packCheckLines(st, dir, dataset, bytes, where));
  return row;
}

// ---------------------------------------------------------------- row 10

/** A million small files: push and checkout against restic, peak RSS and the database's size. */
async function rowMillion(ctx: Ctx): Promise<Row> {
  const n = cfg.millionFiles;
  log(`row 10: writing ${n} files of 64 B-2 KiB in ${cfg.millionFolders} folders`);
  const tree = await makeSpreadTree(join(ctx.root, "million"), {
    count: n,
    folders: cfg.millionFolders,
    minSize: 64,
    maxSize: 2 * KiB,
    seed: 10,
  });
  const row: Row = {
    id: 10,
    title: `${n} small files of 64 B-2 KiB (${fmtBytes(tree.bytes)}) in ${cfg.millionFolders} folders: push and checkout (peak RSS under 512 MiB)`,
    lines: [],
    ratios: [],
    notes: [],
  };
  const expect = { bytes: tree.bytes, files: n };
  const st = await strataTarget(ctx, "million");
  syncDisks();
  const p = await strataPush(st, tree.dir, "million", "first");
  trackRss(ctx, "row 10 push", p);
  const pl = note(lineOf("strata", "push", p, { files: n }));
  row.lines.push(pl);
  if (!pl.error) {
    const meta = Math.max(0, (await ctx.cluster.metadataBytes(st.databaseUrl)) - ctx.metaBaseline);
    row.lines.push(valueLine("strata", "database size (tables and indexes of schema strata)", meta, `${(meta / n).toFixed(0)} B per file`));
  }
  const restic = new Restic(ctx.peers, join(ctx.root, "restic-million"));
  const rb = note(await resticFirstBackup(ctx, restic, tree.dir, { files: n }));
  row.lines.push(rb);
  if (!rb.error) {
    const size = duBytes(restic.repo);
    if (size !== null) row.lines.push(valueLine("restic", "repository size (index, snapshots, packs)", size));
  }
  const out = join(ctx.root, "out-million");
  await emptyFolder(out);
  const sc = note(await checkoutLine(ctx, st, "million@first", join(out, "co"), pl, expect, "row 10 checkout"));
  row.lines.push(sc);
  const rr = note(await resticRestoreLine(restic, rb, out, expect));
  row.lines.push(rr);
  await remove(out);
  row.ratios.push(
    { name: "push strata/restic", value: ratio(pl.rate, rb.rate), meaning: "files/s ratio" },
    { name: "checkout strata/restic", value: ratio(sc.rate, rr.rate), meaning: "files/s ratio" },
    { name: "push RSS / 512 MiB", value: ratio(pl.rssMiB, 512), meaning: "below 1 passes" },
  );
  row.notes.push("borg is left out here: it takes minutes per million files and adds nothing the 100,000-file row does not show");
  await remove(storeDir(st));
  await remove(restic.repo);
  await remove(tree.dir);
  return row;
}

// ---------------------------------------------------------------- main

function findLine(r: Row | undefined, tool: string, opStart = ""): Line | undefined {
  return r?.lines.find((l) => l.tool === tool && l.op.startsWith(opStart));
}

function targets(rows: Row[], switchRatio: number | null, strataRss: { what: string; rssMiB: number }[]): Target[] {
  const by = (id: number): Row | undefined => rows.find((r) => r.id === id);
  const out: Target[] = [];
  const r1 = by(1);
  const push = findLine(r1, "strata", "push");
  const peers = [findLine(r1, "restic"), findLine(r1, "borg")].filter((l): l is Line => l !== undefined && l.rate !== null);
  const fastest = peers.sort((a, b) => b.rate! - a.rate!)[0];
  out.push(
    target(
      "push faster than the fastest peer",
      push?.rate == null || !fastest ? null : push.rate > fastest.rate!,
      `strata ${push?.rate?.toFixed(0) ?? "n/a"} MB/s vs ${fastest ? `${fastest.tool} ${fastest.rate!.toFixed(0)} MB/s` : "no peer"}`,
    ),
  );
  const openssl = findLine(r1, "openssl");
  const toLimit = ratio(push?.rate, openssl?.rate);
  out.push(
    target(
      "push toward half the hashing limit",
      toLimit === null ? null : toLimit >= 0.5,
      `strata/openssl = ${fmtRatio(toLimit)} (target >= 0.5x); strata/dd (durable write of the same bytes) = ${fmtRatio(ratio(push?.rate, findLine(r1, "dd")?.rate))}`,
    ),
  );
  const r3 = by(3);
  const re = findLine(r3, "strata", "re-push unchanged");
  const re2 = findLine(r3, "strata", "push, unchanged");
  out.push(
    target(
      "re-push unchanged well under 1 s per GiB",
      re?.rate == null ? null : re.rate < 1 && (re2?.rate == null || re2.rate < 1),
      `${re?.rate?.toFixed(3) ?? "n/a"} s/GiB (20 large files), ${re2?.rate?.toFixed(3) ?? "n/a"} s/GiB (many 1 MiB files)`,
    ),
  );
  const r4 = by(4);
  const dS = r4?.ratios.find((x) => x.name === "raw/stored strata")?.value ?? null;
  const dR = r4?.ratios.find((x) => x.name === "restic")?.value ?? null;
  out.push(
    target("dedup >= restic", dS === null || dR === null ? null : dS >= dR, `raw/stored strata ${fmtRatio(dS)} vs restic ${fmtRatio(dR)}`),
  );
  const r5 = by(5);
  const co = findLine(r5, "strata", "checkout (file");
  const ex = findLine(r5, "borg", "extract");
  out.push(
    target(
      "checkout >= borg extract",
      co?.rate == null || ex?.rate == null ? null : co.rate >= ex.rate,
      co?.error ? co.error : `strata ${co?.rate?.toFixed(0) ?? "n/a"} MB/s vs borg ${ex?.rate?.toFixed(0) ?? "n/a"} MB/s`,
    ),
  );
  out.push(
    target(
      "switch >= 10x faster than full checkout",
      switchRatio === null ? null : switchRatio >= 10,
      `full/switch = ${fmtRatio(switchRatio)}`,
    ),
  );
  const r6 = by(6);
  const sp = findLine(r6, "strata", "push");
  const rp = findLine(r6, "restic", "backup");
  out.push(
    target(
      "small files: push >= restic backup",
      sp?.rate == null || rp?.rate == null ? null : sp.rate >= rp.rate,
      `${sp?.rate?.toFixed(0) ?? "n/a"} vs ${rp?.rate?.toFixed(0) ?? "n/a"} files/s`,
    ),
  );
  const sc = findLine(r6, "strata", "checkout");
  const rr = findLine(r6, "restic", "restore");
  out.push(
    target(
      "small files: checkout >= restic restore",
      sc?.rate == null || rr?.rate == null ? null : sc.rate >= rr.rate,
      sc?.error ? sc.error : `${sc?.rate?.toFixed(0) ?? "n/a"} vs ${rr?.rate?.toFixed(0) ?? "n/a"} files/s`,
    ),
  );
  const r8 = by(8);
  const logNode = findLine(r8, "strata", "log (node");
  const logNpx = findLine(r8, "strata", "log (npx");
  const npxCost = logNpx?.seconds == null || logNode?.seconds == null ? null : logNpx.seconds - logNode.seconds;
  out.push(
    target(
      "npx strata within 0.3 s of node bin/strata.js",
      npxCost === null ? null : npxCost <= 0.3,
      npxCost === null ? "n/a" : `npx adds ${npxCost.toFixed(2)} s to \`strata log\``,
    ),
  );
  const r10 = by(10);
  const mp = findLine(r10, "strata", "push");
  const mr = findLine(r10, "restic", "backup");
  out.push(
    target(
      `${cfg.millionFiles} files: push >= restic backup, peak RSS < 512 MiB`,
      mp?.rate == null || mr?.rate == null || mp.rssMiB === null ? null : mp.rate >= mr.rate && mp.rssMiB < 512,
      `${mp?.rate?.toFixed(0) ?? "n/a"} vs ${mr?.rate?.toFixed(0) ?? "n/a"} files/s, ${mp?.rssMiB?.toFixed(0) ?? "n/a"} MiB`,
    ),
  );
  const worst = [...strataRss].sort((a, b) => b.rssMiB - a.rssMiB)[0];
  const big = strataRss.find((x) => x.what === "row 2 push");
  out.push(
    target(
      "peak RSS < 512 MiB (every strata command)",
      worst ? worst.rssMiB < 512 : null,
      worst
        ? `max ${worst.rssMiB.toFixed(0)} MiB (${worst.what}); ${fmtBytes(cfg.bigBytes)} file push ${big ? `${big.rssMiB.toFixed(0)} MiB` : "n/a"}`
        : "n/a",
    ),
  );
  return out;
}

/** A disk estimate of the largest stage, with room for PostgreSQL and the page-cache-bound temp files. */
function diskNeeded(): number {
  const tree = cfg.treeFiles * cfg.treeFileSize;
  const many = cfg.manyFiles * cfg.manyFileSize;
  const series = cfg.seriesFiles * 2.5 * MiB * 1.25;
  const small = cfg.smallFiles * 14 * KiB; // 1-20 KiB in 4 KiB blocks
  const million = cfg.millionFiles * 4 * KiB; // one block each
  return Math.max(2.05 * cfg.bigBytes, 6 * tree, 4 * many, 6 * series, 5 * small, 3 * million) + 2 * GiB;
}

export async function main(): Promise<void> {
  const base = process.env.BENCH_DIR ?? "/tmp";
  const need = diskNeeded();
  const free = freeBytes(base);
  console.log(`Strata benchmark${quick ? " (BENCH_QUICK=1: sizes ~10x smaller)" : ""}: ${new Date().toISOString()}`);
  console.log(
    `machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), ${(os.totalmem() / GiB).toFixed(0)} GiB RAM, ${os.release()}, node ${process.version}`,
  );
  if (free < need) {
    console.log(
      `not enough disk under ${base}: ${fmtBytes(free)} free, about ${fmtBytes(need)} needed (set BENCH_DIR, or BENCH_BIG_GIB / BENCH_SMALL_FILES lower)`,
    );
    process.exitCode = 1;
    return;
  }
  const status = ensurePeers(log);
  useGnuTime(status.gnuTime);
  for (const n of status.notes) console.log(`note: ${n}`);
  console.log(
    `peers: ${status.restic ?? "restic missing"}; ${status.borg ?? "borg missing"}; ${status.openssl ?? "openssl missing"}; GNU time ${status.gnuTime ? "yes" : "missing"}`,
  );
  const checkout = checkoutSupport();
  console.log(`strata checkout: ${checkout.available ? "available" : `not available (${checkout.why})`}`);
  console.log(`disk: ${fmtBytes(free)} free under ${base}, about ${fmtBytes(need)} needed at the peak`);
  const loadStart = os.loadavg();
  console.log(`load average at the start: ${loadStart.map((x) => x.toFixed(2)).join(" ")} (other processes on this machine add noise)`);

  const root = await mkdtemp(join(base, "strata-bench-"));
  let cluster: Cluster | undefined;
  const cleanup = async (): Promise<void> => {
    await cluster?.stop().catch(() => undefined);
    if (process.env.BENCH_KEEP !== "1") await rm(root, { recursive: true, force: true, maxRetries: 3 });
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    log(`${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  const rows: Row[] = [];
  let switchRatio: number | null = null;
  const strataRss: { what: string; rssMiB: number }[] = [];
  try {
    log("starting PostgreSQL (throwaway cluster, fsync turned on)");
    cluster = await startCluster();
    const durability = Object.entries(cluster.durability)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ");
    console.log(`PostgreSQL: ${durability}`);
    const baselineDb = await cluster.database("baseline");
    const ctx: Ctx = {
      root,
      cluster,
      peers: await peerEnv(root),
      status,
      checkout,
      strataRss,
      metaBaseline: await cluster.metadataBytes(baselineDb),
    };
    if (wants(2)) rows.push(await rowBig(ctx));
    const tr = wants(1, 3, 5, 7, 8, 9) ? await rowsTree(ctx) : undefined;
    const many = wants(3) ? await rowManyFiles(ctx) : [];
    const series = wants(4, 5) ? await rowsSeries(ctx) : undefined;
    switchRatio = series?.switchRatio ?? null;
    if (wants(6)) rows.push(await rowSmall(ctx));
    if (wants(10)) rows.push(await rowMillion(ctx));
    const row3: Row = {
      id: 3,
      title: "Re-push: unchanged (strata's local index skips unread files), then with 1% of the files changed",
      lines: [...(tr?.row3a ?? []), ...many],
      ratios: [],
      notes: [
        "rate column: s/GiB of the whole tree (lower is better); first backups in MB/s",
        "each tool finds unchanged files by its own cache: strata (size, mtime, inode), restic (mtime, ctime, size, inode), borg (ctime, size, inode)",
      ],
    };
    const pick = (tool: string, start: string): Line | undefined => row3.lines.find((l) => l.tool === tool && l.op.startsWith(start));
    const inv = (a: Line | undefined, b: Line | undefined): number | null => ratio(b?.seconds, a?.seconds);
    row3.ratios.push(
      {
        name: "unchanged restic/strata time",
        value: inv(pick("strata", "push, unchanged"), pick("restic", "backup, unchanged")),
        meaning: ">1: strata faster",
      },
      {
        name: "unchanged borg/strata",
        value: inv(pick("strata", "push, unchanged"), pick("borg", "create, unchanged")),
        meaning: ">1: strata faster",
      },
      {
        name: "1% changed restic/strata",
        value: inv(
          pick("strata", `push, ${String(Math.max(1, Math.round(cfg.manyFiles / 100)))}`),
          pick("restic", `backup, ${String(Math.max(1, Math.round(cfg.manyFiles / 100)))}`),
        ),
        meaning: ">1: strata faster",
      },
      {
        name: "1% changed borg/strata",
        value: inv(
          pick("strata", `push, ${String(Math.max(1, Math.round(cfg.manyFiles / 100)))}`),
          pick("borg", `create, ${String(Math.max(1, Math.round(cfg.manyFiles / 100)))}`),
        ),
        meaning: ">1: strata faster",
      },
    );
    if (tr || series) {
      const row5: Row = tr?.row5a ?? { id: 5, title: "Checkout (the series only)", lines: [], ratios: [], notes: [] };
      row5.lines.push(...(series?.row5b ?? []));
      row5.ratios.push({
        name: "full/switch",
        value: switchRatio,
        meaning: "time of a full checkout of v10 / time of switching v9 -> v10 (>= 10 passes)",
      });
      const floor = tr?.row8.lines.find((l) => l.op.startsWith("log (node"))?.seconds;
      const sw = row5.lines.find((l) => l.op.startsWith("switch"))?.seconds;
      if (floor != null && sw != null) {
        row5.notes.push(
          `every strata command pays a fixed ~${floor.toFixed(2)} s (Node start, module load, connect, schema check: \`strata log\` in row 8); the whole switch took ${sw.toFixed(2)} s`,
        );
      }
      rows.push(row5);
    }
    if (row3.lines.length > 0) rows.push(row3);
    if (tr) rows.push(tr.row1, tr.row7, tr.row8, tr.row9);
    if (series) rows.push(series.row4);
    if (only) rows.splice(0, rows.length, ...rows.filter((r) => only.has(r.id)));
  } catch (e) {
    console.log(`bench failed: ${(e as Error).stack ?? String(e)}`);
    process.exitCode = 1;
  } finally {
    await cleanup();
  }

  rows.sort((a, b) => a.id - b.id);
  const ts = targets(rows, switchRatio, strataRss);
  const runSeconds = (performance.now() - t0) / 1000;
  console.log("");
  for (const r of rows) console.log(`${renderRow(r)}\n`);
  console.log("Targets");
  console.log(renderTargets(ts));
  const loadEnd = os.loadavg();
  console.log(`\nrun time ${(runSeconds / 60).toFixed(1)} min; load average at the end ${loadEnd.map((x) => x.toFixed(2)).join(" ")}`);

  const resultsDir = fileURLToPath(new URL("./results/", import.meta.url));
  await mkdir(resultsDir, { recursive: true });
  const file = join(resultsDir, only ? "latest-rows.json" : quick ? "latest-quick.json" : "latest.json");
  const json = {
    date: new Date().toISOString(),
    runSeconds,
    quick,
    config: cfg,
    machine: {
      cores: os.cpus().length,
      cpu: os.cpus()[0]?.model,
      memGiB: os.totalmem() / GiB,
      kernel: os.release(),
      node: process.version,
      loadStart,
      loadEnd,
    },
    peers: { restic: status.restic, borg: status.borg, openssl: status.openssl, gnuTime: status.gnuTime, notes: status.notes },
    strataCheckout: checkout,
    rows,
    targets: ts,
  };
  await writeFile(file, `${JSON.stringify(json, null, 2)}\n`);
  console.log(`results: ${relative(process.cwd(), file)}`); // a saved report names no machine's paths
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
