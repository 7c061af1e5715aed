// The model registry. A model version's files are stored as a dataset version's are,
// through the same push protocol (push_begin's twin model_push_begin, then packs,
// contents and trees as for data, then commit_model_version), so models dedup against
// each other and against data, and check out the same way. Versions are numbered 1, 2,
// ... per model (the model row is locked for the commit) and link to the run that
// produced them (an edge model_version --produced_by--> run).
//
// Aliases (production, staging, any name) point at one version, or split traffic between
// versions by weight ({"3": 0.9, "4": 0.1}). The current targets are state
// (model_aliases, model_alias_targets); every move is also a row of model_alias_history
// (who, when, from which targets to which), which is history: append-only. A rollback
// undoes the latest move not undone yet, returning the alias to the targets before it.
//
// Routing (resolve_alias): u = the first 52 bits of SHA-256(model || '/' || alias || '/'
// || key) / 2^52, a number in [0, 1); the targets in version order each own a slice of
// [0, 1) as wide as their weight, and the key goes to the version whose slice holds u. So
// one key always lands on the same version, and moving weight from one version to the
// next (90/10 -> 80/20) moves only the keys in the slice that changed hands.

import { checkGcFence } from "./gc";
import { checkHash } from "./hashes";
import { commitInputs } from "./pushes";
import { type Bytes, emit, emitQuery, query, queryOne, raise, type SqlJson } from "./host";
import { checkName } from "./names";
import { findRun } from "./experiments";
import { folderTree, splitPrefix } from "./treepaths";

/** The chunk sizes of model pushes (loader/chunk/params.ts has the same defaults). */
const CHUNKING = { min: 262144, avg: 1048576, max: 4194304 };

export interface ModelRow {
  id: number;
  name: string;
}

export interface ModelVersionRow {
  id: number;
  model_id: number;
  version: number;
  content_hash: Bytes;
}

export function findModel(name: string | undefined): ModelRow {
  checkName("model", name);
  const m = queryOne<ModelRow>("select id, name from strata.models where name = $1", ["text"], name);
  if (m === undefined) return raise("unknownModel", `model "${name}" does not exist`);
  return m;
}

/** Version `version` of `model`; its latest when version is null. */
export function findModelVersion(model: string | undefined, version: number | undefined): ModelVersionRow {
  const m = findModel(model);
  const v =
    version === undefined
      ? queryOne<ModelVersionRow>(
          "select id, model_id, version, content_hash from strata.model_versions where model_id = $1 order by version desc limit 1",
          ["bigint"],
          m.id,
        )
      : queryOne<ModelVersionRow>(
          "select id, model_id, version, content_hash from strata.model_versions where model_id = $1 and version = $2",
          ["bigint", "int"],
          m.id,
          version,
        );
  if (v === undefined)
    return version === undefined
      ? raise("unknownModelVersion", `model "${m.name}" has no versions yet`)
      : raise("unknownModelVersion", `model "${m.name}" has no version ${version}`);
  return v;
}

/** strata.model_push_begin: open a push of a model version; emits the push id and the chunk sizes. */
export function modelPushBegin(model: string | undefined): void {
  checkName("model", model);
  const p = queryOne<{ id: number }>("insert into strata.pushes (dataset, kind) values ($1, 'model') returning id", ["text"], model)!;
  emit(p.id, CHUNKING.min, CHUNKING.avg, CHUNKING.max);
}

/**
 * strata.commit_model_version: the stored tree `content_hash` as the next version of
 * `model` (created when missing), produced by `run` when given. Emits its v_model_versions row.
 */
export function commitModelVersion(
  model: string | undefined,
  contentHash: Bytes | undefined,
  run: string | undefined,
  message: string | undefined,
  metadata: SqlJson | undefined,
  push: number | undefined,
): void {
  checkHash("content hash", contentHash);
  checkName("model", model);
  if (metadata !== undefined && queryOne<{ t: string }>("select jsonb_typeof($1) as t", ["jsonb"], metadata)!.t !== "object")
    raise("invalidArgument", "metadata must be a JSON object");
  const inputs = commitInputs(contentHash, push, "model", model!);
  if (push !== undefined) checkGcFence(push);
  const producer = run === undefined ? undefined : findRun(run);

  query("insert into strata.models (name) values ($1) on conflict (name) do nothing", ["text"], model);
  // Serialise commits to this model: version numbers stay distinct.
  const m = queryOne<{ id: number }>("select id from strata.models where name = $1 for update", ["text"], model)!;
  const v = queryOne<{ id: number }>(
    `insert into strata.model_versions (model_id, version, content_hash, file_count, size, new_bytes, experiment_id, message, metadata)
     select $1, coalesce(max(version), 0) + 1, $2, $3, $4, $5, $6, $7, coalesce($8, '{}'::jsonb)
     from strata.model_versions where model_id = $1
     returning id`,
    ["bigint", "bytea", "bigint", "bigint", "bigint", "bigint", "text", "jsonb"],
    m.id,
    contentHash,
    inputs.fileCount,
    inputs.size,
    inputs.newBytes,
    producer?.id,
    message,
    metadata,
  )!;
  if (push !== undefined)
    query("update strata.pushes set model_version_id = $2, finished_at = now() where id = $1", ["bigint", "bigint"], push, v.id);
  if (producer !== undefined)
    query(
      `insert into strata.lineage_edges (source_kind, source_id, relation, target_kind, target_id)
       values ('model_version', $1, 'produced_by', 'experiment', $2) on conflict do nothing`,
      ["bigint", "bigint"],
      v.id,
      producer.id,
    );
  emitQuery("select v as c from strata.v_model_versions v where v.id = $1", ["bigint"], v.id);
}

/** strata.model_version: one version of a model (its latest when version is null). */
export function modelVersion(model: string | undefined, version: number | undefined): void {
  const v = findModelVersion(model, version);
  emitQuery("select v as c from strata.v_model_versions v where v.id = $1", ["bigint"], v.id);
}

/** strata.model_history: the versions of a model, newest first. */
export function modelHistory(model: string | undefined): void {
  const m = findModel(model);
  emitQuery("select v as c from strata.v_model_versions v where v.model_id = $1 order by v.version desc", ["bigint"], m.id);
}

/** Lock the alias row for its move; returns its current targets as jsonb text {"version": weight} (undefined for a new alias). */
function lockAlias(modelId: number, alias: string): string | undefined {
  return queryOne<{ targets: string | undefined }>(
    `select (select jsonb_object_agg(mv.version::text, t.weight order by mv.version)
             from strata.model_alias_targets t join strata.model_versions mv on mv.id = t.model_version_id
             where t.model_id = a.model_id and t.alias = a.alias)::text as targets
     from strata.model_aliases a where a.model_id = $1 and a.alias = $2 for update`,
    ["bigint", "text"],
    modelId,
    alias,
  )?.targets;
}

/** Point the alias at `targets` (jsonb text {"version": weight}, checked) and record the move. */
function moveAlias(
  modelId: number,
  alias: string,
  from: string | undefined,
  targets: string,
  action: "set" | "rollback",
  undoes?: number,
): void {
  query("delete from strata.model_alias_targets where model_id = $1 and alias = $2", ["bigint", "text"], modelId, alias);
  query(
    `insert into strata.model_alias_targets (model_id, alias, model_version_id, weight)
     select $1, $2, mv.id, (t.value #>> '{}')::numeric
     from jsonb_each($3::jsonb) t join strata.model_versions mv on mv.model_id = $1 and mv.version = t.key::int`,
    ["bigint", "text", "text"],
    modelId,
    alias,
    targets,
  );
  const primary = queryOne<{ id: number }>(
    `select t.model_version_id as id from strata.model_alias_targets t join strata.model_versions mv on mv.id = t.model_version_id
     where t.model_id = $1 and t.alias = $2 order by t.weight desc, mv.version desc limit 1`,
    ["bigint", "text"],
    modelId,
    alias,
  )!;
  query(
    "update strata.model_aliases set model_version_id = $3, updated_at = now() where model_id = $1 and alias = $2",
    ["bigint", "text", "bigint"],
    modelId,
    alias,
    primary.id,
  );
  query(
    `insert into strata.model_alias_history (model_id, alias, model_version_id, action, from_targets, to_targets, undoes)
     values ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7)`,
    ["bigint", "text", "bigint", "text", "text", "text", "bigint"],
    modelId,
    alias,
    primary.id,
    action,
    from,
    targets,
    undoes,
  );
}

const MAX_TARGETS = 100;

/**
 * The targets of set_alias as jsonb text {"3": 0.9, "4": 0.1} (keys version numbers in
 * order, values their weights), checked: every version is the model's, weights are
 * numbers in (0, 1] adding up to 1 (within 1e-9).
 */
function targetsOf(model: ModelRow, version: number | undefined, weights: SqlJson | undefined): string {
  if ((version === undefined) === (weights === undefined))
    return raise("invalidArgument", "give an alias either one version or weights {version: share}, not both or neither");
  if (version !== undefined) {
    findModelVersion(model.name, version);
    return `{"${version}": 1}`;
  }
  const c = queryOne<{ t: string; n: number; why: string | undefined; sum: string | undefined; targets: string | undefined }>(
    `with w as (select key, value from jsonb_each(case when jsonb_typeof($1) = 'object' then $1 end))
     select jsonb_typeof($1) as t, (select count(*) from w)::int as n,
            (select case when key !~ '^[1-9][0-9]{0,8}$' then 'key "' || left(key, 40) || '" is not a version number'
                         else 'the weight of version ' || key || ' is not a number in (0, 1]' end
             from w where key !~ '^[1-9][0-9]{0,8}$' or jsonb_typeof(value) <> 'number'
                          or (value #>> '{}')::numeric <= 0 or (value #>> '{}')::numeric > 1
             order by key limit 1) as why,
            (select sum((value #>> '{}')::numeric)::text from w where jsonb_typeof(value) = 'number') as sum,
            (select jsonb_object_agg(key, value order by key::int)::text from w where key ~ '^[1-9][0-9]{0,8}$') as targets`,
    ["jsonb"],
    weights,
  )!;
  if (c.t !== "object") raise("invalidWeights", 'weights must be a JSON object {"version": share}');
  if (c.n === 0) raise("invalidWeights", "weights name no version");
  if (c.n > MAX_TARGETS) raise("invalidWeights", `an alias splits between at most ${MAX_TARGETS} versions`);
  if (c.why !== undefined) raise("invalidWeights", c.why);
  if (queryOne("select 1 where abs($1::numeric - 1) > 1e-9", ["text"], c.sum) !== undefined)
    raise("invalidWeights", `weights must sum to 1, they sum to ${c.sum}`);
  const missing = queryOne<{ v: string }>(
    `select t.key as v from jsonb_each($2::jsonb) t
     where not exists (select 1 from strata.model_versions mv where mv.model_id = $1 and mv.version = t.key::int)
     order by t.key::int limit 1`,
    ["bigint", "text"],
    model.id,
    c.targets,
  );
  if (missing !== undefined) raise("unknownModelVersion", `model "${model.name}" has no version ${missing.v}`);
  return c.targets!;
}

/**
 * strata.set_alias: point alias `alias` of `model` at one version, or split it by
 * weights ({"3": 0.9, "4": 0.1}); the move is recorded. Emits the alias's v_aliases rows.
 */
export function setAlias(
  model: string | undefined,
  alias: string | undefined,
  version: number | undefined,
  weights: SqlJson | undefined,
): void {
  const m = findModel(model);
  checkName("alias", alias);
  const targets = targetsOf(m, version, weights);
  query(
    "insert into strata.model_aliases (model_id, alias, model_version_id) select $1, $2, mv.id from strata.model_versions mv where mv.model_id = $1 and mv.version = (select min(key::int) from jsonb_each($3::jsonb)) on conflict do nothing",
    ["bigint", "text", "text"],
    m.id,
    alias,
    targets,
  );
  const current = lockAlias(m.id, alias!);
  const same =
    current !== undefined && queryOne<{ same: boolean }>("select $1::jsonb = $2::jsonb as same", ["text", "text"], current, targets)!.same;
  if (!same) moveAlias(m.id, alias!, current, targets, "set");
  emitQuery(
    "select v as c from strata.v_aliases v where v.model_id = $1 and v.alias = $2 order by v.version",
    ["bigint", "text"],
    m.id,
    alias,
  );
}

/** strata.rollback_alias: undo the alias's latest move not undone yet; emits its v_aliases rows. */
export function rollbackAlias(model: string | undefined, alias: string | undefined): void {
  const m = findModel(model);
  checkName("alias", alias);
  if (queryOne("select 1 from strata.model_aliases where model_id = $1 and alias = $2", ["bigint", "text"], m.id, alias) === undefined)
    raise("unknownAlias", `model "${m.name}" has no alias "${alias}"`);
  const current = lockAlias(m.id, alias!);
  const last = queryOne<{ id: number; from_targets: string | undefined }>(
    `select h.id, h.from_targets::text as from_targets from strata.model_alias_history h
     where h.model_id = $1 and h.alias = $2 and h.action = 'set'
       and not exists (select 1 from strata.model_alias_history r where r.undoes = h.id)
     order by h.id desc limit 1`,
    ["bigint", "text"],
    m.id,
    alias,
  );
  if (last?.from_targets === undefined)
    raise("noEarlierTarget", `alias "${alias}" of model "${m.name}" has no earlier target to roll back to`);
  moveAlias(m.id, alias!, current, last!.from_targets!, "rollback", last!.id);
  emitQuery(
    "select v as c from strata.v_aliases v where v.model_id = $1 and v.alias = $2 order by v.version",
    ["bigint", "text"],
    m.id,
    alias,
  );
}

/**
 * strata.resolve_alias: the version number `alias` sends `routing_key` to (see the
 * routing rule above); with no key, the primary target (the largest weight).
 */
export function resolveAlias(model: string | undefined, alias: string | undefined, routingKey: string | undefined): number {
  const m = findModel(model);
  checkName("alias", alias);
  const r =
    routingKey === undefined
      ? queryOne<{ version: number }>(
          `select mv.version from strata.model_aliases a join strata.model_versions mv on mv.id = a.model_version_id
           where a.model_id = $1 and a.alias = $2`,
          ["bigint", "text"],
          m.id,
          alias,
        )
      : queryOne<{ version: number }>(
          `with u as (select ('x' || left(encode(sha256(convert_to($3 || '/' || $2 || '/' || $4, 'UTF8')), 'hex'), 13))::bit(52)::bigint::numeric
                             / 4503599627370496 as u),
                t as (select mv.version, sum(t.weight) over (order by mv.version) as upto, sum(t.weight) over () as total
                      from strata.model_alias_targets t join strata.model_versions mv on mv.id = t.model_version_id
                      where t.model_id = $1 and t.alias = $2)
           select t.version from t, u where t.upto > u.u * t.total order by t.version limit 1`,
          ["bigint", "text", "text", "text"],
          m.id,
          alias,
          m.name,
          routingKey,
        );
  if (r === undefined) return raise("unknownAlias", `model "${m.name}" has no alias "${alias}"`);
  return r.version;
}

/** strata._resolve_model_prefix: as _resolve_prefix, for model_ls. */
export function resolveModelPrefix(model: string | undefined, version: number | undefined, prefix: string | undefined): void {
  const v = findModelVersion(model, version);
  const p = splitPrefix(prefix);
  emit(folderTree(v.content_hash, p.folders), p.base, p.rest);
}
