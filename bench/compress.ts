/**
 * Compression benchmark: what 10 versions of a compressible dataset take in the store,
 * for strata, restic and borg, each with its own defaults, in ONE run on the same files:
 *   - strata: chunks stored as zstd (level 3) when a sample looks compressible and the
 *     frame saves at least 5% (loader/codec.ts);
 *   - restic 0.14: `restic init` makes a repository of format 2, which compresses with zstd
 *     (`--compression auto`); AES-256 encryption is always on;
 *   - borg 1.2: `borg init --encryption=none`, then `borg create` with its default lz4.
 * The dataset: CSV and JSON Lines tables (ids, timestamps, floats, categories, labels,
 * free text), plain text documents and raw float32 signals (smooth, not random). Each
 * version appends rows, edits a block of JSON Lines rows, relabels 2% of the table rows
 * (the whole table file changes), edits one document and adds one, and adds a signal.
 * Reported: stored bytes after all 10 versions (strata: the pack objects in the store
 * folder; its database size beside it), raw bytes pushed, push time of the 10 versions,
 * and ratios strata/restic and strata/borg (targets: at most 1).
 *
 * One more row: incompressible (random) data pushed with compression on and with
 * STRATA_COMPRESSION=off, alternating, each into a fresh database and store (big files,
 * then many small files), after one untimed push: the slowdown is on/off of the median
 * push times of 5 each (target 1.10).
 *
 *   npx tsx bench/compress.ts            (BENCH_QUICK=1: about a tenth, a few minutes)
 *
 * Results: a table on stdout and bench/results/compress-latest.json (compress-latest-quick.json).
 */
import { appendFile, mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { KiB, MiB, Rand, treeBytes, writeRandomFile } from "./lib/data.js";
import { hasGnuTime, useGnuTime, type Measured } from "./lib/measure.js";
import { Borg, ensurePeers, peerEnv, Restic } from "./lib/peers.js";
import { fmtBytes, fmtRatio } from "./lib/report.js";
import { startCluster, strataPush, type StrataTarget } from "./lib/strata.js";

const quick = process.env.BENCH_QUICK === "1";
const VERSIONS = 10;
/** The dataset's size at version 1; appends grow it by a few % per version. */
const DATASET_BYTES = quick ? 20 * MiB : 200 * MiB;
const RANDOM_BYTES = quick ? 32 * MiB : 256 * MiB;
const SMALL_FILES = quick ? 2000 : 20_000;
const SMALL_SIZE = 8 * KiB;
const ROUNDS = 5;

// ---- the compressible dataset -------------------------------------------------------

const WORDS =
  "the of and to in is that for it as was with be by on not he this are or his from at which but have an they you were her she there been one all we their has would when if so no will more out can up about into them some could time these two may then do first any my now such like our over man me even most made after also did many before must through back years where much your way well down should because each just those people how too little state good very make world still own see men work long get here between both life being under never day same another know while last might us great old year off come since against go came right used take three".split(
    " ",
  );
const CATEGORIES = [
  "grocery",
  "electronics",
  "books",
  "garden",
  "toys",
  "travel",
  "fashion",
  "health",
  "sports",
  "music",
  "office",
  "pets",
];
const LABELS = ["spam", "ham", "unknown", "review"];

/** A cheap integer hash: each row is a pure function of its id, so a version is rewritten without keeping rows. */
function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h >>> 0;
}

function words(id: number, salt: number, n: number): string {
  const out: string[] = [];
  for (let k = 0; k < n; k++) {
    const r = mix(id, salt + k);
    // Zipf-like: common words far more often
    out.push(WORDS[Math.floor(WORDS.length * (r / 2 ** 32) ** 2.5)]!);
  }
  return out.join(" ");
}

interface Row {
  id: number;
  ts: string;
  user: number;
  amount: string;
  category: string;
  label: string;
  text: string;
}

function row(id: number, label: number, edit: number): Row {
  const r = mix(id, 1);
  return {
    id: 1_000_000 + id,
    ts: new Date(Date.UTC(2025, 0, 1) + id * 37_000 + (r % 1000)).toISOString(),
    user: 10_000 + (mix(id, 2) % 90_000),
    amount: ((mix(id, 3 + edit) % 100_000) / 100).toFixed(2),
    category: CATEGORIES[mix(id, 4) % CATEGORIES.length]!,
    label: LABELS[(mix(id, 5) + label) % LABELS.length]!,
    text: words(id, 100 + edit * 17, 3 + (r % 9)),
  };
}

const csvLine = (r: Row): string => `${r.id},${r.ts},${r.user},${r.amount},${r.category},${r.label},"${r.text}"\n`;
const jsonLine = (r: Row): string =>
  `{"id":${r.id},"ts":"${r.ts}","user":${r.user},"amount":${r.amount},"category":"${r.category}","label":"${r.label}","text":"${r.text}"}\n`;

/** The dataset's state: rows per table, their relabels and edits, documents, signals. */
class Dataset {
  readonly csvRows: number;
  readonly jsonRows: number;
  private csvCount: number;
  private jsonCount: number;
  private readonly relabels = new Map<number, number>();
  private readonly edits = new Map<number, number>();
  private docs = 0;
  private signals = 0;
  private readonly rand = new Rand(42);

  constructor(readonly dir: string) {
    // about 40% CSV, 30% JSON Lines, 10% text, 20% signals
    this.csvRows = Math.round((DATASET_BYTES * 0.4) / 95);
    this.jsonRows = Math.round((DATASET_BYTES * 0.3) / 160);
    this.csvCount = this.csvRows;
    this.jsonCount = this.jsonRows;
  }

  /** Writes version v (1-based) over the folder: only the files that change are written. */
  async write(v: number): Promise<void> {
    await mkdir(join(this.dir, "tables"), { recursive: true });
    await mkdir(join(this.dir, "docs"), { recursive: true });
    await mkdir(join(this.dir, "signals"), { recursive: true });
    if (v > 1) {
      this.csvCount += Math.round(this.csvRows * 0.03);
      this.jsonCount += Math.round(this.jsonRows * 0.03);
      for (const i of this.rand.pick(this.csvCount, Math.round(this.csvCount * 0.02)))
        this.relabels.set(i, (this.relabels.get(i) ?? 0) + 1);
      const start = this.rand.int(0, this.jsonCount - 2000);
      for (let i = start; i < start + 1000; i++) this.edits.set(i, v);
    }
    await this.writeLines(join(this.dir, "tables", "events.csv"), "id,ts,user,amount,category,label,text\n", this.csvCount, (i) =>
      csvLine(row(i, this.relabels.get(i) ?? 0, 0)),
    );
    await this.writeLines(join(this.dir, "tables", "events.jsonl"), "", this.jsonCount, (i) =>
      jsonLine(row(500_000_000 + i, 0, this.edits.get(i) ?? 0)),
    );
    const docBytes = (DATASET_BYTES * 0.1) / 20;
    if (v === 1) for (; this.docs < 20; this.docs++) await this.writeDoc(this.docs, docBytes, 0);
    else {
      await this.writeDoc(this.rand.int(0, this.docs - 1), docBytes, v);
      await this.writeDoc(this.docs++, docBytes, 0);
    }
    const signalBytes = (DATASET_BYTES * 0.2) / 8;
    if (v === 1) for (; this.signals < 8; this.signals++) await this.writeSignal(this.signals, signalBytes);
    else await this.writeSignal(this.signals++, signalBytes * 0.25);
  }

  private async writeLines(path: string, header: string, n: number, line: (i: number) => string): Promise<void> {
    await writeFile(path, header);
    const parts: string[] = [];
    let size = 0;
    for (let i = 0; i < n; i++) {
      const l = line(i);
      parts.push(l);
      size += l.length;
      if (size >= 4 * MiB) {
        await appendFile(path, parts.join(""));
        parts.length = 0;
        size = 0;
      }
    }
    await appendFile(path, parts.join(""));
  }

  private async writeDoc(k: number, bytes: number, edit: number): Promise<void> {
    const parts: string[] = [];
    let size = 0;
    for (let p = 0; size < bytes; p++) {
      const s = `${words(k * 100_000 + p, 7 + (p % 50 === 7 ? edit : 0), 40 + (mix(k, p) % 80))}.\n\n`;
      parts.push(s);
      size += s.length;
    }
    await writeFile(join(this.dir, "docs", `doc-${String(k).padStart(3, "0")}.txt`), parts.join(""));
  }

  /** Sums of slow sines with a little noise, as float32: smooth, so partly compressible. */
  private async writeSignal(k: number, bytes: number): Promise<void> {
    const n = Math.floor(bytes / 4);
    const out = new Float32Array(n);
    const f = [0.001 + k * 0.0003, 0.013, 0.0471];
    for (let i = 0; i < n; i++) {
      const noise = (mix(k, i) / 2 ** 32 - 0.5) * 0.001;
      out[i] = Math.fround(Math.sin(i * f[0]!) + 0.3 * Math.sin(i * f[1]! + k) + 0.05 * Math.sin(i * f[2]!) + noise);
    }
    await writeFile(join(this.dir, "signals", `sensor-${String(k).padStart(3, "0")}.f32`), out);
  }
}

// ---- measuring ----------------------------------------------------------------------

async function folderBytes(dir: string): Promise<number> {
  let n = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) n += (await stat(join(e.parentPath, e.name))).size;
  return n;
}

interface ToolResult {
  tool: string;
  defaults: string;
  storedBytes: number | null;
  pushSeconds: number | null;
  error?: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function check(m: Measured, what: string): Promise<number> {
  if (!m.ok) throw new Error(`${what}: ${m.error}`);
  return m.seconds;
}

async function main(): Promise<void> {
  const peers = ensurePeers((s) => console.log(s));
  useGnuTime(hasGnuTime());
  const scratch = await mkdtemp(join(process.env.BENCH_DIR ?? os.tmpdir(), "strata-bench-compress-"));
  const cluster = await startCluster();
  const env = await peerEnv(scratch);
  const tools: ToolResult[] = [];
  let off: ToolResult | undefined;
  let rawPushed = 0;
  let databaseBytes = 0;
  let strataRaw = 0;
  const randomRows: { data: string; onSeconds: number[]; offSeconds: number[]; slowdown: number }[] = [];
  try {
    // -- the compressible series: every tool pushes each version before the next is written
    const data = join(scratch, "data");
    const ds = new Dataset(data);
    const strata: StrataTarget = {
      databaseUrl: await cluster.database("compress"),
      store: `file://${join(scratch, "store")}`,
      home: join(scratch, "home"),
    };
    const strataOff: StrataTarget = {
      databaseUrl: await cluster.database("compress_off"),
      store: `file://${join(scratch, "store-off")}`,
      home: join(scratch, "home-off"),
      env: { STRATA_COMPRESSION: "off" },
    };
    const restic = new Restic(env, join(scratch, "restic"));
    const borg = new Borg(env, join(scratch, "borg"));
    if (peers.restic) await check(await restic.init(), "restic init");
    if (peers.borg) await check(await borg.init(), "borg init");
    const seconds = { strata: 0, strataOff: 0, restic: 0, borg: 0 };
    for (let v = 1; v <= VERSIONS; v++) {
      await ds.write(v);
      const size = (await treeBytes(data)).bytes;
      rawPushed += size;
      const p = await strataPush(strata, data, "series");
      seconds.strata += await check(p, `strata push v${v}`);
      strataRaw += p.result?.newBytes ?? 0;
      seconds.strataOff += await check(await strataPush(strataOff, data, "series"), `strata push v${v} (compression off)`);
      if (peers.restic) seconds.restic += await check(await restic.backup(data), `restic backup v${v}`);
      if (peers.borg) seconds.borg += await check(await borg.create(`v${v}`, data), `borg create v${v}`);
      console.log(`version ${v}: ${fmtBytes(size)}`);
    }
    databaseBytes = await cluster.metadataBytes(strata.databaseUrl);
    tools.push({
      tool: "strata",
      defaults: "zstd level 3 per chunk when a sample looks compressible and it saves >= 5%",
      storedBytes: await folderBytes(join(scratch, "store", "packs")),
      pushSeconds: seconds.strata,
    });
    off = {
      tool: "strata, STRATA_COMPRESSION=off",
      defaults: "every chunk raw (context: what compression saves and costs)",
      storedBytes: await folderBytes(join(scratch, "store-off", "packs")),
      pushSeconds: seconds.strataOff,
    };
    tools.push(
      peers.restic
        ? {
            tool: "restic",
            defaults: "repository v2 (restic init's default): zstd, --compression auto; AES-256",
            storedBytes: await folderBytes(join(scratch, "restic")),
            pushSeconds: seconds.restic,
          }
        : { tool: "restic", defaults: "", storedBytes: null, pushSeconds: null, error: "not available" },
    );
    tools.push(
      peers.borg
        ? {
            tool: "borg",
            defaults: "borg init --encryption=none; default compression lz4",
            storedBytes: await folderBytes(join(scratch, "borg")),
            pushSeconds: seconds.borg,
          }
        : { tool: "borg", defaults: "", storedBytes: null, pushSeconds: null, error: "not available" },
    );
    await rm(data, { recursive: true, force: true });

    // -- incompressible data, compression on and off, alternating into fresh targets
    const kinds: { name: string; make: (dir: string) => Promise<void> }[] = [
      { name: `${fmtBytes(RANDOM_BYTES)} random in 16 MiB files`, make: (d) => randomFiles(d, RANDOM_BYTES / (16 * MiB), 16 * MiB) },
      { name: `${SMALL_FILES} random files of ${fmtBytes(SMALL_SIZE)}`, make: (d) => randomFiles(d, SMALL_FILES, SMALL_SIZE) },
    ];
    let n = 0;
    for (const kind of kinds) {
      const dir = join(scratch, "random");
      await kind.make(dir);
      const times = { on: [] as number[], off: [] as number[] };
      // One untimed push first: the first push after writing the files pays for warming up.
      n++;
      await check(
        await strataPush(
          {
            databaseUrl: await cluster.database(`random_${n}`),
            store: `file://${join(scratch, `store-${n}`)}`,
            home: join(scratch, `home-${n}`),
          },
          dir,
          "random",
        ),
        "random push (warm-up)",
      );
      await rm(join(scratch, `store-${n}`), { recursive: true, force: true });
      for (let round = 0; round < ROUNDS; round++)
        for (const mode of round % 2 === 0 ? (["on", "off"] as const) : (["off", "on"] as const)) {
          n++;
          const t: StrataTarget = {
            databaseUrl: await cluster.database(`random_${n}`),
            store: `file://${join(scratch, `store-${n}`)}`,
            home: join(scratch, `home-${n}`),
            env: { STRATA_COMPRESSION: mode },
          };
          times[mode].push(await check(await strataPush(t, dir, "random"), `random push (${mode})`));
          await rm(join(scratch, `store-${n}`), { recursive: true, force: true });
        }
      randomRows.push({ data: kind.name, onSeconds: times.on, offSeconds: times.off, slowdown: median(times.on) / median(times.off) });
      await rm(dir, { recursive: true, force: true });
    }
  } finally {
    await cluster.stop();
    if (process.env.BENCH_KEEP !== "1") await rm(scratch, { recursive: true, force: true });
  }

  const strata = tools[0]!;
  const compressionCost = strata.pushSeconds! / off!.pushSeconds!;
  const ratios = Object.fromEntries(
    tools.slice(1).map((t) => [t.tool, t.storedBytes === null ? null : strata.storedBytes! / t.storedBytes]),
  ) as Record<string, number | null>;
  const timeRatios = Object.fromEntries(
    tools.slice(1).map((t) => [t.tool, t.pushSeconds === null || t.pushSeconds === 0 ? null : strata.pushSeconds! / t.pushSeconds]),
  ) as Record<string, number | null>;
  console.log(
    `\ncompress: ${VERSIONS} versions of a compressible dataset (CSV, JSON Lines, text, float32 signals), ${fmtBytes(DATASET_BYTES)} at v1; ${fmtBytes(rawPushed)} pushed in all (each version whole), ${fmtBytes(strataRaw)} of new chunk bytes for strata`,
  );
  console.log(`${"tool".padEnd(32)} ${"stored".padStart(11)} ${"push s".padStart(8)}  defaults`);
  for (const t of [...tools, off!])
    console.log(
      `${t.tool.padEnd(32)} ${(t.storedBytes === null ? "n/a" : fmtBytes(t.storedBytes)).padStart(11)} ${(t.pushSeconds === null ? "n/a" : t.pushSeconds.toFixed(1)).padStart(8)}  ${t.error ?? t.defaults}`,
    );
  console.log(
    `strata's push time with compression / without: ${compressionCost.toFixed(3)}; stored with / without: ${(strata.storedBytes! / off!.storedBytes!).toFixed(3)}`,
  );
  console.log(`strata's database: ${fmtBytes(databaseBytes)} (schema strata's tables and indexes), not in the stored bytes above`);
  for (const k of Object.keys(ratios))
    console.log(`stored strata/${k}: ${fmtRatio(ratios[k]!)} (target <= 1); push time strata/${k}: ${fmtRatio(timeRatios[k] ?? null)}`);
  for (const r of randomRows)
    console.log(
      `incompressible (${r.data}): push with compression ${median(r.onSeconds).toFixed(2)} s, STRATA_COMPRESSION=off ${median(r.offSeconds).toFixed(2)} s (medians of ${ROUNDS}, alternating): slowdown ${r.slowdown.toFixed(3)} (target <= 1.10)`,
    );
  const dir = fileURLToPath(new URL("./results/", import.meta.url));
  await mkdir(dir, { recursive: true });
  const file = join(dir, quick ? "compress-latest-quick.json" : "compress-latest.json");
  await writeFile(
    file,
    `${JSON.stringify(
      {
        at: new Date().toISOString(),
        quick,
        versions: VERSIONS,
        datasetBytes: DATASET_BYTES,
        rawBytesPushed: rawPushed,
        strataNewChunkBytes: strataRaw,
        strataDatabaseBytes: databaseBytes,
        tools,
        strataCompressionOff: off,
        strataPushTimeOnOverOff: compressionCost,
        storedRatios: ratios,
        pushTimeRatios: timeRatios,
        incompressible: randomRows,
        peers: { restic: peers.restic, borg: peers.borg, notes: peers.notes },
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nresults: ${relative(process.cwd(), file)}`);
}

async function randomFiles(dir: string, count: number, size: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < count; i++) {
    const sub = join(dir, `d${Math.floor(i / 1000)}`);
    if (i % 1000 === 0) await mkdir(sub, { recursive: true });
    await writeRandomFile(join(sub, `f${i}.bin`), size, 7000 + i);
  }
}

await main();
