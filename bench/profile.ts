/**
 * Profiles strata commands the way bench/run.ts runs them (throwaway PostgreSQL with
 * fsync on, a file:// store), under `node --cpu-prof`, and prints the hot spots of
 * every thread (bench/cpuprofile.ts).
 *
 *   npx tsx bench/profile.ts [--files 20] [--size 50M | --min 1K --max 20K] [--folders N]
 *                            [--ops push,checkout,switch,log] [--top 25] [--out DIR]
 *                            [--env KEY=VALUE]...
 *
 * push: the first push of a generated tree. checkout: a checkout of it into an empty
 * folder (the second of two runs, as the bench times it). switch: 1% of the files
 * changed, pushed again, then the first checkout switched to the new version. log:
 * `strata log`, the CLI's fixed cost (start, module load, connect, schema check).
 * Only the listed ops are profiled; the others still run when a later op needs them.
 * Profiles stay in --out when given (one folder per op), else in a temp folder that is removed.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { profileFiles, render, summarize } from "./cpuprofile.js";
import { fmtBytes } from "./lib/report.js";
import { makeSpreadTree, overwriteMiddle, Rand } from "./lib/data.js";
import { timed, type Measured } from "./lib/measure.js";
import { syncDisks } from "./lib/peers.js";
import { checkoutSupport, startCluster, STRATA_BIN, strataPush, type StrataTarget } from "./lib/strata.js";

function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([kmgt]?)i?b?$/i.exec(s.trim());
  if (m === null) throw new Error(`bad size: ${s}`);
  return Math.round(Number(m[1]) * 1024 ** " kmgt".indexOf((m[2] ?? "").toLowerCase() || " "));
}

const USAGE =
  "usage: bench/profile.ts [--files N] [--size S | --min S --max S] [--folders N] [--ops push,checkout,switch,log] [--top N] [--out DIR] [--env K=V]";

async function main(argv: string[]): Promise<void> {
  const o = {
    files: 20,
    min: 50 * 2 ** 20,
    max: 50 * 2 ** 20,
    top: 25,
    out: "",
    folders: 1,
    ops: ["push"] as string[],
    env: {} as Record<string, string>,
  };
  for (let i = 0; i < argv.length; i += 2) {
    const v = argv[i + 1] ?? "";
    if (argv[i] === "--files") o.files = Number(v);
    else if (argv[i] === "--size") o.min = o.max = parseSize(v);
    else if (argv[i] === "--min") o.min = parseSize(v);
    else if (argv[i] === "--max") o.max = parseSize(v);
    else if (argv[i] === "--top") o.top = Number(v);
    else if (argv[i] === "--out") o.out = v;
    else if (argv[i] === "--folders") o.folders = Number(v);
    else if (argv[i] === "--ops") o.ops = v.split(",");
    else if (argv[i] === "--env" && v.includes("=")) o.env[v.slice(0, v.indexOf("="))] = v.slice(v.indexOf("=") + 1);
    else throw new Error(USAGE);
  }
  const root = await mkdtemp(join(tmpdir(), "strata-profile-"));
  const out = o.out || join(root, "profiles");
  const cluster = await startCluster();
  try {
    const tree = await makeSpreadTree(join(root, "tree"), {
      count: o.files,
      folders: Math.min(o.folders, o.files),
      minSize: o.min,
      maxSize: o.max,
      seed: 9,
    });
    const t: StrataTarget = {
      databaseUrl: await cluster.database("profile"),
      store: pathToFileURL(join(root, "store")).href,
      home: join(root, "home"),
      env: o.env,
    };
    const env = { DATABASE_URL: t.databaseUrl, STRATA_STORE: t.store, STRATA_HOME: t.home, NODE_OPTIONS: undefined, ...o.env };
    const profArgs = async (op: string): Promise<string[]> => {
      if (!o.ops.includes(op)) return [];
      await mkdir(join(out, op), { recursive: true });
      return ["--cpu-prof", "--cpu-prof-dir", join(out, op)];
    };
    const report = async (op: string, m: Measured, what: string, work: { bytes?: number; files?: number }): Promise<void> => {
      const s = Math.max(m.seconds, 0.01);
      const rates = [
        work.bytes !== undefined ? `${(work.bytes / 1e6 / s).toFixed(0)} MB/s` : "",
        work.files !== undefined ? `${(work.files / s).toFixed(0)} files/s` : "",
      ]
        .filter(Boolean)
        .join(", ");
      console.log(
        `\n== ${op}: ${what}: ${m.ok ? `${m.seconds.toFixed(2)} s${rates ? `, ${rates}` : ""}` : `ERROR ${m.error}`}, peak RSS ${m.rssMiB.toFixed(0)} MiB`,
      );
      if (m.ok && m.stdout.trim().startsWith("{")) console.log(`   ${m.stdout.trim().replace(/\s+/g, " ").slice(0, 400)}`);
      if (!o.ops.includes(op)) return;
      for (const f of profileFiles([join(out, op)])) console.log(`\n${render(summarize(f, o.top), o.top)}`);
    };
    const desc = `${o.files} files, ${fmtBytes(tree.bytes)}`;

    syncDisks();
    const p = await strataPush(t, tree.dir, "profile", "first", await profArgs("push"));
    await report("push", p, `push of ${desc}`, { bytes: tree.bytes, files: o.files });
    if (!p.ok) return;

    const co = async (ref: string, dir: string, nodeArgs: string[]): Promise<Measured> =>
      timed([process.execPath, ...nodeArgs, STRATA_BIN, "checkout", ref, dir, ...(checkoutSupport().json ? ["--json"] : [])], { env });
    const needCheckout = o.ops.includes("checkout") || o.ops.includes("switch");
    if (needCheckout) {
      const dir = join(root, "co");
      await co("profile@first", dir, []); // warm-up, as the bench times the second run
      await rm(dir, { recursive: true, force: true });
      syncDisks();
      const m = await co("profile@first", dir, await profArgs("checkout"));
      await report("checkout", m, `checkout of ${desc} into an empty folder (second run)`, { bytes: tree.bytes, files: o.files });
    }
    if (o.ops.includes("switch")) {
      const rand = new Rand(5);
      const changed = Math.max(1, Math.round(o.files / 100));
      for (const i of rand.pick(tree.files.length, changed)) await overwriteMiddle(tree.files[i]!, 4096, 500 + i);
      const p2 = await strataPush(t, tree.dir, "profile", "second");
      if (!p2.ok) throw new Error(`second push: ${p2.error}`);
      syncDisks();
      const m = await co("profile@second", join(root, "co"), await profArgs("switch"));
      await report("switch", m, `switch of that checkout to a version with ${changed} of ${o.files} files changed`, {});
    }
    if (o.ops.includes("log")) {
      const m = await timed([process.execPath, ...(await profArgs("log")), STRATA_BIN, "log", "profile"], { env });
      await report("log", m, "strata log (the fixed cost of a command)", {});
    }
  } finally {
    await cluster.stop();
    await rm(root, { recursive: true, force: true }); // --out, when given, is elsewhere and stays
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
