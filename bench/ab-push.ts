/**
 * A/B timing of a first push of new data: one cluster and one generated tree, then
 * each build's CLI pushes it into a fresh database and store, round-robin, under GNU
 * time (wall, user, sys, peak RSS). Builds are folders holding bin/strata.js.
 *
 *   npx tsx bench/ab-push.ts [--files 20] [--size 100M] [--rounds 2] BUILD...
 */
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { makeFlatTree } from "./lib/data.js";
import { syncDisks } from "./lib/peers.js";
import { startCluster } from "./lib/strata.js";

const TICK = 100; // clock ticks per second (USER_HZ)

/** CPU seconds per thread of a process, by thread name (tids of the same name summed). */
function threadCpu(pid: number): Map<string, number> | undefined {
  const out = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  for (const tid of tids) {
    try {
      const st = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const name = st.slice(st.indexOf("(") + 1, st.lastIndexOf(")"));
      const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
      const cpu = (Number(f[11]) + Number(f[12])) / TICK;
      const key = tid === String(pid) ? "main" : `${name}.${tid}`;
      out.set(`${key}#${tid}`, cpu);
    } catch {
      // thread gone
    }
  }
  return out;
}

/** Runs node with args, polling per-thread CPU; reports wall, total CPU, peak RSS and per-thread CPU. */
async function measure(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ wall: number; cpu: number; rss: number; threads: string; timeline: string }> {
  const t0 = performance.now();
  const timeFile = join(tmpdir(), `ab-time-${process.pid}`);
  const child = spawn("/usr/bin/time", ["-f", "%e %U %S %M", "-o", timeFile, process.execPath, ...args], {
    env,
    stdio: ["ignore", "pipe", "inherit"],
  });
  let nodePid = 0;
  child.stdout.resume();
  const last = new Map<string, number>();
  let rss = 0;
  const lines: string[] = [];
  let prev = new Map<string, number>();
  const poll = (): void => {
    if (nodePid === 0) {
      try {
        nodePid = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim().split(" ")[0]) || 0;
      } catch {}
    }
    const m = nodePid === 0 ? undefined : threadCpu(nodePid);
    if (m === undefined) return;
    for (const [k, v] of m) last.set(k, v);
    try {
      const status = readFileSync(`/proc/${nodePid}/status`, "utf8");
      rss = Math.max(rss, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
    } catch {}
    const byName = new Map<string, number>();
    for (const [k, v] of last) {
      const n = k.slice(0, k.indexOf("#"));
      byName.set(n, (byName.get(n) ?? 0) + v - (prev.get(k) ?? 0));
    }
    prev = new Map(last);
    lines.push(
      `${((performance.now() - t0) / 1000).toFixed(1).padStart(5)} ${[...byName]
        .filter(([, v]) => v > 0)
        .map(([n, v]) => `${n} ${v.toFixed(2)}`)
        .join("  ")}`,
    );
  };
  const timer = setInterval(poll, Number(process.env.AB_POLL_MS ?? 250));
  const code = await new Promise<number | null>((r) => child.on("close", r));
  clearInterval(timer);
  if (code !== 0) throw new Error(`push exited ${code}`);
  const [wall, user, sys, maxKb] = readFileSync(timeFile, "utf8").trim().split("\n").at(-1)!.split(" ").map(Number);
  const byName = new Map<string, number>();
  for (const [k, v] of last) byName.set(k.slice(0, k.indexOf("#")), (byName.get(k.slice(0, k.indexOf("#"))) ?? 0) + v);
  const cpu = user! + sys!;
  rss = maxKb! / 1024;
  let small = 0;
  for (const [k, v] of byName)
    if (v < Number(process.env.AB_MIN_THREAD ?? 0.4) && k !== "main") {
      small += v;
      byName.delete(k);
    }
  byName.set("rest", small);
  const threads = [...byName]
    .sort((a, b) => b[1] - a[1])
    .map(([n, v]) => `${n} ${v.toFixed(2)}`)
    .join(", ");
  return { wall: wall!, cpu, rss, threads, timeline: lines.join("\n") };
}

async function main(argv: string[]): Promise<void> {
  let files = 20;
  let size = 100 * 2 ** 20;
  let rounds = 2;
  const builds: string[] = [];
  const env: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--files") files = Number(argv[++i]);
    else if (argv[i] === "--size") size = Number(argv[++i]!.replace(/M$/, "")) * 2 ** 20;
    else if (argv[i] === "--rounds") rounds = Number(argv[++i]);
    else if (argv[i] === "--env") {
      const kv = argv[++i]!;
      env[kv.slice(0, kv.indexOf("="))] = kv.slice(kv.indexOf("=") + 1);
    } else builds.push(argv[i]!);
  }
  const root = await mkdtemp(join(tmpdir(), "strata-ab-"));
  const cluster = await startCluster();
  try {
    const tree = await makeFlatTree(join(root, "tree"), files, size, 11);
    const openssl = (): number => {
      const t0 = performance.now();
      for (const f of tree.files) spawnSync("openssl", ["dgst", "-sha256", f]);
      return (performance.now() - t0) / 1000;
    };
    let n = 0;
    for (let r = 0; r < rounds; r++) {
      const o = openssl();
      console.log(`openssl ${o.toFixed(2)} s ${(tree.bytes / 1e6 / o).toFixed(0)} MB/s`);
      for (const b of builds) {
        const store = join(root, `store${n}`);
        const home = join(root, `home${n}`);
        const db = await cluster.database(`ab${n++}`);
        syncDisks();
        const args = [
          ...(process.env.AB_NODE_ARGS ?? "").split(" ").filter(Boolean),
          join(b, "bin/strata.js"),
          "push",
          tree.dir,
          "--dataset",
          "ab",
          "--json",
        ];
        const m = await measure(args, {
          ...process.env,
          ...env,
          DATABASE_URL: db,
          STRATA_STORE: pathToFileURL(store).href,
          STRATA_HOME: home,
          NODE_OPTIONS: "",
        });
        const mbs = tree.bytes / 1e6 / m.wall;
        console.log(
          `${b.padEnd(22)} wall ${m.wall.toFixed(2)} s ${mbs.toFixed(0)} MB/s (${(o / m.wall).toFixed(2)}x openssl) cpu ${m.cpu.toFixed(2)} s rss ${m.rss.toFixed(0)} MiB`,
        );
        console.log(`   threads: ${m.threads}`);
        if (process.env.AB_TIMELINE) console.log(m.timeline);
        await rm(store, { recursive: true, force: true });
        await rm(home, { recursive: true, force: true });
      }
    }
  } finally {
    await cluster.stop();
    await rm(root, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
