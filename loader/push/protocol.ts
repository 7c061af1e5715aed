// Every SQL call a push makes, in one place: the push protocol as the loader speaks it.

import type pg from "pg";
import { DEFAULT_CHUNK_PARAMS, type ChunkParams } from "../chunk/params.js";
import { fromDatabaseError, StrataError } from "../errors.js";
import type { Session } from "../session.js";
import { Sqlstate } from "../../stored/errors.js";
import { versionInfo, type VersionInfo } from "../versions.js";
import type { Tree } from "./tree.js";
import { recordTabularRows, type TabularRows } from "./tabular.js";

/** Hashes per missing_* call, and rows per staging insert. */
const BATCH = 5000;

/** File contents as committed: SHA-256 of the file, size, its chunk hashes back to back. */
export interface BlobRecord {
  hash: Buffer;
  size: number;
  chunks: Buffer;
}

export interface CommitRequest {
  dataset: string;
  root: Tree;
  trees: Tree[];
  blobs: BlobRecord[];
  /** Hex hashes of the chunks this push stored first. */
  newChunks: string[];
  tabularRows: TabularRows[];
  parent?: string | undefined;
  tag?: string | undefined;
  message?: string | undefined;
  /** A JSON object or its text. */
  metadata?: Record<string, unknown> | string | undefined;
}

/** Fail before any upload when the tag is taken or the parent does not exist. */
export async function precheck(s: Session, dataset: string, tag: string | undefined, parent: string | undefined): Promise<void> {
  if (tag !== undefined) {
    const taken = await s.query(
      "select 1 from strata.versions v join strata.datasets d on d.id = v.dataset_id where d.name = $1 and v.tag = $2",
      [dataset, tag],
    );
    if (taken.length) throw new StrataError(`dataset "${dataset}" already has a version "${tag}"`, "conflict");
  }
  if (parent !== undefined) await s.query("select 1 from strata.version($1, $2)", [dataset, parent]);
}

/** The version a push would follow: `parent`, else the dataset's latest; undefined for a new dataset. */
export async function parentOf(s: Session, dataset: string, parent: string | undefined): Promise<VersionInfo | undefined> {
  const rows = await s.query<Record<string, unknown>>(
    "select * from strata.v_versions where dataset = $1 and ($2::text is null or tag = $2) order by seq desc limit 1",
    [dataset, parent ?? null],
  );
  return rows[0] === undefined ? undefined : versionInfo(rows[0]);
}

/** The dataset's chunk sizes (the defaults for a dataset the push will create). */
export async function chunkParams(s: Session, dataset: string): Promise<ChunkParams> {
  const rows = await s.query<{ chunking: { min: number; avg: number; max: number } }>(
    "select chunking from strata.datasets where name = $1",
    [dataset],
  );
  const c = rows[0]?.chunking;
  return c ? { minSize: c.min, avgSize: c.avg, maxSize: c.max } : { ...DEFAULT_CHUNK_PARAMS };
}

/** The hashes among `hashes` that the database lacks (chunks, file contents or trees). */
export async function missingHashes(
  s: Session,
  fn: "missing_chunks" | "missing_blobs" | "missing_trees",
  hashes: Buffer[],
): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = 0; i < hashes.length; i += BATCH * 4) {
    const rows = await s.query<{ h: Buffer }>(`select h from strata.${fn}($1::bytea[]) h`, [hashes.slice(i, i + BATCH * 4)]);
    for (const r of rows) out.push(r.h);
  }
  return out;
}

/** Record a stored pack and its chunks. */
export async function registerPack(
  s: Session,
  pack: Buffer,
  size: number,
  hashes: Buffer[],
  offsets: number[],
  sizes: number[],
): Promise<void> {
  await s.query("select strata.register_pack($1, $2, $3::bytea[], $4::bigint[], $5::int[])", [pack, size, hashes, offsets, sizes]);
}

/** Stage what the database lacks of the version's trees and contents, then commit it, in one transaction. */
export async function commitVersion(s: Session, req: CommitRequest): Promise<VersionInfo> {
  const missingTrees = new Set(
    (
      await missingHashes(
        s,
        "missing_trees",
        req.trees.map((t) => t.hash),
      )
    ).map((h) => h.toString("hex")),
  );
  const missingBlobs = new Set(
    (
      await missingHashes(
        s,
        "missing_blobs",
        req.blobs.map((b) => b.hash),
      )
    ).map((h) => h.toString("hex")),
  );
  const stagedTrees = req.trees.filter((t) => missingTrees.has(t.hash.toString("hex")));
  const stagedBlobs = req.blobs.filter((b) => missingBlobs.has(b.hash.toString("hex")));

  const client = await s.pool.connect();
  try {
    await client.query("begin");
    await ensureDataset(client, req.dataset);
    await client.query("select strata.stage_commit()");
    await insertBatches(stagedBlobs, (b) =>
      client.query("insert into pg_temp.strata_stage_blobs select * from unnest($1::bytea[], $2::bigint[], $3::bytea[])", [
        b.map((x) => x.hash),
        b.map((x) => x.size),
        b.map((x) => x.chunks),
      ]),
    );
    await insertBatches(stagedTrees, (t) =>
      client.query("insert into pg_temp.strata_stage_trees select * from unnest($1::bytea[], $2::int[], $3::bigint[], $4::bigint[])", [
        t.map((x) => x.hash),
        t.map((x) => x.entries.length),
        t.map((x) => x.fileCount),
        t.map((x) => x.size),
      ]),
    );
    const entries = stagedTrees.flatMap((t) => t.entries.map((e) => ({ tree: t.hash, ...e })));
    await insertBatches(entries, (e) =>
      client.query(
        "insert into pg_temp.strata_stage_entries select * from unnest($1::bytea[], $2::text[], $3::text[], $4::bytea[], $5::bigint[], $6::text[])",
        [
          e.map((x) => x.tree),
          e.map((x) => x.name),
          e.map((x) => x.kind),
          e.map((x) => x.hash),
          e.map((x) => x.size),
          e.map((x) => x.target ?? null),
        ],
      ),
    );
    await insertBatches(req.newChunks, (k) =>
      client.query("insert into pg_temp.strata_stage_new_chunks select * from unnest($1::bytea[]) on conflict do nothing", [
        k.map((x) => Buffer.from(x, "hex")),
      ]),
    );
    const { rows } = await client.query<Record<string, unknown>>("select * from strata.commit_version($1, $2, $3, $4, $5, $6)", [
      req.dataset,
      req.root.hash,
      req.parent ?? null,
      req.tag ?? null,
      req.message ?? null,
      req.metadata === undefined ? null : typeof req.metadata === "string" ? req.metadata : JSON.stringify(req.metadata),
    ]);
    await recordTabularRows(client, req.tabularRows);
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
