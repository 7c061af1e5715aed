// Deleting versions and datasets, retention policies, and where the bytes are: the SQL
// API of stored/retention.ts and sql/45_storage.sql, typed.

import type { Session } from "./session.js";
import { type VersionInfo, versionInfo } from "./versions.js";

export interface RetentionPolicy {
  dataset: string;
  keepLast: number | null;
  /** PostgreSQL interval text, e.g. "30 days". */
  keepWithin: string | null;
  setBy: string;
  setAt: Date;
}

export interface RetentionDecision {
  dataset: string;
  tag: string;
  seq: number;
  createdAt: Date;
  /** Why the policy keeps it; null: deleted (or, in a dry run, would be). */
  keptBecause: string | null;
}

export interface DatasetStorage {
  dataset: string;
  liveVersions: number;
  logicalBytes: number;
  uniqueBytes: number;
  sharedBytes: number;
  exclusiveBytes: number;
  dedupRatio: number | null;
}

export interface VersionStorage {
  dataset: string;
  tag: string;
  seq: number;
  logicalBytes: number;
  broughtBytes: number;
  uniqueBytes: number;
  exclusiveBytes: number;
  createdAt: Date;
}

/** Delete a version; refused when used unless `force`. Returns it, deleted. */
export async function deleteVersion(s: Session, dataset: string, tag: string, force = false): Promise<VersionInfo> {
  const rows = await s.query<Record<string, unknown>>("select * from strata.delete_version($1, $2, $3)", [dataset, tag, force]);
  return versionInfo(rows[0]!);
}

/** Delete every version of a dataset, and the dataset; refused when one is used unless `force`. Returns the versions deleted. */
export async function deleteDataset(s: Session, dataset: string, force = false): Promise<VersionInfo[]> {
  return (await s.query<Record<string, unknown>>("select * from strata.delete_dataset($1, $2)", [dataset, force])).map(versionInfo);
}

/** Set (or, both undefined, remove) a dataset's retention policy. */
export async function setRetention(s: Session, dataset: string, keepLast?: number, keepWithin?: string): Promise<void> {
  await s.query("select strata.set_retention($1, $2, $3::interval)", [dataset, keepLast ?? null, keepWithin ?? null]);
}

export async function retentionPolicies(s: Session, dataset?: string): Promise<RetentionPolicy[]> {
  const rows = await s.query<Record<string, unknown>>(
    "select dataset, keep_last, keep_within::text, set_by, set_at from strata.v_retention_policies where $1::text is null or dataset = $1 order by dataset",
    [dataset ?? null],
  );
  return rows.map((r) => ({
    dataset: r.dataset as string,
    keepLast: r.keep_last as number | null,
    keepWithin: r.keep_within as string | null,
    setBy: r.set_by as string,
    setAt: r.set_at as Date,
  }));
}

/** Apply the policy of `dataset` (of every dataset that has one when undefined). */
export async function applyRetention(s: Session, dataset: string | undefined, dryRun = false): Promise<RetentionDecision[]> {
  const rows = await s.query<Record<string, unknown>>("select * from strata.apply_retention($1, $2)", [dataset ?? null, dryRun]);
  return rows.map((r) => ({
    dataset: r.dataset as string,
    tag: r.tag as string,
    seq: r.seq as number,
    createdAt: r.created_at as Date,
    keptBecause: r.kept_because as string | null,
  }));
}

export async function datasetStorage(s: Session): Promise<DatasetStorage[]> {
  const rows = await s.query<Record<string, unknown>>("select * from strata.v_storage_datasets order by dataset");
  return rows.map((r) => ({
    dataset: r.dataset as string,
    liveVersions: Number(r.live_versions),
    logicalBytes: Number(r.logical_bytes),
    uniqueBytes: Number(r.unique_bytes),
    sharedBytes: Number(r.shared_bytes),
    exclusiveBytes: Number(r.exclusive_bytes),
    dedupRatio: r.dedup_ratio === null ? null : Number(r.dedup_ratio),
  }));
}

export async function versionStorage(s: Session, dataset: string): Promise<VersionStorage[]> {
  await s.query("select count(*) from strata.version_history($1)", [dataset]); // names an unknown dataset
  const rows = await s.query<Record<string, unknown>>("select * from strata.v_storage_versions where dataset = $1 order by seq desc", [
    dataset,
  ]);
  return rows.map((r) => ({
    dataset: r.dataset as string,
    tag: r.tag as string,
    seq: r.seq as number,
    logicalBytes: Number(r.logical_bytes),
    broughtBytes: Number(r.brought_bytes),
    uniqueBytes: Number(r.unique_bytes),
    exclusiveBytes: Number(r.exclusive_bytes),
    createdAt: r.created_at as Date,
  }));
}
