// checkout: make a folder hold one version of a dataset. Plans first, refusing to
// overwrite what Strata did not write (plan.ts); writes every file to a temp name beside
// its place and verifies it (stage.ts); only then changes the folder (apply.ts) and
// records the new state in the home (state.ts). So a conflict, a corrupt chunk or a lost
// connection fails the checkout with the folder as it was, a crash leaves nothing the
// next run does not clean (journal.ts), and switching versions costs the changed bytes.

import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { StrataError } from "../errors.js";
import { faultPoint } from "../fault.js";
import { withLockFile } from "../lock.js";
import type { Session } from "../session.js";
import { version as findVersion, type VersionRef } from "../versions.js";
import { applyPlan, FolderMaker, pruneEmpty } from "./apply.js";
import { ChunkCache, chunkCacheDir } from "./cache.js";
import { ChunkFetcher, locator } from "./fetch.js";
import { dropJournal, type Journal, recoverCrashedRun, tempName, undoRun, writeJournal } from "./journal.js";
import { listTable, type Snapshot } from "./listing.js";
import { type Plan, planCheckout } from "./plan.js";
import { stageFiles } from "./stage.js";
import { parentOf, type PathTable } from "./table.js";
import {
  type CheckoutState,
  type FolderId,
  folderId,
  readLegacyState,
  readState,
  removeLegacyState,
  statPath,
  writeState,
} from "./state.js";

export interface CheckoutOptions {
  /** Local chunk cache folder; default: under the home for a remote store, none for a local one (undefined: none). */
  cacheDir?: string | undefined;
  onProgress?: ((p: CheckoutProgress) => void) | undefined;
  /** Packs read at once (default 8); files are written and renamed FILES_PER_READ times as many at once. */
  concurrency?: number | undefined;
  /** Chunk bytes fetched per batch (default 32 MiB); memory use is about three batches. */
  batchBytes?: number | undefined;
  /** Overwrite files changed here and the user's own files where the version puts something (listed in the result). */
  force?: boolean | undefined;
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
  /** The dataset (a model's name when `model`). */
  dataset: string;
  /** The version's tag (a model version's number when `model`). */
  tag: string;
  versionId: number;
  /** A model version was checked out. */
  model?: boolean;
  /** Files and symlinks written (not the empty folders made), and their bytes. */
  filesWritten: number;
  bytesWritten: number;
  /** Files and symlinks that already held the right contents (folders are not counted). */
  filesUnchanged: number;
  /** Files of the previous checkout that left the version. */
  filesDeleted: number;
  /** Files of the previous checkout that left the version but were changed locally: kept. */
  leftModified: string[];
  /** With force: paths of the user's, or changed here, that were overwritten or removed. */
  overwritten: string[];
  /** Chunk bytes read from the store, and served by the local cache. */
  bytesFetched: number;
  bytesFromCache: number;
  chunksFetched: number;
  chunksFromCache: number;
}

const MiB = 1024 * 1024;

/**
 * Files written per pack read in flight: small-file writes wait on the file system (open,
 * create, rename), not on the CPU, so many at once hide that wait (bin/strata.js gives
 * libuv's pool the threads to run them).
 */
const FILES_PER_READ = 4;

export async function checkout(session: Session, ref: VersionRef, dir: string, opts: CheckoutOptions = {}): Promise<CheckoutResult> {
  await session.checkStore();
  return checkoutSnapshot(session, await findVersion(session, ref), dir, opts);
}

/** Check out a dataset version or a model version (registry/ and experiments/ use it). */
export async function checkoutSnapshot(
  session: Session,
  version: Snapshot,
  dir: string,
  opts: CheckoutOptions = {},
): Promise<CheckoutResult> {
  await session.checkStore();
  const concurrency = opts.concurrency ?? 8;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new StrataError(`concurrency must be a positive integer, got ${concurrency}`, "usage");
  const root = resolve(dir);
  const entries = await listTable(session, version);
  await makeRoot(root);
  const id = await folderId(root);
  const lock = join(session.home, "checkouts", `${id.key}.lock`);
  await mkdir(join(session.home, "checkouts"), { recursive: true, mode: 0o700 });
  return withLockFile(lock, 0, `checking out into ${root}`, async () => {
    await recoverCrashedRun(session.home, id, root);
    const previous = (await readState(session.home, id)) ?? (await readLegacyState(root));
    const plan = await planCheckout(root, entries, previous, opts.force === true);
    const result = await write(session, root, id, plan, entries, previous, opts, concurrency);
    // The listing, with the stat of every file kept or written, is the folder's new state.
    await writeState(
      session.home,
      id,
      {
        dataset: version.dataset,
        tag: version.tag,
        versionId: version.id,
        contentHash: version.contentHash,
        ...(version.model ? { model: true } : {}),
        root,
        updatedAt: new Date().toISOString(),
      },
      entries,
    );
    await removeLegacyState(root);
    const s = result.fetched;
    return {
      dataset: version.dataset,
      tag: version.tag,
      versionId: version.id,
      ...(version.model ? { model: true } : {}),
      filesWritten: plan.write.filter((i) => entries.kind(i) !== "dir").length,
      bytesWritten: result.bytesWritten,
      filesUnchanged: plan.kept,
      filesDeleted: result.deleted,
      leftModified: plan.leftModified,
      overwritten: plan.overwritten,
      bytesFetched: s.bytesFetched,
      bytesFromCache: s.bytesCached,
      chunksFetched: s.chunksFetched,
      chunksFromCache: s.chunksCached,
    };
  });
}

/** Stages and applies the plan; on any failure removes what this run made and rethrows. */
async function write(
  session: Session,
  root: string,
  id: FolderId,
  plan: Plan,
  entries: PathTable,
  previous: CheckoutState | undefined,
  opts: CheckoutOptions,
  concurrency: number,
) {
  const batchBytes = opts.batchBytes ?? 32 * MiB;
  let bytesWritten = 0;
  for (const i of plan.write) bytesWritten += entries.size(i);
  const progress: CheckoutProgress = {
    phase: "plan",
    filesDone: 0,
    filesTotal: plan.write.length,
    bytesDone: 0,
    bytesTotal: bytesWritten,
  };
  const report = (phase: CheckoutProgress["phase"]): void => {
    progress.phase = phase;
    opts.onProgress?.({ ...progress });
  };
  report("plan");

  // Every folder the version has, so none is pruned; the old version's empty folders may go.
  const wantedDirs = entries.dirs();
  const folders = new FolderMaker(root, wantedDirs);
  const runId = randomBytes(6).toString("hex");
  // A temp goes beside its file when the way there is clear now; where a file of the old
  // version still stands in the way of its folder, it waits at the top of the checkout.
  const blocked = new Set([...plan.remove, ...plan.clearDirs]);
  const tempDirOf = (path: string): string => {
    if (blocked.size > 0) for (let d = parentOf(path); d !== ""; d = parentOf(d)) if (blocked.has(d)) return "";
    return parentOf(path);
  };
  const files = plan.write.filter((i) => entries.kind(i) === "file");
  const tempDirs = new Set<string>();
  for (const i of plan.write) if (entries.kind(i) !== "dir") tempDirs.add(tempDirOf(entries.path(i)));
  const journal: Journal = { runId, tempDirs: [...tempDirs], made: await missingFolders(root, [...tempDirs]) };
  await writeJournal(session.home, id, journal);
  // Temp names follow from listing positions, so none is remembered per file.
  const tempOf = (i: number, link = false): string => {
    const path = entries.path(i);
    return join(root, tempDirOf(path), tempName(runId, i + 1, link));
  };

  const cacheDir = "cacheDir" in opts ? opts.cacheDir : chunkCacheDir(session);
  const fetcher = new ChunkFetcher(
    session.store,
    cacheDir === undefined ? undefined : new ChunkCache(cacheDir),
    concurrency,
    locator(session),
  );
  try {
    for (const d of journal.tempDirs) await folders.ensure(d);
    await stageFiles(session, fetcher, entries, files, (i) => tempOf(i), {
      concurrency: concurrency * FILES_PER_READ,
      batchBytes,
      retainBytes: 4 * batchBytes,
      onFile: (bytes) => {
        progress.filesDone++;
        progress.bytesDone += bytes;
        report("write");
      },
    });
    progress.filesDone = 0;
    faultPoint("checkout.before-apply");
    const deleted = await applyPlan(
      root,
      plan,
      entries,
      (i) => tempOf(i),
      (i) => tempOf(i, true),
      folders,
      concurrency * FILES_PER_READ,
      () => {
        progress.filesDone++;
        report("apply");
      },
    );
    // Empty folders of the old version that left it go too, when still empty.
    const leftDirs: string[] = [];
    const old = previous?.files;
    if (old !== undefined)
      for (let j = 0; j < old.count; j++) if (old.kind(j) === "dir" && !wantedDirs.has(old.path(j))) leftDirs.push(old.path(j));
    await pruneEmpty(root, leftDirs, wantedDirs);
    await dropJournal(session.home, id);
    report("done");
    return { deleted, bytesWritten, fetched: fetcher.stats };
  } catch (e) {
    await undoRun(root, journal);
    await folders.undo();
    await dropJournal(session.home, id);
    throw e;
  }
}

/** The folders among `dirs` and their parents that do not exist yet, parents first. */
async function missingFolders(root: string, dirs: readonly string[]): Promise<string[]> {
  const missing = new Set<string>();
  for (const d of dirs)
    for (let rel = d; rel !== "" && !missing.has(rel); rel = parentOf(rel)) {
      if ((await statPath(join(root, rel)))?.kind === "dir") break;
      missing.add(rel);
    }
  return [...missing].sort((a, b) => a.split("/").length - b.split("/").length);
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
