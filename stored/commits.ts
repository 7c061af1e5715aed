// Pushing a version, as the loader (or any client) does it through function calls
// (docs/push-protocol.md): push_begin checks the names and says how to chunk; packs,
// contents and trees are registered and put as they are read (chunks.ts, objects.ts);
// commit_version then makes a stored root tree a version. The dataset row is locked for
// the commit, so concurrent pushes to one dataset get distinct sequence numbers and tags.

import { checkGcFence } from "./gc";
import { checkHash } from "./hashes";
import { commitInputs } from "./pushes";
import { closeMaintenance, openMaintenance } from "./history";
import { type Bytes, emit, emitQuery, query, queryOne, raise, type SqlArray, type SqlJson } from "./host";
import { checkName, isAutomaticTag, splitRef } from "./names";
import { findVersion } from "./versions";

/** The chunk sizes of a dataset that does not exist yet (loader/chunk/params.ts has the same). */
const DEFAULT_CHUNKING = { min: 262144, avg: 1048576, max: 4194304 };

function checkTag(tag: string | undefined): void {
  if (tag === undefined) return;
  checkName("tag", tag);
  if (isAutomaticTag(tag))
    raise("invalidName", `tag "${tag}" is reserved`, undefined, "tags v1, v2, ... are given automatically; choose another tag");
}

function tagTaken(datasetId: number, tag: string): boolean {
  return queryOne("select 1 from strata.versions where dataset_id = $1 and tag = $2", ["bigint", "text"], datasetId, tag) !== undefined;
}

/**
 * strata.push_begin: checks a push's names before anything is uploaded (the tag is free
 * and not reserved, the parent exists) and opens a push. Emits the push id and the
 * dataset's chunk sizes (the defaults for a dataset the commit will create).
 */
export function pushBegin(dataset: string | undefined, parent: string | undefined, tag: string | undefined): void {
  checkName("dataset", dataset);
  checkTag(tag);
  const d = queryOne<{ id: number; chunking: SqlJson }>("select id, chunking from strata.datasets where name = $1", ["text"], dataset);
  if (d === undefined && parent !== undefined) raise("unknownDataset", `dataset "${dataset}" does not exist`);
  if (d !== undefined && tag !== undefined && tagTaken(d.id, tag)) raise("tagTaken", `dataset "${dataset}" already has a version "${tag}"`);
  if (parent !== undefined) findVersion(dataset, parent);
  const p = queryOne<{ id: number; min: number; avg: number; max: number }>(
    `insert into strata.pushes (dataset) values ($1)
     returning id, ($2::jsonb->>'min')::int as min, ($2::jsonb->>'avg')::int as avg, ($2::jsonb->>'max')::int as max`,
    ["text", "jsonb"],
    dataset,
    d?.chunking ?? `{"min": ${DEFAULT_CHUNKING.min}, "avg": ${DEFAULT_CHUNKING.avg}, "max": ${DEFAULT_CHUNKING.max}}`,
  )!;
  emit(p.id, p.min, p.avg, p.max);
}

/**
 * strata.commit_version: the stored tree `content_hash` as a new version of `dataset`
 * (created when missing), after `parent` (default: the latest), tagged v1, v2, ... when
 * tag is null. New bytes are those the push (when given) stored first. `derivedFrom`
 * ("dataset@tag", a dataset alone for its latest version) names the versions it was made
 * from, recorded as lineage edges (version --derived_from--> each) like the parent's.
 */
export function commitVersion(
  dataset: string | undefined,
  contentHash: Bytes | undefined,
  parentTag: string | undefined,
  tag: string | undefined,
  message: string | undefined,
  metadata: SqlJson | undefined,
  push: number | undefined,
  derivedFrom: SqlArray<string> | undefined,
): void {
  checkHash("content hash", contentHash);
  checkName("dataset", dataset);
  checkTag(tag);
  const sources = derivedFrom === undefined ? [] : fromVersions(derivedFrom);
  const inputs = commitInputs(contentHash, push, "dataset", dataset!);

  // Made here, not earlier: a push that fails leaves no empty dataset behind.
  query(
    `insert into strata.datasets (name, chunking) values ($1, $2::jsonb) on conflict (name) do nothing`,
    ["text", "jsonb"],
    dataset,
    `{"min": ${DEFAULT_CHUNKING.min}, "avg": ${DEFAULT_CHUNKING.avg}, "max": ${DEFAULT_CHUNKING.max}}`,
  );
  // Serialise commits to this dataset: sequence numbers and tags stay distinct.
  const d = queryOne<{ id: number; deleted: boolean }>(
    "select id, deleted_at is not null as deleted from strata.datasets where name = $1 for update",
    ["text"],
    dataset,
  )!;
  if (d.deleted) revive(d.id, dataset!);
  if (tag !== undefined && tagTaken(d.id, tag)) raise("tagTaken", `dataset "${dataset}" already has a version "${tag}"`);
  if (push !== undefined) checkGcFence(push);
  const parent =
    parentTag !== undefined
      ? findVersion(dataset, parentTag)
      : queryOne<{ id: number }>(
          "select id from strata.versions where dataset_id = $1 and state = 'committed' order by seq desc limit 1",
          ["bigint"],
          d.id,
        );
  const seq = queryOne<{ n: number }>(
    "select coalesce(max(seq), 0) + 1 as n from strata.versions where dataset_id = $1",
    ["bigint"],
    d.id,
  )!.n;
  const finalTag = tag ?? `v${seq}`;
  if (tag === undefined && tagTaken(d.id, finalTag)) raise("tagTaken", `dataset "${dataset}" already has a version "${finalTag}"`);
  const v = queryOne<{ id: number }>(
    `insert into strata.versions (dataset_id, seq, tag, parent_id, content_hash, file_count, size, new_bytes, message, metadata)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, coalesce($10, '{}'::jsonb)) returning id`,
    ["bigint", "int", "text", "bigint", "bytea", "bigint", "bigint", "bigint", "text", "jsonb"],
    d.id,
    seq,
    finalTag,
    parent?.id,
    contentHash,
    inputs.fileCount,
    inputs.size,
    inputs.newBytes,
    message,
    metadata,
  )!;
  if (push !== undefined)
    query("update strata.pushes set version_id = $2, finished_at = now() where id = $1", ["bigint", "bigint"], push, v.id);
  if (parent !== undefined)
    query(
      `insert into strata.lineage_edges (source_kind, source_id, relation, target_kind, target_id)
       values ('dataset_version', $1, 'derived_from', 'dataset_version', $2) on conflict do nothing`,
      ["bigint", "bigint"],
      v.id,
      parent.id,
    );
  for (const from of sources)
    query(
      `insert into strata.lineage_edges (source_kind, source_id, relation, target_kind, target_id)
       values ('dataset_version', $1, 'derived_from', 'dataset_version', $2) on conflict do nothing`,
      ["bigint", "bigint"],
      v.id,
      from,
    );
  emitQuery("select v as c from strata.v_versions v where v.id = $1", ["bigint"], v.id);
}

/** A deleted dataset pushed to again lives on: its next version numbers on from its last. */
function revive(datasetId: number, name: string): void {
  openMaintenance("revive dataset", `{"dataset": "${name}"}`); // names follow the naming rule: no quoting needed
  query("update strata.datasets set deleted_at = null, deleted_by = null where id = $1", ["bigint"], datasetId);
  closeMaintenance();
}

/** Most versions one commit is derived from. */
const MAX_SOURCES = 1000;

/** The version ids of `refs` ("dataset@tag" or "dataset"), each checked. */
function fromVersions(refs: SqlArray<string>): number[] {
  const rows = query<{ ref: string | undefined }>("select x as ref from unnest($1::text[]) x", ["text[]"], refs);
  if (rows.length > MAX_SOURCES) raise("invalidArgument", `a version is derived from at most ${MAX_SOURCES} versions, got ${rows.length}`);
  return rows.map((r) => {
    if (r.ref === undefined) return raise("invalidArgument", "derived_from holds a null");
    return findVersion(...splitRef(r.ref)).id;
  });
}

/**
 * strata.claim_store: the id of the object store this database's chunks live in. The
 * first caller's proposal becomes it; later callers learn it. Emits the id, whether this
 * call made it, and whether the database has chunks (loader/store/identity.ts decides).
 */
export function claimStore(proposed: string | undefined): void {
  if (proposed === undefined || proposed === "") raise("invalidArgument", "a store id must not be empty");
  const ins = queryOne<{ value: string }>(
    "insert into strata.settings (key, value) values ('store_id', $1) on conflict (key) do nothing returning value",
    ["text"],
    proposed,
  );
  const row = ins ?? queryOne<{ value: string }>("select value from strata.settings where key = 'store_id'", [])!;
  const chunks = queryOne("select 1 from strata.chunks limit 1", []) !== undefined;
  emit(row.value, ins !== undefined, chunks);
}
