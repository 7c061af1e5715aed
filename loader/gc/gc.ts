// gc, the loader's half: the database plans (stored/gc.ts); this lists the store, copies
// the live chunks of sparse packs into new ones, deletes objects, and tells the database
// what it did. README.md ("Deleting and gc") says why it is safe to run while others push
// and check out. A dry run plans and lists the same way and changes nothing.
//
// Order of a run: begin (fix the cutoff) -> plan -> objects no row knows, older than the
// cutoff, and stale temp files -> repack (new packs stored and rows repointed before the
// old packs are marked) -> mark dying -> delete the dying packs' objects -> forget their
// rows -> finish. Killed anywhere, the next run finishes what this one marked.

import { createHash } from "node:crypto";
import type pg from "pg";
import { type Codec, decodeChunk, RAW, type StoredForm } from "../codec.js";
import { fromDatabaseError } from "../errors.js";
import { mergePacks } from "../packs.js";
import { eachLimited } from "../parallel.js";
import { Packer } from "../push/packer.js";
import type { Session } from "../session.js";
import { packKey, type StoreStats } from "../store/index.js";

export interface GcOptions {
  /** Plan and report, change nothing. */
  dryRun?: boolean;
  /** PostgreSQL interval text, at least an hour (default "24 hours"): younger packs and objects are kept. */
  grace?: string;
  /** Repack packs whose live bytes are below this fraction of their size (default 0.5; 0 never repacks). */
  repackBelow?: number;
  /** Also return the key of every object deleted or repacked (default: counts only, in bounded memory). */
  listKeys?: boolean;
  /** Packs read at once while repacking (default 4). */
  concurrency?: number;
  /** Seal new packs at this many bytes (default STRATA_PACK_SIZE, else 16 MiB). */
  packSize?: number;
}

export interface Tally {
  count: number;
  bytes: number;
}

export interface GcResult {
  run: number;
  dryRun: boolean;
  /** Packs and objects younger than this were left alone. */
  cutoff: Date;
  /** Pack objects deleted: the planned ones, and those a run that did not finish had marked. */
  deletedPacks: Tally;
  /** Packs whose live chunks were copied to new packs before they were deleted (counted in deletedPacks too). */
  repackedPacks: Tally;
  /** Live bytes copied, and the new packs holding them. */
  copied: Tally;
  newPacks: number;
  /** Objects under packs/ that no row knows (a killed push's), older than the cutoff. */
  unknownObjects: Tally;
  /** Half-written files of killed writers, older than the cutoff. */
  tempFiles: Tally;
  /** Rows dropped (zero in a dry run). */
  forgotten: { packs: number; chunks: number; blobs: number; trees: number };
  /** Bytes the store holds no more: deleted objects and temp files, less the copies written. */
  reclaimedBytes: number;
  /** Live chunks that did not match their hash when copied: their packs were kept (run strata fsck). */
  corruptChunks: number;
  /** Store requests the run made. */
  requests: StoreStats;
  /** With listKeys: the keys deleted (or, dry, to delete), repacked, and unknown. */
  keys?: { deleted: string[]; repacked: string[]; unknown: string[] };
}

const PAGE = 1000;
/** Keys per store.delete call (S3 DeleteObjects takes 1,000). */
const DELETE_BATCH = 1000;

interface PlanRow {
  pack_id: number;
  pack: Buffer;
  action: "delete" | "repack";
  size: number;
  live_bytes: number;
}

export async function gc(s: Session, opts: GcOptions = {}): Promise<GcResult> {
  await s.checkStore();
  const dryRun = opts.dryRun === true;
  // One connection for the run: the gc lock and the plan's temp tables are its session's.
  const client = await s.pool.connect();
  const q = async <R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> => {
    try {
      return (await client.query<R>(sql, params)).rows;
    } catch (e) {
      throw fromDatabaseError(e);
    }
  };
  let finished = false;
  try {
    const before = s.store.stats();
    const [begun] = await q<{ run: number; cutoff: Date }>("select * from strata.gc_begin($1::interval, $2, $3)", [
      opts.grace ?? "24 hours",
      opts.repackBelow ?? 0.5,
      dryRun,
    ]);
    const { run, cutoff } = begun!;
    const r: GcResult = {
      run,
      dryRun,
      cutoff,
      deletedPacks: { count: 0, bytes: 0 },
      repackedPacks: { count: 0, bytes: 0 },
      copied: { count: 0, bytes: 0 },
      newPacks: 0,
      unknownObjects: { count: 0, bytes: 0 },
      tempFiles: { count: 0, bytes: 0 },
      forgotten: { packs: 0, chunks: 0, blobs: 0, trees: 0 },
      reclaimedBytes: 0,
      corruptChunks: 0,
      requests: before,
      keys: opts.listKeys ? { deleted: [], repacked: [], unknown: [] } : undefined,
    };
    await q("select * from strata.gc_plan($1)", [run]);
    await sweepUnknown(s, r, dryRun);
    const temps = await s.store.sweepTemps(cutoff, dryRun);
    r.tempFiles = { count: temps.files, bytes: temps.bytes };

    if (dryRun) {
      for await (const p of pages<PlanRow>(q, "gc_plan_page", run)) {
        if (p.action === "repack") {
          tally(r.repackedPacks, p.size);
          tally(r.copied, p.live_bytes);
          r.keys?.repacked.push(packKey(p.pack.toString("hex")));
        }
        tally(r.deletedPacks, p.size);
        r.keys?.deleted.push(packKey(p.pack.toString("hex")));
      }
      // A dry run copies nothing; the copies would take about the live bytes.
      for await (const p of pages<{ pack_id: number; pack: Buffer; size: number }>(q, "gc_dying_page", run)) countDeleted(r, p);
    } else {
      await repack(s, q, run, r, opts);
      await q("select * from strata.gc_mark($1)", [run]);
      for await (const page of pageBatches<{ pack_id: number; pack: Buffer; size: number }>(q, "gc_dying_page", run)) {
        await s.store.delete(page.map((p) => packKey(p.pack.toString("hex"))));
        for (const p of page) countDeleted(r, p);
      }
      const [f] = await q<{ pack_rows: number; chunk_rows: number; blob_rows: number; tree_rows: number }>(
        "select * from strata.gc_forget($1)",
        [run],
      );
      r.forgotten = { packs: f!.pack_rows, chunks: f!.chunk_rows, blobs: f!.blob_rows, trees: f!.tree_rows };
    }
    r.reclaimedBytes = r.deletedPacks.bytes + r.unknownObjects.bytes + r.tempFiles.bytes - r.copied.bytes;
    const after = s.store.stats();
    r.requests = { get: 0, put: 0, head: 0, list: 0, delete: 0 };
    for (const k of Object.keys(r.requests) as (keyof StoreStats)[]) r.requests[k] = after[k] - before[k];
    const { keys: _keys, ...summary } = r;
    await q("select strata.gc_finish($1, $2)", [run, JSON.stringify(summary)]);
    finished = true;
    return r;
  } finally {
    // A run that failed holds the gc lock on this connection: close it to free the lock.
    client.release(!finished);
  }
}

function tally(t: Tally, bytes: number): void {
  t.count++;
  t.bytes += Number(bytes);
}

function countDeleted(r: GcResult, p: { pack: Buffer; size: number }): void {
  tally(r.deletedPacks, p.size);
  r.keys?.deleted.push(packKey(p.pack.toString("hex")));
}

type Query = <R extends pg.QueryResultRow>(sql: string, params?: unknown[]) => Promise<R[]>;

/** The rows of a paged gc function (gc_plan_page, gc_dying_page), page by page. */
async function* pageBatches<R extends { pack_id: number }>(q: Query, fn: string, run: number): AsyncGenerator<R[]> {
  let after: number | null = null;
  for (;;) {
    const rows: R[] = await q<R>(`select * from strata.${fn}($1, $2, $3)`, [run, after, PAGE]);
    if (rows.length > 0) yield rows;
    if (rows.length < PAGE) return;
    after = rows[rows.length - 1]!.pack_id;
  }
}

async function* pages<R extends { pack_id: number }>(q: Query, fn: string, run: number): AsyncGenerator<R> {
  for await (const page of pageBatches<R>(q, fn, run)) yield* page;
}

/** Objects under packs/ that no row knows and that are older than the cutoff: deleted (unless dry), in batches. */
async function sweepUnknown(s: Session, r: GcResult, dryRun: boolean): Promise<void> {
  let batch: string[] = [];
  const flush = async () => {
    if (!dryRun && batch.length > 0) await s.store.delete(batch);
    batch = [];
  };
  for await (const { object, row } of mergePacks(s)) {
    if (object === undefined || row !== undefined || object.modified >= r.cutoff) continue;
    const key = packKey(object.hex);
    tally(r.unknownObjects, object.size);
    r.keys?.unknown.push(key);
    batch.push(key);
    if (batch.length >= DELETE_BATCH) await flush();
  }
  await flush();
}

/**
 * Copy the live chunks of every pack planned for repacking into new packs, each chunk
 * verified against its hash; the database repoints their rows as each new pack is
 * registered. A chunk that does not verify is not copied, and its pack is kept.
 */
async function repack(s: Session, q: Query, run: number, r: GcResult, opts: GcOptions): Promise<void> {
  const packSize = opts.packSize ?? (process.env.STRATA_PACK_SIZE ? Number(process.env.STRATA_PACK_SIZE) : undefined);
  const packer = new Packer(
    s.store,
    {
      // gc_repack takes the stored sizes: the copies keep their codec.
      registerPack: async (pack, size, hashes, offsets, _sizes, storedSizes) => {
        await q("select strata.gc_repack($1, $2, $3, $4::bytea[], $5::bigint[], $6::int[])", [
          run,
          pack,
          size,
          hashes,
          offsets,
          storedSizes,
        ]);
        r.newPacks++;
      },
    },
    { salt: `gc:${run}`, packSize },
  );
  for await (const page of pageBatches<PlanRow>(q, "gc_plan_page", run)) {
    const sparse = page.filter((p) => p.action === "repack");
    if (sparse.length === 0) continue;
    const chunks = await q<{ pack_id: number; chunk: Buffer; pack_offset: number; size: number }>(
      "select * from strata.gc_live_chunks($1, $2::bigint[])",
      [run, sparse.map((p) => p.pack_id)],
    );
    const forms = await storedForms(
      q,
      chunks.map((c) => c.chunk),
    );
    const byPack = new Map<number, typeof chunks>();
    for (const c of chunks) byPack.set(c.pack_id, [...(byPack.get(c.pack_id) ?? []), c]);
    await eachLimited(sparse, opts.concurrency ?? 4, async (p) => {
      const live = byPack.get(p.pack_id) ?? [];
      const form = (c: (typeof live)[number]): StoredForm => forms.get(c.chunk.toString("hex")) ?? { size: c.size, codec: RAW };
      const data = await s.store.getRanges(
        packKey(p.pack.toString("hex")),
        live.map((c) => ({ offset: Number(c.pack_offset), length: form(c).size })),
      );
      for (const [i, c] of live.entries()) {
        // Copied as stored (never recompressed), once its raw bytes verify.
        const stored = data[i]!;
        const { codec } = form(c);
        const raw = await decodeChunk(stored, codec, c.size);
        if (raw === undefined || !createHash("sha256").update(raw).digest().equals(c.chunk)) {
          r.corruptChunks++;
          continue;
        }
        tally(r.copied, stored.length);
        await packer.addStored(c.chunk, c.size, { bytes: Buffer.from(stored), codec: codec as Codec });
      }
      tally(r.repackedPacks, p.size);
      r.keys?.repacked.push(packKey(p.pack.toString("hex")));
    });
  }
  await packer.flush();
}

/**
 * How these chunks are stored (strata.chunk_locations), by hex hash; gc_live_chunks gives
 * their raw size only. A row that moves meanwhile is not repointed (gc_repack checks).
 */
async function storedForms(q: Query, chunks: Buffer[]): Promise<Map<string, StoredForm>> {
  if (chunks.length === 0) return new Map();
  const rows = await q<{ chunk: Buffer; stored_size: number; codec: number }>(
    "select chunk, stored_size, codec from strata.chunk_locations($1::bytea[])",
    [chunks],
  );
  return new Map(rows.map((r) => [r.chunk.toString("hex"), { size: r.stored_size, codec: r.codec }]));
}
