// Committing small versions without the loader's reading stage or an object store:
// contents are cut into fixed 4 KiB pieces (so files that share pieces share chunks),
// the chunks the database lacks are registered in a fake pack (its bytes are never
// stored, nor read by the diff tests that use this), the Merkle trees come from
// loader/push/tree.ts, and the commit goes through loader/push/protocol.ts
// (registerPack, commitVersion), as a push's does.

import { createHash, randomBytes } from "node:crypto";
import pg from "pg";
import {
  type BlobRecord,
  commitModelVersion,
  commitVersion,
  missingHashes,
  modelPushBegin,
  pushBegin,
  putBlobs,
  putTrees,
  registerPack,
} from "../../loader/push/protocol.js";
import type { ModelVersionInfo } from "../../loader/registry/info.js";
import { buildTrees, type PushedPath, symlinkHash } from "../../loader/push/tree.js";
import { Session } from "../../loader/session.js";
import { freshDatabase, type TestLike } from "./harness.js";
import { tempDir } from "./strata.js";

export type FileSpec = Buffer | string | { symlink: string };
export type Files = Record<string, FileSpec>;

export const PIECE = 4096;

export interface CommitOptions {
  tag?: string;
  parent?: string;
  message?: string;
  /** Piece size used to cut contents into chunks (default 4 KiB). */
  piece?: number;
  /** Versions of other datasets it was made from (dataset@tag). */
  from?: string[];
}

export interface Committed {
  tag: string;
  /** Hex SHA-256 of the root tree. */
  root: string;
  /** Blob hash of each regular file, by path. */
  blobs: Map<string, Buffer>;
}

/** A fresh database: a Session to commit through and a plain client for the test's own SQL. */
export interface VersionsDb {
  session: Session;
  db: pg.Client;
}

export async function versionsDb(t: TestLike): Promise<VersionsDb> {
  const url = await freshDatabase(t);
  // The session's store is never used: the fake packs' bytes are not stored.
  const session = await Session.open({
    databaseUrl: url,
    migrate: false,
    store: `file://${tempDir(t, "strata-unused-store-")}`,
    home: tempDir(t),
  });
  t.teardown(() => session.close());
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  t.teardown(() => db.end());
  return { session, db };
}

const sha256 = (b: Buffer | string): Buffer => createHash("sha256").update(b).digest();

/**
 * Commit `files` ({ 'a/b.csv': Buffer | string | { symlink: 'x' } }) as a new version of
 * `dataset` (created when missing).
 */
export async function commitFiles(session: Session, dataset: string, files: Files, opts: CommitOptions = {}): Promise<Committed> {
  const { push } = await pushBegin(session, dataset, opts.parent, opts.tag);
  const { root, blobs } = await storeFiles(session, push, files, opts.piece);
  const version = await commitVersion(session, {
    dataset,
    push,
    root,
    parent: opts.parent,
    tag: opts.tag,
    message: opts.message,
    derivedFrom: opts.from,
  });
  return { tag: version.tag, root: root.hash.toString("hex"), blobs };
}

/** Commit `files` as the next version of `model`, produced by `run` when given. */
export async function commitModelFiles(session: Session, model: string, files: Files, run?: string): Promise<ModelVersionInfo> {
  const { push } = await modelPushBegin(session, model);
  const { root } = await storeFiles(session, push, files);
  return commitModelVersion(session, { model, push, root, run });
}

/** Register the chunks, put the contents and trees of `files`; returns the root tree and each file's blob hash. */
async function storeFiles(session: Session, push: number, files: Files, pieceSize?: number) {
  const piece = pieceSize ?? PIECE;
  const records: PushedPath[] = [];
  const blobs = new Map<string, BlobRecord>();
  const byPath = new Map<string, Buffer>();
  const chunks = new Map<string, number>();
  for (const [path, spec] of Object.entries(files)) {
    if (path.split("/").some((p) => p === "" || p === "." || p === "..")) throw new Error(`bad path ${path}`);
    if (typeof spec === "object" && !Buffer.isBuffer(spec)) {
      records.push({ path, kind: "symlink", hash: symlinkHash(spec.symlink), size: 0, target: spec.symlink });
      continue;
    }
    const bytes = Buffer.isBuffer(spec) ? spec : Buffer.from(spec);
    const hash = sha256(bytes);
    const chunkHashes: Buffer[] = [];
    for (let off = 0; off < bytes.length; off += piece) {
      const c = bytes.subarray(off, off + piece);
      const h = sha256(c);
      chunks.set(h.toString("hex"), c.length);
      chunkHashes.push(h);
    }
    blobs.set(hash.toString("hex"), { hash, size: bytes.length, chunks: Buffer.concat(chunkHashes) });
    byPath.set(path, hash);
    records.push({ path, kind: "file", hash, size: bytes.length });
  }

  const missing = await missingHashes(
    session,
    "missing_chunks",
    [...chunks.keys()].map((h) => Buffer.from(h, "hex")),
  );
  if (missing.length > 0) {
    const sizes = missing.map((h) => chunks.get(h.toString("hex"))!);
    const offsets: number[] = [];
    let off = 0;
    for (const size of sizes) {
      offsets.push(off);
      off += size;
    }
    await registerPack(session, push, randomBytes(32), off, missing, offsets, sizes);
  }
  const { root, trees } = buildTrees(records);
  await putBlobs(session, [...blobs.values()]);
  await putTrees(session, trees);
  return { root, blobs: byPath };
}
