// The typed Node API of Strata: what the CLI does, callable from programs. A thin
// facade: every method forwards to the module that does the work, over one Session.

import type pg from "pg";
import { cat, checkout, type CatResult, type CheckoutOptions, type CheckoutResult } from "./checkout/index.js";
import { type DiffEntry, type DiffSummary, diff, diffRows, diffRowsSummary, diffSummary, type RowsSummary } from "./diff/diff.js";
import { type StatusResult, status } from "./checkout/status.js";
import { push, type PushOptions, type PushResult } from "./push/push.js";
import { grantRole, revokeRole, type StrataRole } from "./roles.js";
import { type FsckOptions, type FsckResult, fsck } from "./fsck/fsck.js";
import { type GcOptions, type GcResult, gc } from "./gc/gc.js";
import * as retention from "./retention.js";
import type { DatasetStorage, RetentionDecision, RetentionPolicy, VersionStorage } from "./retention.js";
import { Session, type OpenOptions } from "./session.js";
import type { ObjectStore } from "./store/index.js";
import * as versions from "./versions.js";
import type { DatasetInfo, FileEntry, VersionInfo, VersionRef } from "./versions.js";

export { parseRef } from "./versions.js";
export type { DatasetStorage, GcOptions, GcResult, RetentionDecision, RetentionPolicy, VersionStorage };
export type { DatasetInfo, DiffEntry, DiffSummary, RowsSummary, FileEntry, OpenOptions, VersionInfo, VersionRef };

export class Strata {
  private constructor(readonly session: Session) {}

  static async open(opts: OpenOptions = {}): Promise<Strata> {
    return new Strata(await Session.open(opts));
  }

  get pool(): pg.Pool {
    return this.session.pool;
  }

  get databaseUrl(): string {
    return this.session.databaseUrl;
  }

  get store(): ObjectStore {
    return this.session.store;
  }

  get home(): string {
    return this.session.home;
  }

  close(): Promise<void> {
    return this.session.close();
  }

  /** Run SQL, turning the stored logic's errors into StrataErrors. */
  query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    return this.session.query<R>(sql, params);
  }

  /** Create a dataset; `chunking` (bytes) overrides the 256 KiB / 1 MiB / 4 MiB chunk sizes of its pushes. */
  createDataset(name: string, description?: string, chunking?: { min: number; avg: number; max: number }): Promise<number> {
    return versions.createDataset(this.session, name, description, chunking);
  }

  datasets(): Promise<DatasetInfo[]> {
    return versions.datasets(this.session);
  }

  /** Push a folder or file as a new version of `opts.dataset` (created when missing). */
  push(path: string, opts: PushOptions): Promise<PushResult> {
    return push(this.session, path, opts);
  }

  /** Versions of a dataset, newest first. */
  log(dataset: string): Promise<VersionInfo[]> {
    return versions.log(this.session, dataset);
  }

  /** One version (the latest when no tag is given). */
  version(ref: VersionRef): Promise<VersionInfo> {
    return versions.version(this.session, ref);
  }

  /**
   * Write a version's files into `dir`, verified. An earlier checkout there is switched:
   * only files that differ are written and files that left the version are deleted.
   */
  checkout(ref: VersionRef, dir: string, opts: CheckoutOptions = {}): Promise<CheckoutResult> {
    return checkout(this.session, ref, dir, opts);
  }

  /** What differs between a checkout folder and the version checked out there. */
  status(dir: string): Promise<StatusResult> {
    return status(this.session, dir);
  }

  /** Write one file of a version to `out`, verified. */
  cat(ref: VersionRef, path: string, out: NodeJS.WritableStream): Promise<CatResult> {
    return cat(this.session, ref, path, out);
  }

  /** Files and symlinks of a version under `prefix`, in path order. */
  ls(ref: VersionRef, prefix = ""): Promise<FileEntry[]> {
    return versions.ls(this.session, ref, prefix);
  }

  /** Check that every pack is in the store as recorded (and, full, every chunk); marks damaged packs. */
  fsck(opts: FsckOptions = {}): Promise<FsckResult> {
    return fsck(this.session, opts);
  }

  /** Delete a version (an admin's right); refused when a run, model version or alias uses it, unless `force`. */
  deleteVersion(ref: Required<VersionRef>, force = false): Promise<VersionInfo> {
    return retention.deleteVersion(this.session, ref.dataset, ref.tag, force);
  }

  /** Delete every version of a dataset, and the dataset (an admin's right). */
  deleteDataset(dataset: string, force = false): Promise<VersionInfo[]> {
    return retention.deleteDataset(this.session, dataset, force);
  }

  /** Keep the last `keepLast` versions and those younger than `keepWithin` (interval text); neither removes the policy. */
  setRetention(dataset: string, keepLast?: number, keepWithin?: string): Promise<void> {
    return retention.setRetention(this.session, dataset, keepLast, keepWithin);
  }

  retentionPolicies(dataset?: string): Promise<RetentionPolicy[]> {
    return retention.retentionPolicies(this.session, dataset);
  }

  /** Delete what the retention policy of `dataset` (of every dataset when undefined) does not keep; dry run: only say. */
  applyRetention(dataset?: string, dryRun = false): Promise<RetentionDecision[]> {
    return retention.applyRetention(this.session, dataset, dryRun);
  }

  /** Delete from the store what no live version needs (an admin's right); see README "Deleting and gc". */
  gc(opts: GcOptions = {}): Promise<GcResult> {
    return gc(this.session, opts);
  }

  /** Stored bytes per dataset: unique, shared with others, only its own. */
  datasetStorage(): Promise<DatasetStorage[]> {
    return retention.datasetStorage(this.session);
  }

  /** Stored bytes per live version of a dataset: brought, used, only its own. */
  versionStorage(dataset: string): Promise<VersionStorage[]> {
    return retention.versionStorage(this.session, dataset);
  }

  /** Give a login of a shared server a Strata role (an admin's right). */
  grantRole(login: string, role: StrataRole): Promise<void> {
    return grantRole(this.session, login, role);
  }

  revokeRole(login: string, role: StrataRole): Promise<void> {
    return revokeRole(this.session, login, role);
  }

  /** One row per changed path between two versions (of one dataset or two). */
  diff(a: VersionRef, b: VersionRef, prefix = ""): Promise<DiffEntry[]> {
    return diff(this.session, a, b, prefix);
  }

  /** Counts of a diff, and the chunks the two versions share. */
  diffSummary(a: VersionRef, b: VersionRef, prefix = ""): Promise<DiffSummary> {
    return diffSummary(this.session, a, b, prefix);
  }

  /** Rows added and removed in the tabular file `path` (CSV with a header, JSON Lines); duplicates count as a multiset. */
  diffRows(a: VersionRef, b: VersionRef, path: string): Promise<{ change: "added" | "removed"; rowNumber: number }[]> {
    return diffRows(this.session, a, b, path);
  }

  diffRowsSummary(a: VersionRef, b: VersionRef, path: string): Promise<RowsSummary> {
    return diffRowsSummary(this.session, a, b, path);
  }
}
