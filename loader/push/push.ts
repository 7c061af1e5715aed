// push: turn a folder (or one file) into a new immutable version. Files are walked,
// unchanged ones taken from the local index, the rest chunked and hashed; chunks the
// database lacks are packed and uploaded, then the file contents and trees that are
// new are staged and committed in one transaction. Nothing is visible until that
// commit; a re-run after a crash uploads only what is still missing.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type pg from "pg";
import { chunkFiles } from "../chunk/files.js";
import { DEFAULT_CHUNK_PARAMS, type ChunkParams } from "../chunk/params.js";
import { fromDatabaseError, StrataError } from "../errors.js";
import type { ObjectStore } from "../store/index.js";
import { Sqlstate } from "../../stored/errors.js";
import type { Strata, VersionInfo } from "../strata.js";
import { ChunkDedup } from "./dedup.js";
import { FileIndex } from "./file-index.js";
import { isTabular, recordTabularRows, tabularRowsOf, type ReadFile, type TabularRows } from "./tabular.js";
import { Packer } from "./packer.js";
import { buildTrees, symlinkHash, type FileRecord, type Tree } from "./tree.js";
import { inputError, walkInput, type InputFile } from "./walk.js";

export interface PushOptions {
  dataset: string;
  tag?: string;
  /** Tag of the parent version; default: the dataset's latest. */
  parent?: string;
  message?: string;
  metadata?: Record<string, unknown>;
  /** Skip unchanged files using the local index under this home (default: no index). */
  indexHome?: string;
  /** Read every file even when the index says it is unchanged (the index is still rewritten). */
  rereadAll?: boolean;
  packSize?: number;
  onProgress?: (p: PushProgress) => void;
}

export interface PushProgress {
  files: number;
  filesTotal: number;
  bytes: number;
  bytesTotal: number;
  /** Bytes of chunks the store did not have, so far. */
  newBytes: number;
}

export interface PushResult {
  version: VersionInfo;
  files: number;
  bytes: number;
  /** Files whose hash came from the local index, unread. */
  unchangedFiles: number;
  chunks: number;
  newChunks: number;
  newBytes: number;
  packs: number;
}

interface Blob {
  hash: Buffer;
  size: number;
  chunks: Buffer;
}

const BATCH = 5000;

export async function push(strata: Strata, store: ObjectStore, input: string, opts: PushOptions): Promise<PushResult> {
  const root = resolve(input);
  await precheck(strata, opts);
  const files = walkInput(root);
  const params = await chunkParams(strata, opts.dataset);
  const index = opts.indexHome ? await FileIndex.load(opts.indexHome, opts.dataset, root) : undefined;
  await store.check();

  const packer = new Packer(store, { registerPack: (p, s, h, o, z) => registerPack(strata, p, s, h, o, z) }, { packSize: opts.packSize });
  const dedup = new ChunkDedup({ missingChunks: (h) => missingHashes(strata, "missing_chunks", h) }, packer);
  const records: FileRecord[] = [];
  const blobs = new Map<string, Blob>();
  const progress: PushProgress = {
    files: 0,
    filesTotal: files.length,
    bytes: 0,
    bytesTotal: files.reduce((n, f) => n + f.size, 0),
    newBytes: 0,
  };
  let unchangedFiles = 0;

  // Unchanged files (same size, mtime and inode as last time) and symlinks need no reading.
  const toRead: InputFile[] = [];
  for (const f of files) {
    const known = f.kind === "file" && !opts.rereadAll ? index?.lookup(f) : undefined;
    if (f.kind === "symlink") {
      records.push({ path: f.path, kind: "symlink", hash: symlinkHash(f.target!), size: 0, target: f.target });
    } else if (known) {
      records.push({ path: f.path, kind: "file", hash: known, size: f.size });
      index!.record(f, known);
      unchangedFiles++;
    } else {
      toRead.push(f);
      continue;
    }
    progress.files++;
  }
  const tabular: ReadFile[] = [];
  const fileDone = (f: InputFile, hash: Buffer, size: number, chunkHashes: Buffer[]): void => {
    const key = hash.toString("hex");
    if (!blobs.has(key)) blobs.set(key, { hash, size, chunks: chunkHashes.length === 1 ? chunkHashes[0]! : Buffer.concat(chunkHashes) });
    index?.record(f, hash);
    records.push({ path: f.path, kind: "file", hash, size });
    if (isTabular(f.path)) tabular.push({ abs: f.abs, path: f.path, hash });
    progress.files++;
    opts.onProgress?.(progress);
  };

  // Files no larger than the smallest chunk are one chunk whose hash is the file's:
  // read each with one synchronous call (far cheaper per file than the async path)
  // and hash it once. The rest stream through the chunker in one ordered pass.
  const large: InputFile[] = [];
  for (const f of toRead) {
    if (f.size > params.minSize) {
      large.push(f);
      continue;
    }
    let data: Buffer;
    try {
      data = readFileSync(f.abs);
    } catch (e) {
      throw inputError(f.abs, e);
    }
    if (data.length > params.minSize) {
      large.push(f); // it grew since the walk
      continue;
    }
    const hash = createHash("sha256").update(data).digest();
    if (data.length > 0) await dedup.add(hash, data);
    progress.bytes += data.length;
    progress.newBytes = dedup.stats.newBytes;
    fileDone(f, hash, data.length, data.length > 0 ? [hash] : []);
  }

  let current = 0;
  let chunkHashes: Buffer[] = [];
  try {
    for await (const ev of chunkFiles(large.map((f) => f.abs), params)) {
      if (ev.kind === "chunk") {
        chunkHashes.push(ev.sha256);
        await dedup.add(ev.sha256, ev.data);
        progress.bytes += ev.length;
        progress.newBytes = dedup.stats.newBytes;
        opts.onProgress?.(progress);
      } else {
        fileDone(large[current++]!, ev.sha256, ev.size, chunkHashes);
        chunkHashes = [];
      }
    }
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code) throw inputError((e as { path?: string }).path ?? large[current]?.abs ?? root, e);
    throw e;
  }
  await dedup.drain();
  await packer.flush();

  const { root: rootTree, trees } = buildTrees(records);
  let version: VersionInfo;
  try {
    const rows = await tabularRowsOf(strata, tabular);
    version = await commit(strata, opts, rootTree, trees, [...blobs.values()], [...dedup.packed], rows);
  } catch (e) {
    // Contents taken from a stale index (another database, collected data) are missing:
    // read every file again once.
    if (unchangedFiles > 0 && (e as { cause?: { code?: string } }).cause?.code === Sqlstate.missingObject)
      return push(strata, store, input, { ...opts, rereadAll: true });
    throw e;
  }
  await index?.save();
  return {
    version,
    files: files.length,
    bytes: progress.bytesTotal,
    unchangedFiles,
    chunks: dedup.stats.chunks,
    newChunks: dedup.stats.newChunks,
    newBytes: dedup.stats.newBytes,
    packs: packer.stats.packs,
  };
}

/** Fail before any upload when the tag is taken or the parent does not exist. */
async function precheck(strata: Strata, opts: PushOptions): Promise<void> {
  if (opts.tag !== undefined) {
    const taken = await strata.query(
      "select 1 from strata.versions v join strata.datasets d on d.id = v.dataset_id where d.name = $1 and v.tag = $2",
      [opts.dataset, opts.tag],
    );
    if (taken.length) throw new StrataError(`dataset "${opts.dataset}" already has a version "${opts.tag}"`, "conflict");
  }
  if (opts.parent !== undefined) await strata.query("select 1 from strata.version($1, $2)", [opts.dataset, opts.parent]);
}

async function chunkParams(strata: Strata, dataset: string): Promise<ChunkParams> {
  const rows = await strata.query<{ chunking: { min: number; avg: number; max: number } }>(
    "select chunking from strata.datasets where name = $1",
    [dataset],
  );
  const c = rows[0]?.chunking;
  return c ? { minSize: c.min, avgSize: c.avg, maxSize: c.max } : { ...DEFAULT_CHUNK_PARAMS };
}

async function missingHashes(strata: Strata, fn: "missing_chunks" | "missing_blobs" | "missing_trees", hashes: Buffer[]): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = 0; i < hashes.length; i += BATCH * 4) {
    const rows = await strata.query<{ h: Buffer }>(`select h from strata.${fn}($1::bytea[]) h`, [hashes.slice(i, i + BATCH * 4)]);
    for (const r of rows) out.push(r.h);
  }
  return out;
}

async function registerPack(strata: Strata, pack: Buffer, size: number, hashes: Buffer[], offsets: number[], sizes: number[]): Promise<void> {
  await strata.query("select strata.register_pack($1, $2, $3::bytea[], $4::bigint[], $5::int[])", [pack, size, hashes, offsets, sizes]);
}

async function commit(
  strata: Strata,
  opts: PushOptions,
  rootTree: Tree,
  trees: Tree[],
  blobs: Blob[],
  newChunkKeys: string[],
  tabularRows: TabularRows[],
): Promise<VersionInfo> {
  const missingTrees = new Set((await missingHashes(strata, "missing_trees", trees.map((t) => t.hash))).map((h) => h.toString("hex")));
  const missingBlobs = new Set((await missingHashes(strata, "missing_blobs", blobs.map((b) => b.hash))).map((h) => h.toString("hex")));
  const stagedTrees = trees.filter((t) => missingTrees.has(t.hash.toString("hex")));
  const stagedBlobs = blobs.filter((b) => missingBlobs.has(b.hash.toString("hex")));

  const client = await strata.pool.connect();
  try {
    await client.query("begin");
    await ensureDataset(client, opts.dataset);
    await client.query("select strata.stage_commit()");
    await insertBatches(stagedBlobs, (b) =>
      client.query("insert into pg_temp.strata_stage_blobs select * from unnest($1::bytea[], $2::bigint[], $3::bytea[])", [
        b.map((x) => x.hash), b.map((x) => x.size), b.map((x) => x.chunks),
      ]));
    await insertBatches(stagedTrees, (t) =>
      client.query("insert into pg_temp.strata_stage_trees select * from unnest($1::bytea[], $2::int[], $3::bigint[], $4::bigint[])", [
        t.map((x) => x.hash), t.map((x) => x.entries.length), t.map((x) => x.fileCount), t.map((x) => x.size),
      ]));
    const entries = stagedTrees.flatMap((t) => t.entries.map((e) => ({ tree: t.hash, ...e })));
    await insertBatches(entries, (e) =>
      client.query(
        "insert into pg_temp.strata_stage_entries select * from unnest($1::bytea[], $2::text[], $3::text[], $4::bytea[], $5::bigint[], $6::text[])",
        [e.map((x) => x.tree), e.map((x) => x.name), e.map((x) => x.kind), e.map((x) => x.hash), e.map((x) => x.size), e.map((x) => x.target ?? null)],
      ));
    await insertBatches(newChunkKeys, (k) =>
      client.query("insert into pg_temp.strata_stage_new_chunks select * from unnest($1::bytea[]) on conflict do nothing", [
        k.map((x) => Buffer.from(x, "hex")),
      ]));
    const { rows } = await client.query<Record<string, unknown>>("select * from strata.commit_version($1, $2, $3, $4, $5, $6)", [
      opts.dataset, rootTree.hash, opts.parent ?? null, opts.tag ?? null, opts.message ?? null,
      opts.metadata ? JSON.stringify(opts.metadata) : null,
    ]);
    await recordTabularRows(client, tabularRows);
    await client.query("commit");
    return versionInfo(rows[0]!);
  } catch (e) {
    await client.query("rollback").catch(() => {});
    throw fromDatabaseError(e);
  } finally {
    client.release();
  }
}

async function ensureDataset(client: pg.PoolClient, name: string): Promise<void> {
  const { rowCount } = await client.query("select 1 from strata.datasets where name = $1", [name]);
  if (rowCount) return;
  await client.query("savepoint create_dataset");
  try {
    await client.query("select strata.create_dataset($1)", [name]);
  } catch (e) {
    // a concurrent push created it first
    if ((e as { code?: string }).code !== Sqlstate.datasetExists) throw e;
    await client.query("rollback to savepoint create_dataset");
  }
}

async function insertBatches<T>(items: T[], insert: (batch: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += BATCH) await insert(items.slice(i, i + BATCH));
}

export function versionInfo(r: Record<string, unknown>): VersionInfo {
  return {
    id: r.id as number,
    dataset: r.dataset as string,
    seq: r.seq as number,
    tag: r.tag as string,
    parentTag: r.parent_tag as string | null,
    contentHash: r.content_hash as string,
    fileCount: r.file_count as number,
    size: r.size as number,
    newBytes: r.new_bytes as number,
    message: r.message as string | null,
    metadata: r.metadata as Record<string, unknown>,
    author: r.author as string,
    createdAt: r.created_at as Date,
  };
}
