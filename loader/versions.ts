// Datasets and their versions as the SQL API returns them: creating and listing
// datasets, resolving name@tag, a dataset's log, and the files of a version.

import type { Session } from "./session.js";

export interface VersionInfo {
  id: number;
  dataset: string;
  seq: number;
  tag: string;
  parentTag: string | null;
  /** Hex SHA-256 of the root tree. */
  contentHash: string;
  fileCount: number;
  size: number;
  newBytes: number;
  message: string | null;
  metadata: Record<string, unknown>;
  author: string;
  createdAt: Date;
  /** When and by whom it was deleted (strata rm, retention); null while it lives. */
  deletedAt: Date | null;
  deletedBy: string | null;
}

/** `name@tag` or `name` (the latest version). */
export interface VersionRef {
  dataset: string;
  tag?: string;
}

export function parseRef(ref: string): VersionRef {
  const at = ref.lastIndexOf("@");
  return at < 0 ? { dataset: ref } : { dataset: ref.slice(0, at), tag: ref.slice(at + 1) || undefined };
}

export interface DatasetInfo {
  id: number;
  name: string;
  description: string | null;
  owner: string;
  createdAt: Date;
  versionCount: number;
  latestTag: string | null;
  latestAt: Date | null;
  latestFileCount: number | null;
  latestSize: number | null;
}

/** A file, symlink or empty folder of a version. */
export interface FileEntry {
  path: string;
  kind: "file" | "symlink" | "dir";
  /** A file's executable bit. */
  executable: boolean;
  size: number;
  /** Hex SHA-256 of the file (of the target for a symlink, of nothing for an empty folder). */
  hash: string;
  target: string | null;
}

/** A row of strata.v_versions (or a function returning that row type) as a VersionInfo. */
export function versionInfo(r: Record<string, unknown>): VersionInfo {
  return {
    id: r.id as number,
    dataset: r.dataset as string,
    seq: r.seq as number,
    tag: r.tag as string,
    parentTag: r.parent_tag as string | null,
    contentHash: r.content_hash as string,
    fileCount: r.file_count as number,
    size: r.size as number,
    newBytes: r.new_bytes as number,
    message: r.message as string | null,
    metadata: r.metadata as Record<string, unknown>,
    author: r.author as string,
    createdAt: r.created_at as Date,
    deletedAt: (r.deleted_at as Date | null) ?? null,
    deletedBy: (r.deleted_by as string | null) ?? null,
  };
}

/** Create a dataset; `chunking` (bytes) overrides the 256 KiB / 1 MiB / 4 MiB chunk sizes of its pushes. */
export async function createDataset(
  s: Session,
  name: string,
  description?: string,
  chunking?: { min: number; avg: number; max: number },
): Promise<number> {
  const [row] = await s.query<{ id: number }>("select strata.create_dataset($1, $2, $3) as id", [
    name,
    description ?? null,
    chunking ? JSON.stringify(chunking) : null,
  ]);
  return row!.id;
}

export async function datasets(s: Session): Promise<DatasetInfo[]> {
  const rows = await s.query<Record<string, unknown>>("select * from strata.v_datasets order by created_at, id");
  return rows.map((r) => ({
    id: r.id as number,
    name: r.name as string,
    description: r.description as string | null,
    owner: r.owner as string,
    createdAt: r.created_at as Date,
    versionCount: r.version_count as number,
    latestTag: r.latest_tag as string | null,
    latestAt: r.latest_at as Date | null,
    latestFileCount: r.latest_file_count as number | null,
    latestSize: r.latest_size as number | null,
  }));
}

/** Versions of a dataset, newest first. */
export async function log(s: Session, dataset: string): Promise<VersionInfo[]> {
  return (await s.query<Record<string, unknown>>("select * from strata.version_history($1)", [dataset])).map(versionInfo);
}

/** One version (the latest when no tag is given). */
export async function version(s: Session, ref: VersionRef): Promise<VersionInfo> {
  const rows = await s.query<Record<string, unknown>>("select * from strata.version($1, $2)", [ref.dataset, ref.tag ?? null]);
  return versionInfo(rows[0]!);
}

/** The tag a reference names: its own, or the dataset's latest. */
export async function tagOf(s: Session, ref: VersionRef): Promise<string> {
  return ref.tag ?? (await version(s, ref)).tag;
}

/** Files and symlinks of a version under `prefix`, in path order. */
export async function ls(s: Session, ref: VersionRef, prefix = ""): Promise<FileEntry[]> {
  const rows = await s.query<{
    path: string;
    kind: FileEntry["kind"];
    executable: boolean;
    size: number;
    hash: Buffer;
    target: string | null;
  }>("select * from strata.ls($1, $2, $3)", [ref.dataset, await tagOf(s, ref), prefix]);
  return rows.map((r) => ({
    path: r.path,
    kind: r.kind,
    executable: r.executable,
    size: r.size,
    hash: r.hash.toString("hex"),
    target: r.target,
  }));
}
