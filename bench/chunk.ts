/**
 * Chunking benchmark: throughput of our FastCDC boundary finder and of the
 * whole chunkFile pipeline (read + boundaries + chunk and file SHA-256),
 * against `openssl dgst -sha256` on the same file, the machine's one-core
 * hashing limit, measured in the same run.
 *
 *   npx tsx bench/chunk.ts [--size 1G] [--runs 3] [--dir /tmp]
 */
import { execFile } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { mkdtemp, open, readFile, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { chunkLengths } from "../loader/chunk/fastcdc.js";
import type { ChunkParams } from "../loader/chunk/params.js";
import { pseudoRandomBytes } from "../test/helpers/prng.js";
import { chunkFile } from "../loader/chunk/stream.js";

export interface BenchOptions {
  /** Size of the generated file, bytes. Default 1 GiB. */
  size?: number;
  /** Timed runs of each measurement; the best is reported. Default 3. */
  runs?: number;
  /** Where the temporary file goes. Default the OS temp dir. */
  dir?: string;
  params?: Partial<ChunkParams>;
}

export interface Row {
  name: string;
  value: number;
  unit: string;
  /** value / openssl's MB/s, for throughput rows. */
  ratioToOpenssl: number | null;
}

const MB = 1e6;

async function makeFile(path: string, size: number): Promise<void> {
  const fh = await open(path, "w");
  try {
    const buf = Buffer.allocUnsafe(16 << 20);
    for (let left = size; left > 0; left -= buf.length) {
      randomFillSync(buf);
      await fh.write(buf, 0, Math.min(left, buf.length));
    }
  } finally {
    await fh.close();
  }
}

/** CPU seconds all processes have used since boot (Linux), or null elsewhere. */
async function machineBusy(): Promise<number | null> {
  try {
    const line = (await readFile("/proc/stat", "utf8")).split("\n")[0] ?? "";
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const ticks = (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
    return ticks / 100; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

async function best(runs: number, fn: () => Promise<void>): Promise<number> {
  let min = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    min = Math.min(min, (performance.now() - t0) / 1000);
  }
  return min;
}

export async function benchChunking(opts: BenchOptions = {}): Promise<Row[]> {
  const size = opts.size ?? 1 << 30;
  const runs = opts.runs ?? 3;
  const params = opts.params ?? {};
  const dir = await mkdtemp(join(opts.dir ?? tmpdir(), "strata-bench-chunk-"));
  const file = join(dir, "data.bin");
  try {
    await makeFile(file, size);
    const opensslS = await best(runs + 1, async () => {
      await promisify(execFile)("openssl", ["dgst", "-sha256", file]);
    });
    const openssl = size / MB / opensslS;

    // The pipeline first, so the peak RSS below is the pipeline's, not the in-memory buffer's.
    let cpu = Infinity;
    let others = Infinity;
    let fastest = Infinity;
    const pipeS = await best(runs, async () => {
      const c0 = process.cpuUsage();
      const b0 = await machineBusy();
      const t0 = performance.now();
      let n = 0;
      for await (const ev of chunkFile(file, params)) if (ev.kind === "end") n = ev.size;
      if (n !== size) throw new Error(`chunkFile saw ${n} bytes of ${size}`);
      const wall = (performance.now() - t0) / 1000;
      const c = process.cpuUsage(c0);
      const own = (c.user + c.system) / 1e6;
      cpu = Math.min(cpu, own);
      const b1 = await machineBusy();
      // Other processes' share of the cores during the fastest run: the figures mean little when it is high.
      if (wall < fastest && b0 !== null && b1 !== null) others = Math.max(0, b1 - b0 - own) / wall / cpus().length;
      fastest = Math.min(fastest, wall);
    });
    const pipeRss = process.resourceUsage().maxRSS / 1024;

    const memSize = Math.min(size, 256 << 20);
    const data = pseudoRandomBytes(memSize, 1);
    chunkLengths(data.subarray(0, 16 << 20), params); // JIT warm-up
    const cdcS = await best(runs, async () => {
      chunkLengths(data, params);
    });

    const mbps = (bytes: number, s: number): number => bytes / MB / s;
    const pipe = mbps(size, pipeS);
    const cdc = mbps(memSize, cdcS);
    return [
      { name: "openssl dgst -sha256 (file)", value: openssl, unit: "MB/s", ratioToOpenssl: 1 },
      { name: "FastCDC boundaries only (in memory)", value: cdc, unit: "MB/s", ratioToOpenssl: cdc / openssl },
      { name: "chunkFile pipeline (boundaries + chunk and file SHA-256)", value: pipe, unit: "MB/s", ratioToOpenssl: pipe / openssl },
      { name: "chunkFile CPU time, all threads", value: cpu / (size / 2 ** 30), unit: "s/GiB", ratioToOpenssl: null },
      { name: "peak RSS during chunkFile", value: pipeRss, unit: "MiB", ratioToOpenssl: null },
      ...(Number.isFinite(others)
        ? [{ name: "CPU used by other processes during chunkFile", value: others * 100, unit: "%", ratioToOpenssl: null }]
        : []),
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatRows(rows: Row[]): string {
  const w = Math.max(...rows.map((r) => r.name.length));
  return rows
    .map((r) => {
      const ratio = r.ratioToOpenssl === null ? "" : `  ${r.ratioToOpenssl.toFixed(2)}x openssl`;
      return `${r.name.padEnd(w)}  ${r.value.toFixed(r.unit === "s/GiB" ? 2 : 0).padStart(7)} ${r.unit}${ratio}`;
    })
    .join("\n");
}

function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([kmgt]?)i?b?$/i.exec(s.trim());
  if (m === null) throw new Error(`bad size: ${s}`);
  const exp = " kmgt".indexOf((m[2] ?? "").toLowerCase() || " ");
  return Math.round(Number(m[1]) * 1024 ** exp);
}

async function main(argv: string[]): Promise<void> {
  const opts: BenchOptions = {};
  for (let i = 0; i < argv.length; i += 2) {
    const v = argv[i + 1] ?? "";
    if (argv[i] === "--size") opts.size = parseSize(v);
    else if (argv[i] === "--runs") opts.runs = Number(v);
    else if (argv[i] === "--dir") opts.dir = v;
    else throw new Error(`usage: bench/chunk.ts [--size 1G] [--runs 3] [--dir DIR]`);
  }
  const size = opts.size ?? 1 << 30;
  console.log(`chunking ${(size / 2 ** 20).toFixed(0)} MiB of random data, best of ${opts.runs ?? 3} runs`);
  console.log(formatRows(await benchChunking(opts)));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
