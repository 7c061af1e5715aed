// The typed Node API of Strata: what the CLI does, callable from programs. A thin
// facade: every method forwards to the module that does the work, over one Session.

import type pg from "pg";
import { cat, checkout, type CatResult, type CheckoutOptions, type CheckoutResult } from "./checkout/index.js";
import { type DiffEntry, type DiffSummary, diff, diffRows, diffRowsSummary, diffSummary, type RowsSummary } from "./diff/diff.js";
import { type StatusResult, status } from "./checkout/status.js";
import * as experiments from "./experiments/experiments.js";
import type { Comparison, MetricPoint, RunCheckout, RunInfo, RunStatus, StartOptions } from "./experiments/experiments.js";
import { type LineageFormat, openLineageEvents, type RunEvent } from "./lineage/format.js";
import * as lineage from "./lineage/lineage.js";
import type { Containing, Direction, ImpactRow, LineageGraph } from "./lineage/lineage.js";
import { type ModelPushOptions, type ModelPushResult, push, pushModel, type PushOptions, type PushResult } from "./push/push.js";
import type { AliasTarget, ModelVersionInfo } from "./registry/info.js";
import * as registry from "./registry/registry.js";
import type { AliasMove, ModelInfo, ModelRef } from "./registry/registry.js";
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
export { parseModelRef } from "./registry/registry.js";
export type { DatasetInfo, DiffEntry, DiffSummary, RowsSummary, FileEntry, OpenOptions, VersionInfo, VersionRef };
export type { AliasMove, AliasTarget, Comparison, Containing, Direction, ImpactRow, LineageFormat, LineageGraph, MetricPoint };
export type { ModelInfo, ModelPushResult, ModelRef, ModelVersionInfo, RunCheckout, RunEvent, RunInfo, RunStatus, StartOptions };

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

  /** Push a folder or file as the next version (1, 2, ...) of `opts.model`, through the same path as data. */
  pushModel(path: string, opts: ModelPushOptions): Promise<ModelPushResult> {
    return pushModel(this.session, path, opts);
  }

  /** Start a run on pinned input versions; returns its UUID. */
  startRun(name: string, opts: StartOptions = {}): Promise<string> {
    return experiments.startRun(this.session, name, opts);
  }

  /** Log {name: value} at `step`, or a batch of points; returns how many were new. */
  logMetrics(run: string, metrics: Record<string, number> | MetricPoint[] | string, step?: number): Promise<number> {
    return experiments.logMetrics(this.session, run, metrics, step);
  }

  finishRun(run: string, status: Exclude<RunStatus, "running">, metrics?: Record<string, number> | string): Promise<RunInfo> {
    return experiments.finishRun(this.session, run, status, metrics);
  }

  run(run: string): Promise<RunInfo> {
    return experiments.run(this.session, run);
  }

  runs(opts: { name?: string; status?: RunStatus; limit?: number } = {}): Promise<RunInfo[]> {
    return experiments.runs(this.session, opts);
  }

  metricPoints(run: string): Promise<(MetricPoint & { recordedAt: Date })[]> {
    return experiments.metricPoints(this.session, run);
  }

  compareRuns(runs: string[]): Promise<Comparison> {
    return experiments.compareRuns(this.session, runs);
  }

  /** Check out every input version of a run into DIR/<role>/<dataset>. */
  checkoutRun(run: string, dir: string, opts: CheckoutOptions = {}): Promise<RunCheckout> {
    return experiments.checkoutRun(this.session, run, dir, opts);
  }

  models(): Promise<ModelInfo[]> {
    return registry.models(this.session);
  }

  modelVersions(model: string): Promise<ModelVersionInfo[]> {
    return registry.modelVersions(this.session, model);
  }

  modelVersion(ref: ModelRef, routingKey?: string): Promise<ModelVersionInfo> {
    return registry.modelVersion(this.session, ref, routingKey);
  }

  setAlias(model: string, alias: string, target: number | Record<string, number>): Promise<AliasTarget[]> {
    return registry.setAlias(this.session, model, alias, target);
  }

  rollbackAlias(model: string, alias: string): Promise<AliasTarget[]> {
    return registry.rollbackAlias(this.session, model, alias);
  }

  resolveAlias(model: string, alias: string, routingKey?: string): Promise<number> {
    return registry.resolveAlias(this.session, model, alias, routingKey);
  }

  aliases(model: string): Promise<AliasTarget[]> {
    return registry.aliases(this.session, model);
  }

  aliasHistory(model: string, alias?: string): Promise<AliasMove[]> {
    return registry.aliasHistory(this.session, model, alias);
  }

  /** Write a model version (NAME/N, NAME, NAME@ALIAS) into `dir`; a switch writes only changed files. */
  checkoutModel(ref: ModelRef, dir: string, opts: CheckoutOptions & { routingKey?: string } = {}) {
    return registry.checkoutModel(this.session, ref, dir, opts);
  }

  /** The lineage graph around a node (dataset:NAME@TAG, run:UUID, model:NAME/N). */
  lineage(node: string, opts: { direction?: Direction; depth?: number } = {}): Promise<LineageGraph> {
    return lineage.lineage(this.session, node, opts);
  }

  /** OpenLineage RunEvents of the runs in a graph. */
  openLineage(graph: LineageGraph, namespace?: string): Promise<RunEvent[]> {
    return openLineageEvents(this.session, graph, namespace);
  }

  /** Everything downstream of a node, or of the file at `path` in it wherever its contents are. */
  impact(node: string, path?: string): Promise<ImpactRow[]> {
    return lineage.impact(this.session, node, path);
  }

  /** Every dataset and model version holding the contents of the file at `path` in `ref`. */
  versionsContaining(ref: string, path: string): Promise<Containing[]> {
    return lineage.versionsContaining(this.session, ref, path);
  }

  addEdge(source: string, relation: string, target: string): Promise<number> {
    return lineage.addEdge(this.session, source, relation, target);
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
