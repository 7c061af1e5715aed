// Every SQL call a push makes, in one place: the push protocol as the loader speaks it
// (docs/push-protocol.md has it as plain SQL). Contents and trees are put in batches,
// each verified by the database as it arrives; the commit then names a stored root.

import type { ChunkParams } from "../chunk/params.js";
import type { Session } from "../session.js";
import { type ModelVersionInfo, modelVersionInfo } from "../registry/info.js";
import { type VersionInfo, versionInfo } from "../versions.js";
import type { KnownChunk } from "./dedup.js";
import type { LazyTree, Tree, TreeHead } from "./tree.js";

/** Hashes per missing_* call. */
const HASH_BATCH = 20_000;
/** File contents per put_blobs call, and tree entries per put_trees call. */
const PUT_BATCH = 20_000;

/** File contents as committed: SHA-256 of the file, size, its chunk hashes back to back. */
export interface BlobRecord {
  hash: Buffer;
  size: number;
  chunks: Buffer;
}

export interface Begun {
  push: number;
  params: ChunkParams;
}

/** Open a push: the tag is free and not reserved, the parent exists; the dataset's chunk sizes. */
export async function pushBegin(s: Session, dataset: string, parent: string | undefined, tag: string | undefined): Promise<Begun> {
  const [r] = await s.query<{ push: number; chunk_min: number; chunk_avg: number; chunk_max: number }>(
    "select * from strata.push_begin($1, $2, $3)",
    [dataset, parent ?? null, tag ?? null],
  );
  return { push: r!.push, params: { minSize: r!.chunk_min, avgSize: r!.chunk_avg, maxSize: r!.chunk_max } };
}

/** Open a push of a model version: the chunk sizes of model pushes. */
export async function modelPushBegin(s: Session, model: string): Promise<Begun> {
  const [r] = await s.query<{ push: number; chunk_min: number; chunk_avg: number; chunk_max: number }>(
    "select * from strata.model_push_begin($1)",
    [model],
  );
  return { push: r!.push, params: { minSize: r!.chunk_min, avgSize: r!.chunk_avg, maxSize: r!.chunk_max } };
}

/** The version a push would follow: `parent`, else the dataset's latest; undefined for a new dataset. */
export async function parentOf(s: Session, dataset: string, parent: string | undefined): Promise<VersionInfo | undefined> {
  const rows = await s.query<Record<string, unknown>>(
    "select * from strata.v_versions where dataset = $1 and ($2::text is null or tag = $2) and state = 'committed' order by seq desc limit 1",
    [dataset, parent ?? null],
  );
  return rows[0] === undefined ? undefined : versionInfo(rows[0]);
}

/** The hashes among `hashes` that the database lacks (chunks, file contents, trees, or row hashes). */
export async function missingHashes(
  s: Session,
  fn: "missing_chunks" | "missing_blobs" | "missing_trees" | "missing_row_hashes" | "unsound_blobs",
  hashes: Buffer[],
): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = 0; i < hashes.length; i += HASH_BATCH) {
    const rows = await s.query<{ h: Buffer }>(`select h from strata.${fn}($1::bytea[]) h`, [hashes.slice(i, i + HASH_BATCH)]);
    for (const r of rows) out.push(r.h);
  }
  return out;
}

/** The chunks among `hashes` stored in sound packs, with their pack and its recorded size. */
export async function knownChunks(s: Session, hashes: Buffer[]): Promise<KnownChunk[]> {
  const out: KnownChunk[] = [];
  for (let i = 0; i < hashes.length; i += HASH_BATCH) {
    const rows = await s.query<{ chunk: Buffer; pack: Buffer; pack_size: number }>("select * from strata.known_chunks($1::bytea[])", [
      hashes.slice(i, i + HASH_BATCH),
    ]);
    for (const r of rows) out.push({ chunk: r.chunk, pack: r.pack, packSize: r.pack_size });
  }
  return out;
}

/** Report packs that are not in the store as recorded: their chunks count as missing. */
export async function markDamaged(s: Session, packs: Buffer[], reason: string): Promise<void> {
  await s.query("select strata.mark_damaged_packs($1::bytea[], $2)", [packs, reason]);
}

/** Record a stored pack and its chunks; the push counts the new ones. */
export async function registerPack(
  s: Session,
  push: number,
  pack: Buffer,
  size: number,
  hashes: Buffer[],
  offsets: number[],
  sizes: number[],
  storedSizes?: number[],
  codecs?: number[],
): Promise<void> {
  await s.query("select strata.register_pack($1, $2, $3::bytea[], $4::bigint[], $5::int[], $6, $7::int[], $8::smallint[])", [
    pack,
    size,
    hashes,
    offsets,
    sizes,
    push,
    storedSizes ?? sizes,
    codecs ?? sizes.map(() => 0),
  ]);
}

/**
 * Put file contents in batches (so a million contents are never listed at once); the
 * database skips those it has, so nothing asks which are missing first.
 */
export async function putBlobs(s: Session, blobs: Iterable<BlobRecord>): Promise<void> {
  const send = async (batch: BlobRecord[]): Promise<void> => {
    await s.query("select strata.put_blobs($1::bytea[], $2::bigint[], $3::bytea[])", [
      batch.map((b) => b.hash),
      batch.map((b) => b.size),
      batch.map((b) => b.chunks),
    ]);
  };
  let batch: BlobRecord[] = [];
  for (const b of blobs) {
    batch.push(b);
    if (batch.length >= PUT_BATCH) {
      await send(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await send(batch);
}

/**
 * Put the trees the database lacks, children before parents (as buildTrees lists them),
 * in batches of about PUT_BATCH entries: a batch names only trees stored by earlier ones
 * or in itself. A lazy tree's entries are made only when it is sent.
 */
export async function putTrees(s: Session, trees: readonly (Tree | LazyTree)[]): Promise<void> {
  const missing = new Set(
    (
      await missingHashes(
        s,
        "missing_trees",
        trees.map((t) => t.hash),
      )
    ).map((h) => h.toString("hex")),
  );
  let batch: Tree[] = [];
  let entries = 0;
  const send = async (): Promise<void> => {
    if (batch.length === 0) return;
    const e = batch.flatMap((t, i) => t.entries.map((x) => ({ tree: i + 1, ...x })));
    await s.query(
      "select strata.put_trees($1::bytea[], $2::bigint[], $3::bigint[], $4::int[], $5::text[], $6::text[], $7::boolean[], $8::bytea[], $9::bigint[], $10::text[])",
      [
        batch.map((t) => t.hash),
        batch.map((t) => t.fileCount),
        batch.map((t) => t.size),
        e.map((x) => x.tree),
        e.map((x) => x.name),
        e.map((x) => x.kind),
        e.map((x) => x.executable === true),
        e.map((x) => x.hash),
        e.map((x) => x.size),
        e.map((x) => x.target ?? null),
      ],
    );
    batch = [];
    entries = 0;
  };
  for (const t of trees) {
    if (!missing.has(t.hash.toString("hex"))) continue;
    const tree: Tree = typeof t.entries === "function" ? { ...t, entries: t.entries() } : (t as Tree);
    if (entries > 0 && entries + tree.entries.length > PUT_BATCH) await send();
    batch.push(tree);
    entries += tree.entries.length;
  }
  await send();
}

export interface CommitRequest {
  dataset: string;
  push: number;
  root: TreeHead;
  parent?: string | undefined;
  tag?: string | undefined;
  message?: string | undefined;
  /** A JSON object or its text. */
  metadata?: Record<string, unknown> | string | undefined;
  /** Versions of other datasets it was made from ("dataset@tag"), recorded as lineage. */
  derivedFrom?: string[] | undefined;
}

function metadataText(m: Record<string, unknown> | string | undefined): string | null {
  return m === undefined ? null : typeof m === "string" ? m : JSON.stringify(m);
}

/** Make the stored root a version (its trees put, its row hashes recorded). */
export async function commitVersion(s: Session, req: CommitRequest): Promise<VersionInfo> {
  const rows = await s.query<Record<string, unknown>>("select * from strata.commit_version($1, $2, $3, $4, $5, $6, $7, $8::text[])", [
    req.dataset,
    req.root.hash,
    req.parent ?? null,
    req.tag ?? null,
    req.message ?? null,
    metadataText(req.metadata),
    req.push,
    req.derivedFrom && req.derivedFrom.length > 0 ? req.derivedFrom : null,
  ]);
  return versionInfo(rows[0]!);
}

export interface ModelCommitRequest {
  model: string;
  push: number;
  root: TreeHead;
  /** The run (UUID) that produced it. */
  run?: string | undefined;
  message?: string | undefined;
  metadata?: Record<string, unknown> | string | undefined;
}

/** Make the stored root the next version of a model. */
export async function commitModelVersion(s: Session, req: ModelCommitRequest): Promise<ModelVersionInfo> {
  const rows = await s.query<Record<string, unknown>>("select * from strata.commit_model_version($1, $2, $3, $4, $5, $6)", [
    req.model,
    req.root.hash,
    req.run ?? null,
    req.message ?? null,
    metadataText(req.metadata),
    req.push,
  ]);
  return modelVersionInfo(rows[0]!);
}
