// checkout: make a folder hold one version of a dataset. Plans first (plan.ts),
// stages every file to write under <dir>/.strata and verifies it (stage.ts), and
// only then changes the folder (apply.ts) and records the new state (state.ts).
// So a corrupt chunk or a lost connection fails the checkout with the folder
// untouched, and switching versions costs the changed bytes, not the dataset size.

import { randomBytes } from "node:crypto";
import { mkdir, readdir, rm, rmdir } from "node:fs/promises";
import { join, resolve } from "node:path";

import { StrataError } from "../errors.js";
import type { Session } from "../session.js";
import { version as findVersion, type VersionRef } from "../versions.js";
import { applyPlan } from "./apply.js";
import { ChunkCache, chunkCacheDir } from "./cache.js";
import { ChunkFetcher } from "./fetch.js";
import { listEntries, STATE_DIR } from "./listing.js";
import { planCheckout } from "./plan.js";
import { stageFiles } from "./stage.js";
import { readState, writeState, type PathRecord } from "./state.js";

export interface CheckoutOptions {
  /** Local chunk cache folder; default: under the home for a remote store, none for a local one (undefined: none). */
  cacheDir?: string | undefined;
  onProgress?: ((p: CheckoutProgress) => void) | undefined;
  /** Packs read and files written at once (default 8). */
  concurrency?: number | undefined;
  /** Chunk bytes fetched per batch (default 32 MiB); memory use is about three batches. */
  batchBytes?: number | undefined;
}

export interface CheckoutProgress {
  /** plan: comparing with the folder; write: fetching and staging; apply: moving into place. */
  phase: "plan" | "write" | "apply" | "done";
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

export interface CheckoutResult {
  dataset: string;
  tag: string;
  versionId: number;
  /** Files and symlinks written, and their bytes. */
  filesWritten: number;
  bytesWritten: number;
  /** Paths that already held the right contents. */
  filesUnchanged: number;
  /** Files of the previous checkout that left the version. */
  filesDeleted: number;
  /** Files of the previous checkout that left the version but were changed locally: kept. */
  leftModified: string[];
  /** Chunk bytes read from the store, and served by the local cache. */
  bytesFetched: number;
  bytesFromCache: number;
  chunksFetched: number;
  chunksFromCache: number;
}

const MiB = 1024 * 1024;

export async function checkout(session: Session, ref: VersionRef, dir: string, opts: CheckoutOptions = {}): Promise<CheckoutResult> {
  await session.checkStore();
  const concurrency = opts.concurrency ?? 8;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new StrataError(`concurrency must be a positive integer, got ${concurrency}`, "usage");
  const batchBytes = opts.batchBytes ?? 32 * MiB;
  const root = resolve(dir);

  const version = await findVersion(session, ref);
  const entries = await listEntries(session, version);
  await makeRoot(root);
  await removeStaleStaging(root);
  const previous = await readState(root);

  const plan = await planCheckout(root, entries, previous);
  const progress: CheckoutProgress = {
    phase: "plan",
    filesDone: 0,
    filesTotal: plan.write.length,
    bytesDone: 0,
    bytesTotal: plan.write.reduce((n, e) => n + e.size, 0),
  };
  const report = (phase: CheckoutProgress["phase"]): void => {
    progress.phase = phase;
    opts.onProgress?.({ ...progress });
  };
  report("plan");

  const cacheDir = "cacheDir" in opts ? opts.cacheDir : chunkCacheDir(session);
  const fetcher = new ChunkFetcher(session.store, cacheDir === undefined ? undefined : new ChunkCache(cacheDir), concurrency);
  const staging = join(root, STATE_DIR, `tmp-${process.pid}-${randomBytes(6).toString("hex")}`);
  await mkdir(staging, { recursive: true });
  let applied: Awaited<ReturnType<typeof applyPlan>>;
  try {
    const files = plan.write.filter((e) => e.kind === "file");
    const staged = await stageFiles(session, fetcher, files, staging, {
      concurrency,
      batchBytes,
      retainBytes: 4 * batchBytes,
      onFile: (bytes) => {
        progress.filesDone++;
        progress.bytesDone += bytes;
        report("write");
      },
    });
    progress.filesDone = 0;
    applied = await applyPlan(root, plan, staged, concurrency, () => {
      progress.filesDone++;
      report("apply");
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
    await rmdir(join(root, STATE_DIR)).catch(() => {}); // only when empty: a first checkout that failed
  }

  const files = new Map<string, PathRecord>();
  for (const e of entries) files.set(e.path, plan.keep.get(e.path) ?? applied.records.get(e.path)!);
  await writeState(
    root,
    {
      dataset: version.dataset,
      tag: version.tag,
      versionId: version.id,
      contentHash: version.contentHash,
      updatedAt: new Date().toISOString(),
    },
    files,
  );
  report("done");

  const s = fetcher.stats;
  return {
    dataset: version.dataset,
    tag: version.tag,
    versionId: version.id,
    filesWritten: plan.write.length,
    bytesWritten: progress.bytesTotal,
    filesUnchanged: plan.keep.size,
    filesDeleted: applied.deleted,
    leftModified: plan.leftModified,
    bytesFetched: s.bytesFetched,
    bytesFromCache: s.bytesCached,
    chunksFetched: s.chunksFetched,
    chunksFromCache: s.chunksCached,
  };
}

async function makeRoot(root: string): Promise<void> {
  try {
    await mkdir(root, { recursive: true });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "EEXIST" || code === "ENOTDIR")
      throw new StrataError(`cannot check out into ${root}: it is not a folder`, "usage", { cause: e });
    throw e;
  }
}

/** Staging folders of checkouts that died (their process is gone). */
async function removeStaleStaging(root: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(join(root, STATE_DIR));
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^tmp-(\d+)-[0-9a-f]+$/.exec(name);
    if (m !== null && !alive(Number(m[1]))) await rm(join(root, STATE_DIR, name), { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  if (pid === process.pid) return false; // an earlier checkout of this process has finished
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === "EPERM";
  }
}
