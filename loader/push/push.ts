// push: turn a folder (or one file) into a new immutable version of a dataset, or of a
// model (pushModel: the same path, so models dedup against data). The stages: walk the
// input (walk.ts); read it, taking unchanged files from the local index and chunking
// the rest (read.ts); pack and upload the chunks the database lacks (dedup.ts,
// packer.ts), putting file contents as their chunks are registered (contents.ts) and each
// folder's Merkle tree once everything in it is stored (tree.ts, tree-sink.ts); then
// commit the version (protocol.ts). Nothing is
// visible until that commit; a re-run after a crash uploads only what is still missing.

import { resolve } from "node:path";
import { faultPoint } from "../fault.js";
import type { Session } from "../session.js";
import { version as findVersion, parseRef, type VersionInfo } from "../versions.js";
import { ContentSink } from "./contents.js";
import { ChunkDedup } from "./dedup.js";
import { FileIndex } from "./file-index.js";
import { Packer } from "./packer.js";
import type { ModelVersionInfo } from "../registry/info.js";
import {
  type Begun,
  commitModelVersion,
  commitVersion,
  knownChunks,
  markDamaged,
  missingHashes,
  modelPushBegin,
  parentOf,
  pushBegin,
  putBlobs,
  putTrees,
  registerPack,
} from "./protocol.js";
import { PackVerifier } from "./verify.js";
import { ReadResult, readInput } from "./read.js";
import { recordTabularRows, tabularRowsOf } from "./tabular.js";
import { InputTrees, type TreeHead } from "./tree.js";
import { TreeSink } from "./tree-sink.js";
import { walkInput } from "./walk.js";

/** What every push may be told, whatever it stores a version of. */
export interface CommonPushOptions {
  message?: string;
  /** A JSON object, or its text (kept exactly as given: PostgreSQL's jsonb keeps every digit of a number). */
  metadata?: Record<string, unknown> | string;
  /** Skip unchanged files using the local index under the session's home (default true). */
  useIndex?: boolean;
  /** Read every file even when the index says it is unchanged (the index is still rewritten). */
  rereadAll?: boolean;
  /** Seal packs at this many bytes (default STRATA_PACK_SIZE, else 16 MiB). */
  packSize?: number;
  onProgress?: (p: PushProgress) => void;
}

export interface PushOptions extends CommonPushOptions {
  dataset: string;
  tag?: string;
  /** Tag of the parent version; default: the dataset's latest. */
  parent?: string;
  /** Versions of other datasets it was made from ("dataset@tag"), recorded as lineage (derived_from). */
  from?: string[];
  /** Record a version even when nothing changed since the parent (default: return the parent). */
  allowEmpty?: boolean;
}

export interface ModelPushOptions extends CommonPushOptions {
  model: string;
  /** The run (UUID) that produced it: lineage model version --produced_by--> run. */
  run?: string;
}

export interface PushProgress {
  files: number;
  filesTotal: number;
  bytes: number;
  bytesTotal: number;
  /** Raw bytes of chunks the store did not have, so far (the result counts them as stored). */
  newBytes: number;
}

export interface PushStats {
  files: number;
  bytes: number;
  /** Files whose hash came from the local index, unread. */
  unchangedFiles: number;
  chunks: number;
  newChunks: number;
  /** Stored bytes of the new chunks (compressed where it paid), as the version's new_bytes. */
  newBytes: number;
  packs: number;
  /** Packs this push checked are in the store (one HEAD each, remembered in the home). */
  packChecks: number;
  /** Packs it found missing or of another size: reported damaged, their chunks uploaded again. */
  damagedPacks: number;
}

export interface PushResult extends PushStats {
  version: VersionInfo;
  /** Nothing changed since the parent: `version` is the parent, and no version was made. */
  unchanged: boolean;
}

export interface ModelPushResult extends PushStats {
  modelVersion: ModelVersionInfo;
}

/** Where a push puts its version: how it opens, whether it changed anything, how it commits. */
interface Target<R> {
  /** Names the local index of the pushed folder. */
  indexKey: string;
  begin(): Promise<Begun>;
  /** The result without a commit when the push changed nothing, else undefined. */
  unchanged(rootHex: string): Promise<R | undefined>;
  commit(push: number, root: TreeHead): Promise<R>;
}

export async function push(session: Session, input: string, opts: PushOptions): Promise<PushResult> {
  if (opts.from !== undefined) for (const ref of opts.from) await findVersion(session, parseRef(ref)); // named before anything is read
  return pushTo<PushResult>(session, input, opts, (stats) => ({
    indexKey: opts.dataset,
    begin: () => pushBegin(session, opts.dataset, opts.parent, opts.tag),
    unchanged: async (root) => {
      // The same tree as the parent and nothing the user asked to record: no new version.
      const asked =
        opts.allowEmpty ||
        opts.tag !== undefined ||
        opts.message !== undefined ||
        opts.metadata !== undefined ||
        (opts.from !== undefined && opts.from.length > 0);
      const base = asked ? undefined : await parentOf(session, opts.dataset, opts.parent);
      return base !== undefined && base.contentHash === root ? { version: base, unchanged: true, ...stats() } : undefined;
    },
    commit: async (push, root) => ({
      version: await commitVersion(session, {
        dataset: opts.dataset,
        push,
        root,
        parent: opts.parent,
        tag: opts.tag,
        message: opts.message,
        metadata: opts.metadata,
        derivedFrom: opts.from,
      }),
      unchanged: false,
      ...stats(),
    }),
  }));
}

/** Push a folder (or file) as the next version of a model (1, 2, ...), through the same path as data. */
export async function pushModel(session: Session, input: string, opts: ModelPushOptions): Promise<ModelPushResult> {
  return pushTo<ModelPushResult>(session, input, opts, (stats) => ({
    indexKey: `model:${opts.model}`,
    begin: () => modelPushBegin(session, opts.model),
    unchanged: async () => undefined,
    commit: async (push, root) => ({
      modelVersion: await commitModelVersion(session, {
        model: opts.model,
        push,
        root,
        run: opts.run,
        message: opts.message,
        metadata: opts.metadata,
      }),
      ...stats(),
    }),
  }));
}

async function pushTo<R>(
  session: Session,
  input: string,
  opts: CommonPushOptions,
  targetOf: (stats: () => PushStats) => Target<R>,
): Promise<R> {
  let stats: PushStats | undefined;
  const target = targetOf(() => stats!);
  await session.checkStore();
  const root = resolve(input);
  const { push: pushId, params } = await target.begin();
  const files = walkInput(root);
  const index = opts.useIndex !== false ? await FileIndex.load(session.home, target.indexKey, root) : undefined;
  await session.store.check();

  const packSize = opts.packSize ?? (process.env.STRATA_PACK_SIZE ? Number(process.env.STRATA_PACK_SIZE) : undefined);
  const packer = new Packer(
    session.store,
    {
      registerPack: async (...a) => {
        await registerPack(session, pushId, ...a);
        verifier.trust(a[0].toString("hex"));
        dedup.registered(a[2]);
        faultPoint("push.after-pack-registered");
      },
    },
    { salt: `push:${pushId}`, packSize },
  );
  const verifier = new PackVerifier(session.store, PackVerifier.cacheFileOf(session.home, session.store));
  const dedup = new ChunkDedup(
    { knownChunks: (h) => knownChunks(session, h), markDamaged: (p, why) => markDamaged(session, p, why) },
    packer,
    verifier,
  );
  let fileCount = 0;
  let bytesTotal = 0;
  for (let i = 0; i < files.count; i++) {
    if (files.kind(i) !== "dir") fileCount++;
    bytesTotal += files.size(i);
  }
  const progress: PushProgress = { files: 0, filesTotal: fileCount, bytes: 0, bytesTotal, newBytes: 0 };
  const read = new ReadResult(files);
  const trees = new TreeSink(new InputTrees(files, (i) => read.hashOf(i)), (t) => putTrees(session, t));
  const contents = new ContentSink(
    dedup,
    (i) => read.hashOf(i),
    (i) => files.size(i),
    (blobs) => putBlobs(session, blobs),
    (positions) => trees.stored(positions),
  );
  await readInput(
    files,
    {
      params,
      index,
      rereadAll: opts.rereadAll === true,
      unsoundBlobs: async (hashes) => new Set((await missingHashes(session, "unsound_blobs", hashes)).map((h) => h.toString("hex"))),
      dedup,
      onContent: (i, chunkHashes) => contents.add(i, chunkHashes),
      onKnown: (i) => trees.stored([i]),
      onProgress: (p) => {
        progress.files = p.files;
        progress.bytes = p.bytes;
        progress.newBytes = dedup.stats.newBytes;
        opts.onProgress?.(progress);
      },
    },
    read,
  );
  await dedup.drain();
  await packer.flush();
  await contents.finish();

  const rootTree = await trees.finish();
  faultPoint("push.before-commit");
  stats = {
    files: fileCount,
    bytes: progress.bytesTotal,
    unchangedFiles: read.unchangedFiles,
    chunks: dedup.stats.chunks,
    newChunks: dedup.stats.newChunks,
    newBytes: packer.stats.bytes,
    packs: packer.stats.packs,
    packChecks: verifier.stats.requests,
    damagedPacks: dedup.stats.damagedPacks,
  };
  const tabularRows = await tabularRowsOf(session, read.tabular);
  const same = await target.unchanged(rootTree.hash.toString("hex"));
  if (same !== undefined) {
    await recordTabularRows(session, tabularRows); // rows of an older hashing rule are replaced even so
    await index?.save(files, (i) => read.hashOf(i));
    return same;
  }
  await recordTabularRows(session, tabularRows);
  const result = await target.commit(pushId, rootTree);
  await index?.save(files, (i) => read.hashOf(i));
  return result;
}
