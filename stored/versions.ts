// Versions: resolving name@tag and a dataset's history. (Committed versions are immutable: history.ts.)

import { type Bytes, emitQuery, queryOne, raise } from "./host";
import { checkName } from "./names";

export interface DatasetRow {
  id: number;
  name: string;
}

export interface VersionRow {
  id: number;
  dataset_id: number;
  tag: string;
  /** The root tree. */
  content_hash: Bytes;
}

export function findDataset(name: string | undefined): DatasetRow {
  checkName("dataset", name);
  const d = queryOne<DatasetRow & { deleted: string | undefined }>(
    "select id, name, deleted_at || ' by ' || deleted_by as deleted from strata.datasets where name = $1",
    ["text"],
    name,
  );
  if (d === undefined) return raise("unknownDataset", `dataset "${name}" does not exist`);
  if (d.deleted !== undefined) return raise("unknownDataset", `dataset "${name}" was deleted (${d.deleted})`);
  return d;
}

/** The version `tag` of `dataset`; tag null means its latest version. Deleted versions are not found. */
export function findVersion(dataset: string | undefined, tag: string | undefined): VersionRow {
  const d = findDataset(dataset);
  const v =
    tag === undefined
      ? queryOne<VersionRow & { deleted: undefined }>(
          `select id, dataset_id, tag, content_hash, null::text as deleted from strata.versions
           where dataset_id = $1 and state = 'committed' order by seq desc limit 1`,
          ["bigint"],
          d.id,
        )
      : queryOne<VersionRow & { deleted: string | undefined }>(
          "select id, dataset_id, tag, content_hash, deleted_at || ' by ' || deleted_by as deleted from strata.versions where dataset_id = $1 and tag = $2",
          ["bigint", "text"],
          d.id,
          tag,
        );
  if (v === undefined)
    return tag === undefined
      ? raise("unknownVersion", `dataset "${d.name}" has no versions yet`)
      : raise("unknownVersion", `dataset "${d.name}" has no version "${tag.length > 80 ? `${tag.slice(0, 80)}...` : tag}"`);
  if (v.deleted !== undefined) return raise("unknownVersion", `version ${d.name}@${tag} was deleted (${v.deleted})`);
  return v;
}

/** strata.version_history: the versions of a dataset, newest first (deleted ones are in v_versions). */
export function versionHistory(dataset: string | undefined): void {
  const d = findDataset(dataset);
  emitQuery(
    "select v as c from strata.v_versions v where v.dataset_id = $1 and v.state = 'committed' order by v.seq desc",
    ["bigint"],
    d.id,
  );
}

/** One version (the latest when tag is null), as a v_versions row. */
export function version(dataset: string | undefined, tag: string | undefined): void {
  const v = findVersion(dataset, tag);
  emitQuery("select v as c from strata.v_versions v where v.id = $1", ["bigint"], v.id);
}
