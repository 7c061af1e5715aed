// push: turn a folder (or one file) into a new immutable version. The stages: walk the
// input (walk.ts); read it, taking unchanged files from the local index and chunking
// the rest (read.ts); pack and upload the chunks the database lacks (dedup.ts,
// packer.ts); build the Merkle trees (tree.ts); commit trees, contents and the version
// in one transaction (protocol.ts). Nothing is visible until that commit; a re-run
// after a crash uploads only what is still missing.

import { resolve } from "node:path";
import { faultPoint } from "../fault.js";
import type { Session } from "../session.js";
import type { VersionInfo } from "../versions.js";
import { ChunkDedup } from "./dedup.js";
import { FileIndex } from "./file-index.js";
import { Packer } from "./packer.js";
import {
  commitVersion,
  knownChunks,
  markDamaged,
  missingHashes,
  parentOf,
  pushBegin,
  putBlobs,
  putTrees,
  registerPack,
} from "./protocol.js";
import { PackVerifier } from "./verify.js";
import { readInput } from "./read.js";
import { recordTabularRows, tabularRowsOf } from "./tabular.js";
import { buildTrees } from "./tree.js";
import { walkInput } from "./walk.js";

export interface PushOptions {
  dataset: string;
  tag?: string;
  /** Tag of the parent version; default: the dataset's latest. */
  parent?: string;
  message?: string;
  /** A JSON object, or its text (kept exactly as given: PostgreSQL's jsonb keeps every digit of a number). */
  metadata?: Record<string, unknown> | string;
  /** Record a version even when nothing changed since the parent (default: return the parent). */
  allowEmpty?: boolean;
  /** Skip unchanged files using the local index under the session's home (default true). */
  useIndex?: boolean;
  /** Read every file even when the index says it is unchanged (the index is still rewritten). */
  rereadAll?: boolean;
  /** Seal packs at this many bytes (default STRATA_PACK_SIZE, else 16 MiB). */
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
  /** Nothing changed since the parent: `version` is the parent, and no version was made. */
  unchanged: boolean;
  files: number;
  bytes: number;
  /** Files whose hash came from the local index, unread. */
  unchangedFiles: number;
  chunks: number;
  newChunks: number;
  newBytes: number;
  packs: number;
  /** Packs this push checked are in the store (one HEAD each, remembered in the home). */
  packChecks: number;
  /** Packs it found missing or of another size: reported damaged, their chunks uploaded again. */
  damagedPacks: number;
}

export async function push(session: Session, input: string, opts: PushOptions): Promise<PushResult> {
  await session.checkStore();
  const root = resolve(input);
  const { push: pushId, params } = await pushBegin(session, opts.dataset, opts.parent, opts.tag);
  const files = walkInput(root);
  const index = opts.useIndex !== false ? await FileIndex.load(session.home, opts.dataset, root) : undefined;
  await session.store.check();

  const packSize = opts.packSize ?? (process.env.STRATA_PACK_SIZE ? Number(process.env.STRATA_PACK_SIZE) : undefined);
  const packer = new Packer(
    session.store,
    {
      registerPack: async (...a) => {
        await registerPack(session, pushId, ...a);
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
  const fileCount = files.filter((f) => f.kind !== "dir").length;
  const progress: PushProgress = {
    files: 0,
    filesTotal: fileCount,
    bytes: 0,
    bytesTotal: files.reduce((n, f) => n + f.size, 0),
    newBytes: 0,
  };
  const read = await readInput(root, files, {
    params,
    index,
    rereadAll: opts.rereadAll === true,
    unsoundBlobs: async (hashes) => new Set((await missingHashes(session, "unsound_blobs", hashes)).map((h) => h.toString("hex"))),
    dedup,
    onProgress: (p) => {
      progress.files = p.files;
      progress.bytes = p.bytes;
      progress.newBytes = dedup.stats.newBytes;
      opts.onProgress?.(progress);
    },
  });
  await dedup.drain();
  await packer.flush();

  faultPoint("push.before-commit");
  const { root: rootTree, trees } = buildTrees(read.records);
  const stats = {
    files: fileCount,
    bytes: progress.bytesTotal,
    unchangedFiles: read.unchangedFiles,
    chunks: dedup.stats.chunks,
    newChunks: dedup.stats.newChunks,
    newBytes: dedup.stats.newBytes,
    packs: packer.stats.packs,
    packChecks: verifier.stats.requests,
    damagedPacks: dedup.stats.damagedPacks,
  };
  const tabularRows = await tabularRowsOf(session, read.tabular);
  // The same tree as the parent and nothing the user asked to record: no new version.
  const asked = opts.allowEmpty || opts.tag !== undefined || opts.message !== undefined || opts.metadata !== undefined;
  const base = asked ? undefined : await parentOf(session, opts.dataset, opts.parent);
  if (base !== undefined && base.contentHash === rootTree.hash.toString("hex")) {
    await recordTabularRows(session, tabularRows); // rows of an older hashing rule are replaced even so
    await index?.save();
    return { version: base, unchanged: true, ...stats };
  }
  await putBlobs(session, read.blobs);
  await putTrees(session, trees);
  await recordTabularRows(session, tabularRows);
  const version = await commitVersion(session, {
    dataset: opts.dataset,
    push: pushId,
    root: rootTree,
    parent: opts.parent,
    tag: opts.tag,
    message: opts.message,
    metadata: opts.metadata,
  });
  await index?.save();
  return { version, unchanged: false, ...stats };
}
