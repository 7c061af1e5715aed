// Lineage from the Node side: the graph around a node (strata.lineage), what is downstream
// of a node or of a file (strata.impact), every version holding a file's contents
// (strata.versions_containing), and edges users record (strata.add_edge). format.ts turns
// a graph into text, DOT, Mermaid or OpenLineage events.

import type { Session } from "../session.js";
import { parseRef } from "../versions.js";

export type NodeKind = "dataset_version" | "run" | "model_version";
export type Direction = "up" | "down" | "both";

export interface LineageNode {
  /** dataset:NAME@TAG, run:UUID, model:NAME/N */
  node: string;
  kind: NodeKind;
  label: string;
  /** Least number of edges from the start. */
  depth: number;
}

export interface LineageEdge {
  /** Made from, or depending on, the target. */
  source: string;
  relation: string;
  target: string;
  depth: number;
}

export interface LineageGraph {
  start: string;
  direction: Direction;
  maxDepth: number;
  nodes: LineageNode[];
  edges: LineageEdge[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A node as people type it: dataset:, run: and model: names pass; a bare UUID is a run, anything else a dataset version. */
export function nodeName(text: string): string {
  if (/^(dataset|run|model):/.test(text)) return text;
  if (UUID.test(text)) return `run:${text}`;
  return `dataset:${text}`;
}

export async function lineage(s: Session, node: string, opts: { direction?: Direction; depth?: number } = {}): Promise<LineageGraph> {
  const direction = opts.direction ?? "both";
  const maxDepth = opts.depth ?? 20;
  const start = nodeName(node);
  const rows = await s.query<{
    item: "node" | "edge";
    depth: number;
    node: string | null;
    kind: NodeKind | null;
    label: string | null;
    source: string | null;
    relation: string | null;
    target: string | null;
  }>("select * from strata.lineage($1, $2, $3)", [start, direction, maxDepth]);
  const graph: LineageGraph = { start, direction, maxDepth, nodes: [], edges: [] };
  for (const r of rows)
    if (r.item === "node") graph.nodes.push({ node: r.node!, kind: r.kind!, label: r.label!, depth: r.depth });
    else graph.edges.push({ source: r.source!, relation: r.relation!, target: r.target!, depth: r.depth });
  // The start as the database names it (dataset:raw is dataset:raw@v3 there).
  graph.start = graph.nodes.find((n) => n.depth === 0)?.node ?? start;
  return graph;
}

export interface ImpactRow {
  kind: NodeKind | "alias";
  node: string;
  label: string;
  /** For an alias: the model version it serves. */
  serves: string | null;
  /** For an alias: that version's share of its traffic. */
  weight: string | null;
  /** Where the walk began (the node, or the versions holding the file). */
  start: boolean;
}

/** Everything downstream of a node, or (with `path`) of the file at path in it, wherever its contents are. */
export async function impact(s: Session, node: string, path?: string): Promise<ImpactRow[]> {
  const rows = await s.query<{
    kind: ImpactRow["kind"];
    node: string;
    label: string;
    serves: string | null;
    weight: string | null;
    start: boolean;
  }>("select * from strata.impact($1, $2)", [nodeName(node), path ?? null]);
  return rows.map((r) => ({ ...r, weight: r.weight === null ? null : String(r.weight) }));
}

export interface Containing {
  kind: "dataset_version" | "model_version";
  name: string;
  /** The tag of a dataset version, the number of a model version. */
  version: string;
  node: string;
  /** Where the contents are in it. */
  path: string;
  createdAt: Date;
}

/** Every dataset version and model version holding the exact contents of the file at `path` in `ref` (dataset@tag). */
export async function versionsContaining(s: Session, ref: string, path: string): Promise<Containing[]> {
  const r = parseRef(ref);
  const rows = await s.query<{ kind: Containing["kind"]; name: string; version: string; node: string; path: string; created_at: Date }>(
    "select * from strata.versions_containing($1, $2, $3)",
    [r.dataset, r.tag ?? null, path],
  );
  return rows.map((x) => ({ kind: x.kind, name: x.name, version: x.version, node: x.node, path: x.path, createdAt: x.created_at }));
}

/** Record source --relation--> target (the source made from the target); refused when it would close a cycle. */
export async function addEdge(s: Session, source: string, relation: string, target: string): Promise<number> {
  const [r] = await s.query<{ id: string }>("select strata.add_edge($1, $2, $3) as id", [nodeName(source), relation, nodeName(target)]);
  return Number(r!.id);
}
