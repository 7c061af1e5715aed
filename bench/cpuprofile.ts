/**
 * Reads V8 CPU profiles (`node --cpu-prof`, one file per thread) and prints where
 * the time went: per thread, the functions with the most self time and the most
 * inclusive time, as `file.ts:line` of the TypeScript source (through dist/'s
 * source maps) when there is one.
 *
 *   npx tsx bench/cpuprofile.ts DIR_OR_FILE... [--top 25]
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { SourceMap } from "node:module";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FnTime {
  fn: string;
  where: string;
  selfMs: number;
  totalMs: number;
}

export interface ThreadSummary {
  file: string;
  wallMs: number;
  /** Sampled time not idle, not GC, not "(program)". */
  busyMs: number;
  idleMs: number;
  gcMs: number;
  programMs: number;
  fns: FnTime[];
}

const projectRoot = fileURLToPath(new URL("..", import.meta.url));
const maps = new Map<string, SourceMap | null>();

function sourceMapFor(url: string): SourceMap | null {
  if (maps.has(url)) return maps.get(url)!;
  let map: SourceMap | null = null;
  try {
    const path = fileURLToPath(url);
    const mapPath = `${path}.map`;
    if (existsSync(mapPath)) map = new SourceMap(JSON.parse(readFileSync(mapPath, "utf8")) as ConstructorParameters<typeof SourceMap>[0]);
  } catch {
    map = null;
  }
  maps.set(url, map);
  return map;
}

/** `loader/push/push.ts:123` for project code (through the source map), else a short URL. */
export function location(cf: CallFrame): string {
  if (cf.url === "") return "";
  let url = cf.url;
  let line = cf.lineNumber + 1;
  if (url.startsWith("file:")) {
    const map = sourceMapFor(url);
    const entry = map?.findEntry(cf.lineNumber, cf.columnNumber) as { originalSource?: string; originalLine?: number } | undefined;
    if (entry?.originalSource !== undefined && entry.originalLine !== undefined) {
      url = entry.originalSource.startsWith("file:")
        ? entry.originalSource
        : pathToFileURL(join(fileURLToPath(url), "..", entry.originalSource)).href;
      line = entry.originalLine + 1;
    }
    const path = fileURLToPath(url);
    const rel = relative(projectRoot, path);
    url = rel.startsWith("node_modules") ? rel.replace(/^node_modules\//, "") : rel.startsWith("..") ? path : rel;
  }
  return `${url}:${line}`;
}

export function summarize(file: string, top = 25): ThreadSummary {
  const p = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const key = (n: ProfileNode): string => `${n.callFrame.functionName || "(anonymous)"}\u0000${location(n.callFrame)}`;
  const keys = new Map<number, string>();
  for (const n of p.nodes) keys.set(n.id, key(n));
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let idle = 0;
  let gc = 0;
  let program = 0;
  let all = 0;
  for (let i = 0; i < p.samples.length; i++) {
    // timeDeltas[i] is the time before sample i; it is attributed to sample i (V8's convention)
    const dt = (p.timeDeltas[i] ?? 0) / 1000;
    const id = p.samples[i]!;
    const node = byId.get(id);
    if (!node) continue;
    all += dt;
    const name = node.callFrame.functionName;
    if (name === "(idle)") {
      idle += dt;
      continue;
    }
    if (name === "(garbage collector)") gc += dt;
    if (name === "(program)") program += dt;
    const k = keys.get(id)!;
    self.set(k, (self.get(k) ?? 0) + dt);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const ck = keys.get(cur)!;
      if (seen.has(ck)) continue;
      seen.add(ck);
      total.set(ck, (total.get(ck) ?? 0) + dt);
    }
  }
  const fns = [...self.keys(), ...[...total.keys()].filter((k) => !self.has(k))]
    .map((k) => {
      const [fn, where] = k.split("\u0000") as [string, string];
      return { fn, where, selfMs: self.get(k) ?? 0, totalMs: total.get(k) ?? 0 };
    })
    .filter((f) => f.fn !== "(root)");
  const bySelf = [...fns].sort((a, b) => b.selfMs - a.selfMs).slice(0, top);
  const byTotal = [...fns].sort((a, b) => b.totalMs - a.totalMs).slice(0, top);
  const merged = new Map<string, FnTime>();
  for (const f of [...bySelf, ...byTotal]) merged.set(`${f.fn}@${f.where}`, f);
  return {
    file,
    wallMs: (p.endTime - p.startTime) / 1000,
    busyMs: all - idle - gc - program,
    idleMs: idle,
    gcMs: gc,
    programMs: program,
    fns: [...merged.values()],
  };
}

export function profileFiles(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (statSync(p).isDirectory()) {
      for (const f of readdirSync(p).sort()) if (f.endsWith(".cpuprofile")) out.push(join(p, f));
    } else out.push(p);
  }
  return out;
}

export function render(s: ThreadSummary, top = 25): string {
  const lines = [
    `${s.file}: wall ${(s.wallMs / 1000).toFixed(2)} s; busy ${(s.busyMs / 1000).toFixed(2)} s, idle ${(s.idleMs / 1000).toFixed(2)} s, GC ${(s.gcMs / 1000).toFixed(2)} s, (program) ${(s.programMs / 1000).toFixed(2)} s`,
  ];
  const row = (f: FnTime): string =>
    `  ${f.selfMs.toFixed(0).padStart(7)} ms ${f.totalMs.toFixed(0).padStart(7)} ms  ${f.fn.slice(0, 40).padEnd(40)}  ${f.where}`;
  lines.push("  self time:      self    total  function                                  where");
  for (const f of [...s.fns].sort((a, b) => b.selfMs - a.selfMs).slice(0, top)) lines.push(row(f));
  lines.push("  inclusive time:");
  for (const f of [...s.fns].sort((a, b) => b.totalMs - a.totalMs).slice(0, top)) lines.push(row(f));
  return lines.join("\n");
}

function main(argv: string[]): void {
  let top = 25;
  const paths: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--top") top = Number(argv[++i]);
    else paths.push(argv[i]!);
  }
  if (paths.length === 0) throw new Error("usage: bench/cpuprofile.ts DIR_OR_FILE... [--top 25]");
  for (const f of profileFiles(paths)) console.log(`${render(summarize(f, top), top)}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
