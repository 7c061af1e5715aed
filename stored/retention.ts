// Deleting versions and datasets, and keeping only what retention policies say. A deleted
// version keeps its row and its lineage, with who deleted it and when; its trees stop
// protecting chunks, so the next gc (stored/gc.ts) reclaims what only it held. What a run,
// a model version or an alias uses is kept unless the caller forces it.

import { closeMaintenance, openMaintenance } from "./history";
import { emitQuery, query, queryOne, raise, type SqlInterval } from "./host";
import { findDataset, findVersion } from "./versions";

/**
 * Every use of the versions `ids` (an SQL expression of a bigint[]) that keeps them: as an
 * input of a run, by a model version linked to them or produced by such a run, and the
 * aliases serving those model versions.
 */
function usesSql(ids: string): string {
  return `
  select i.version_id, 'input of run ' || e.name || ' (' || e.id || ')' as use
  from strata.experiment_inputs i join strata.experiments e on e.id = i.experiment_id
  where i.version_id = any(${ids})
  union all
  select l.target_id, 'used by model ' || m.name || '/' || mv.version
         || coalesce(' (alias ' || (select string_agg(a.alias, ', ' order by a.alias) from strata.model_aliases a
                                    where a.model_version_id = mv.id) || ')', '')
  from strata.lineage_edges l join strata.model_versions mv on mv.id = l.source_id join strata.models m on m.id = mv.model_id
  where l.target_kind = 'dataset_version' and l.source_kind = 'model_version' and l.target_id = any(${ids})
  union all
  select i.version_id, 'trained model ' || m.name || '/' || mv.version
         || coalesce(' (alias ' || (select string_agg(a.alias, ', ' order by a.alias) from strata.model_aliases a
                                    where a.model_version_id = mv.id) || ')', '')
  from strata.experiment_inputs i join strata.model_versions mv on mv.experiment_id = i.experiment_id
  join strata.models m on m.id = mv.model_id
  where i.version_id = any(${ids})`;
}

function usesOf(ids: number[]): { version_id: number; use: string }[] {
  if (ids.length === 0) return [];
  return query<{ version_id: number; use: string }>(`${usesSql("$1::bigint[]")} order by 1, 2`, ["text"], `{${ids.join(",")}}`);
}

/** Mark versions deleted, with an audit row saying what was asked (`what`) and what they were used by. */
function markDeleted(ids: number[], what: string, force: boolean | undefined, uses: { use: string }[]): void {
  const detail = queryOne<{ j: string }>(
    "select jsonb_build_object('deleted', $1::text, 'versions', $2::int, 'force', $3::boolean, 'uses', $4::text)::text as j",
    ["text", "int", "boolean", "text"],
    what,
    ids.length,
    force === true,
    uses.map((u) => u.use).join("; "),
  )!.j;
  openMaintenance("delete versions", detail);
  query(
    `update strata.versions set state = 'deleted', deleted_at = now(), deleted_by = session_user
     where id = any($1::bigint[]) and state = 'committed'`,
    ["text"],
    `{${ids.join(",")}}`,
  );
  closeMaintenance();
}

function refuseUsed(what: string, uses: { use: string }[], force: boolean | undefined): void {
  if (uses.length === 0 || force === true) return;
  const shown = uses.slice(0, 3).map((u) => u.use);
  if (uses.length > 3) shown.push(`${uses.length - 3} more`);
  raise(
    "versionInUse",
    `${what} is in use: ${shown.join("; ")}`,
    undefined,
    "delete it anyway with force (strata rm --force); its lineage stays",
  );
}

/** strata.delete_version: delete one version (refused when used, unless forced); returns its row, now deleted. */
export function deleteVersion(dataset: string | undefined, tag: string | undefined, force: boolean | undefined): void {
  if (tag === undefined) raise("invalidArgument", "name the version to delete");
  const v = findVersion(dataset, tag);
  const uses = usesOf([v.id]);
  refuseUsed(`version ${dataset}@${tag}`, uses, force);
  markDeleted([v.id], `${dataset}@${tag}`, force, uses);
  emitQuery("select v as c from strata.v_versions v where v.id = $1", ["bigint"], v.id);
}

/** strata.delete_dataset: delete every version of a dataset and the dataset (its name can be pushed to again); returns the versions deleted. */
export function deleteDataset(name: string | undefined, force: boolean | undefined): void {
  const d = findDataset(name);
  const ids = query<{ id: number }>("select id from strata.versions where dataset_id = $1 and state = 'committed'", ["bigint"], d.id).map(
    (r) => r.id,
  );
  const uses = usesOf(ids);
  refuseUsed(`dataset ${name}`, uses, force);
  markDeleted(ids, `dataset ${name}`, force, uses);
  openMaintenance("delete dataset", `{"dataset": "${d.name}"}`);
  query("update strata.datasets set deleted_at = now(), deleted_by = session_user where id = $1", ["bigint"], d.id);
  closeMaintenance();
  emitQuery("select v as c from strata.v_versions v where v.id = any($1::bigint[]) order by v.seq desc", ["text"], `{${ids.join(",")}}`);
}

/**
 * strata.set_retention: the dataset keeps its last `keep_last` versions and those younger
 * than `keep_within` (either may be null, not both), besides its latest, tagged and used
 * ones. Both null removes the policy.
 */
export function setRetention(dataset: string | undefined, keepLast: number | undefined, keepWithin: SqlInterval | undefined): void {
  const d = findDataset(dataset);
  if (keepLast !== undefined && !(keepLast > 0)) raise("invalidArgument", "keep_last must be a positive number of versions");
  if (keepWithin !== undefined && !queryOne<{ ok: boolean }>("select $1::interval > interval '0' as ok", ["interval"], keepWithin)!.ok)
    raise("invalidArgument", "keep_within must be a positive interval");
  if (keepLast === undefined && keepWithin === undefined) {
    query("delete from strata.retention_policies where dataset_id = $1", ["bigint"], d.id);
    return;
  }
  query(
    `insert into strata.retention_policies (dataset_id, keep_last, keep_within) values ($1, $2, $3)
     on conflict (dataset_id) do update set keep_last = excluded.keep_last, keep_within = excluded.keep_within,
                                            set_by = session_user, set_at = now()`,
    ["bigint", "int", "interval"],
    d.id,
    keepLast,
    keepWithin,
  );
}

/**
 * strata.apply_retention: for the dataset (every dataset with a policy when null), each
 * live version and why it is kept, or null when the policy deletes it; unless dry_run,
 * those are deleted. The latest version is always kept.
 */
export function applyRetention(dataset: string | undefined, dryRun: boolean | undefined): void {
  const datasetId = dataset === undefined ? undefined : findDataset(dataset).id;
  if (
    datasetId !== undefined &&
    queryOne("select 1 from strata.retention_policies where dataset_id = $1", ["bigint"], datasetId) === undefined
  )
    raise("noRetentionPolicy", `dataset "${dataset}" has no retention policy`, undefined, "set one first (strata retention set)");
  query(
    `create temp table strata_retention on commit drop as
     with v as (
       select v.id, d.name as dataset, v.tag, v.seq, v.created_at, p.keep_last, p.keep_within,
              row_number() over (partition by v.dataset_id order by v.seq desc) as rank
       from strata.retention_policies p join strata.datasets d on d.id = p.dataset_id
       join strata.versions v on v.dataset_id = d.id and v.state = 'committed'
       where d.deleted_at is null and ($1::bigint is null or d.id = $1)),
     uses as (select version_id, string_agg(use, '; ' order by use) as uses from (${usesSql("array(select id from v)")}) u group by version_id)
     select v.id, v.dataset, v.tag, v.seq, v.created_at,
            case when v.rank = 1 then 'latest'
                 when v.rank <= v.keep_last then 'one of the last ' || v.keep_last
                 when v.created_at > now() - v.keep_within then 'younger than ' || v.keep_within
                 when v.tag !~ '^v[0-9]+$' then 'tagged'
                 when u.uses is not null then u.uses end as kept_because
     from v left join uses u on u.version_id = v.id`,
    ["bigint"],
    datasetId,
  );
  const doomed = query<{ id: number }>("select id from strata_retention where kept_because is null", []).map((r) => r.id);
  if (dryRun !== true && doomed.length > 0) markDeleted(doomed, `by the retention policy of ${dataset ?? "every dataset"}`, false, []);
  emitQuery(
    `select (r.dataset, r.tag, r.seq, r.created_at, r.kept_because)::strata.retention_decision as c
     from strata_retention r order by r.dataset, r.seq desc`,
    [],
  );
}
