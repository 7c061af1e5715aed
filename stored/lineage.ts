// Lineage: the graph of lineage_edges, source --relation--> target, the source made from
// or depending on the target (a version derived_from its parent, a run trained_on a
// version, a model version produced_by a run). "Up" follows edges to what a node came
// from, "down" to what came from it. The system records the edges it sees (commits,
// runs, model pushes); strata.add_edge records those it cannot see, refusing a cycle.
//
// Nodes are named for people: dataset:NAME@TAG (dataset:NAME for the latest version),
// run:UUID, model:NAME/N (model:NAME for the latest, model:NAME@ALIAS for the alias's
// primary target). The walks themselves are SQL (sql/35_lineage.sql); the functions here
// check their arguments and resolve the names, raising Strata's errors first.

import { type Bytes, emit, queryOne, raise } from "./host";
import { findRun } from "./experiments";
import { findModel, findModelVersion } from "./models";
import { lastIndexOfChar, splitRef } from "./names";
import { entryAt } from "./treepaths";
import { findVersion } from "./versions";

export type NodeKind = "dataset_version" | "experiment" | "model_version";

export interface LineageNode {
  kind: NodeKind;
  id: number;
  /** The root tree of a dataset or model version. */
  root?: Bytes;
}

const HINT = "name nodes dataset:NAME@TAG, run:UUID or model:NAME/N";

function cut(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}...` : s;
}

/** The node a readable name stands for; ST029 for a malformed name, the kind's own error for a missing one. */
export function findNode(node: string | undefined): LineageNode {
  if (node === undefined) return raise("invalidNode", "a node must not be null", undefined, HINT);
  const colon = node.indexOf(":");
  const kind = colon < 0 ? "" : node.slice(0, colon);
  const rest = node.slice(colon + 1);
  if (kind === "dataset") {
    const v = findVersion(...splitRef(rest));
    return { kind: "dataset_version", id: v.id, root: v.content_hash };
  }
  if (kind === "run") return { kind: "experiment", id: findRun(rest).id };
  if (kind === "model") {
    const slash = lastIndexOfChar(rest, "/");
    const at = lastIndexOfChar(rest, "@");
    if (slash >= 0) {
      const n = rest.slice(slash + 1);
      let digits = n.length > 0 && n.length <= 9 && n.charAt(0) !== "0";
      for (let i = 0; digits && i < n.length; i++) digits = "0123456789".includes(n.charAt(i));
      if (!digits) return raise("invalidNode", `"${cut(n)}" is not a model version number in ${cut(node)}`, undefined, HINT);
      const v = findModelVersion(rest.slice(0, slash), Number(n));
      return { kind: "model_version", id: v.id, root: v.content_hash };
    }
    if (at >= 0) {
      const m = findModel(rest.slice(0, at));
      const a = queryOne<{ id: number; content_hash: Bytes }>(
        `select mv.id, mv.content_hash from strata.model_aliases a join strata.model_versions mv on mv.id = a.model_version_id
         where a.model_id = $1 and a.alias = $2`,
        ["bigint", "text"],
        m.id,
        rest.slice(at + 1),
      );
      if (a === undefined) return raise("unknownAlias", `model "${m.name}" has no alias "${cut(rest.slice(at + 1))}"`);
      return { kind: "model_version", id: a.id, root: a.content_hash };
    }
    const v = findModelVersion(rest, undefined);
    return { kind: "model_version", id: v.id, root: v.content_hash };
  }
  return raise("invalidNode", `"${cut(node)}" is not a lineage node`, undefined, HINT);
}

const RELATION_HINT = "relations are 1-63 of a-z, 0-9 and _, starting with a letter (derived_from, labelled_by, ...)";

function checkRelation(relation: string | undefined): string {
  let ok = relation !== undefined && relation.length >= 1 && relation.length <= 63;
  for (let i = 0; ok && i < relation!.length; i++) {
    const c = relation!.charCodeAt(i);
    const letter = c >= 97 && c <= 122;
    ok = letter || (i > 0 && ((c >= 48 && c <= 57) || c === 95));
  }
  if (!ok) return raise("invalidArgument", `invalid relation "${cut(relation ?? "null")}"`, undefined, RELATION_HINT);
  return relation!;
}

/** Serialises add_edge calls: two edges added at once cannot close a cycle together. */
const EDGE_LOCK = 7_246_001_914;

/**
 * strata.add_edge: record that `source` --relation--> `target` (the source was made from,
 * or depends on, the target), an edge Strata cannot see itself (a Spark job, a labelling
 * round). Refuses an edge that would close a cycle (ST028). Returns the edge's id (the
 * existing one when it is recorded already).
 */
export function addEdge(source: string | undefined, relation: string | undefined, target: string | undefined): number {
  const s = findNode(source);
  const rel = checkRelation(relation);
  const t = findNode(target);
  if (s.kind === t.kind && s.id === t.id) raise("lineageCycle", `an edge from ${source} to itself is a cycle`);
  queryOne("select pg_advisory_xact_lock($1) is not null as locked", ["bigint"], EDGE_LOCK);
  // A cycle: the target already comes from the source (walking up from the target reaches it).
  const cycle = queryOne(
    `with recursive up (kind, id) as (
       select $1::text, $2::bigint
       union
       select e.target_kind, e.target_id from up join strata.lineage_edges e on e.source_kind = up.kind and e.source_id = up.id)
     select 1 from up where kind = $3 and id = $4 limit 1`,
    ["text", "bigint", "text", "bigint"],
    t.kind,
    t.id,
    s.kind,
    s.id,
  );
  if (cycle !== undefined) raise("lineageCycle", `${target} already comes from ${source}: the edge would close a cycle`);
  const row =
    queryOne<{ id: number }>(
      `insert into strata.lineage_edges (source_kind, source_id, relation, target_kind, target_id, origin)
       values ($1, $2, $3, $4, $5, 'user') on conflict do nothing returning id`,
      ["text", "bigint", "text", "text", "bigint"],
      s.kind,
      s.id,
      rel,
      t.kind,
      t.id,
    ) ??
    queryOne<{ id: number }>(
      `select id from strata.lineage_edges
       where source_kind = $1 and source_id = $2 and relation = $3 and target_kind = $4 and target_id = $5`,
      ["text", "bigint", "text", "text", "bigint"],
      s.kind,
      s.id,
      rel,
      t.kind,
      t.id,
    )!;
  return row.id;
}

/** The deepest walk lineage takes. */
export const MAX_DEPTH = 1000;

/** strata._lineage_start: the node, the walks to take and the depth, checked. */
export function lineageStart(node: string | undefined, direction: string | undefined, maxDepth: number | undefined): void {
  if (direction !== "up" && direction !== "down" && direction !== "both")
    raise("invalidArgument", `direction must be up, down or both, not ${direction === undefined ? "null" : `"${cut(direction)}"`}`);
  if (maxDepth === undefined || maxDepth < 0 || maxDepth > MAX_DEPTH)
    raise("invalidArgument", `max_depth must be from 0 to ${MAX_DEPTH}, got ${maxDepth ?? "null"}`);
  const n = findNode(node);
  emit(n.kind, n.id, direction !== "down", direction !== "up");
}

/**
 * strata._impact_start: the node impact starts from, and with a path the contents of
 * that file in it (impact then starts from every version holding those contents).
 */
export function impactStart(node: string | undefined, path: string | undefined): void {
  const n = findNode(node);
  if (path === undefined) emit(n.kind, n.id, undefined);
  else if (n.root === undefined) raise("invalidArgument", `${node} holds no files: give a dataset or model version with a path`);
  else emit(n.kind, n.id, fileAt(n.root, path, node!));
}

function fileAt(root: Bytes, path: string, where: string): Bytes {
  const e = entryAt(root, path);
  if (e === undefined || e.kind !== "file") return raise("unknownPath", `no file ${cut(path)} in ${cut(where)}`);
  return e.hash;
}

/** strata._resolve_file: the contents of the file at `path` in version `tag` of `dataset` (the latest when null). */
export function resolveFile(dataset: string | undefined, tag: string | undefined, path: string | undefined): void {
  const v = findVersion(dataset, tag);
  emit(fileAt(v.content_hash, path ?? "", `${dataset}@${v.tag}`));
}
