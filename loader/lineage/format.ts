// A lineage graph as text for people, as Graphviz DOT, as Mermaid, and as OpenLineage
// RunEvents (spec 2-0-2, https://openlineage.io/spec/2-0-2/OpenLineage.json): for every
// run of the graph a START event and, once it finished, its terminal event (COMPLETE for
// succeeded, FAIL for failed, ABORT for killed), with the run's UUID, the job (namespace,
// the run's name), its inputs and outputs as datasets carrying a version facet. Dataset
// versions are datasets NAME at version TAG; model versions are datasets models/NAME at
// version N. So the history can be sent to Marquez or any consumer.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../paths.js";
import type { Session } from "../session.js";
import type { LineageGraph } from "./lineage.js";

export type LineageFormat = "text" | "json" | "dot" | "mermaid" | "openlineage";

export function formatText(g: LineageGraph): string {
  const lines = [`lineage of ${g.start} (${g.direction}, depth ${g.maxDepth}): ${g.nodes.length} nodes, ${g.edges.length} edges`];
  for (const n of [...g.nodes].sort((a, b) => a.depth - b.depth || a.node.localeCompare(b.node)))
    lines.push(`${String(n.depth).padStart(3)}  ${n.node}${n.kind === "run" ? `  ${n.label}` : ""}`);
  if (g.edges.length > 0) lines.push("edges (source made from target):");
  for (const e of g.edges) lines.push(`  ${e.source} --${e.relation}--> ${e.target}`);
  return `${lines.join("\n")}\n`;
}

/** A DOT string literal. */
function dotString(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n").replace(/\r/g, "\\r")}"`;
}

export function formatDot(g: LineageGraph): string {
  const shape = { dataset_version: "box", run: "ellipse", model_version: "component" } as const;
  const lines = ["digraph lineage {", "  rankdir=BT;"];
  for (const n of g.nodes)
    lines.push(
      `  ${dotString(n.node)} [label=${dotString(n.kind === "run" ? `${n.label}\n${n.node.slice(4, 12)}` : n.node)}, shape=${shape[n.kind]}${n.depth === 0 ? ", style=bold" : ""}];`,
    );
  for (const e of g.edges) lines.push(`  ${dotString(e.source)} -> ${dotString(e.target)} [label=${dotString(e.relation)}];`);
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

/** Mermaid label text: quotes and markup characters as entity codes. */
function mermaidText(s: string): string {
  return s.replace(/[^A-Za-z0-9 _.:@/()-]/g, (c) => `#${c.codePointAt(0)};`);
}

export function formatMermaid(g: LineageGraph): string {
  const ids = new Map(g.nodes.map((n, i) => [n.node, `n${i}`]));
  const lines = ["flowchart BT"];
  for (const n of g.nodes) {
    const text = mermaidText(n.kind === "run" ? `${n.label} ${n.node.slice(0, 12)}` : n.node);
    lines.push(n.kind === "run" ? `  ${ids.get(n.node)}(["${text}"])` : `  ${ids.get(n.node)}["${text}"]`);
  }
  for (const e of g.edges) lines.push(`  ${ids.get(e.source)} -->|${mermaidText(e.relation)}| ${ids.get(e.target)}`);
  return `${lines.join("\n")}\n`;
}

export const OPENLINEAGE_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";
const VERSION_FACET_SCHEMA = "https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet";

export interface OpenLineageDataset {
  namespace: string;
  name: string;
  facets: { version: { _producer: string; _schemaURL: string; datasetVersion: string } };
}

export interface RunEvent {
  eventType: "START" | "COMPLETE" | "FAIL" | "ABORT";
  eventTime: string;
  run: { runId: string };
  job: { namespace: string; name: string };
  inputs: OpenLineageDataset[];
  outputs: OpenLineageDataset[];
  producer: string;
  schemaURL: string;
}

function producer(): string {
  const { version } = JSON.parse(readFileSync(join(projectRoot(), "package.json"), "utf8")) as { version: string };
  return `urn:strata:loader:${version}`;
}

const TERMINAL = { succeeded: "COMPLETE", failed: "FAIL", killed: "ABORT" } as const;

/**
 * OpenLineage RunEvents of every run in the graph, oldest first. A run's inputs are the
 * nodes its edges lead to (what it read), its outputs the dataset and model versions
 * whose edges lead to it (what it made).
 */
export async function openLineageEvents(s: Session, g: LineageGraph, namespace = "strata"): Promise<RunEvent[]> {
  const runIds = g.nodes.filter((n) => n.kind === "run").map((n) => n.node.slice("run:".length));
  if (runIds.length === 0) return [];
  const runs = await s.query<{
    run_id: string;
    name: string;
    status: keyof typeof TERMINAL | "running";
    started_at: Date;
    ended_at: Date | null;
  }>(
    "select run_id::text as run_id, name, status, started_at, ended_at from strata.v_runs where run_id = any($1::uuid[]) order by started_at, id",
    [runIds],
  );
  const edges = await s.query<{ source: string; target: string; source_kind: string; target_kind: string }>(
    `select source, target, source_kind, target_kind from strata.v_lineage_edges
     where (source_kind = 'run' and source = any($1::text[])) or (target_kind = 'run' and target = any($1::text[]))
     order by id`,
    [runIds.map((id) => `run:${id}`)],
  );
  const by = producer();
  const dataset = (node: string): OpenLineageDataset | undefined => {
    let name: string;
    let version: string;
    if (node.startsWith("dataset:")) {
      const at = node.lastIndexOf("@");
      name = node.slice("dataset:".length, at);
      version = node.slice(at + 1);
    } else if (node.startsWith("model:")) {
      const slash = node.lastIndexOf("/");
      name = `models/${node.slice("model:".length, slash)}`;
      version = node.slice(slash + 1);
    } else return undefined; // a run: not a dataset
    return { namespace, name, facets: { version: { _producer: by, _schemaURL: VERSION_FACET_SCHEMA, datasetVersion: version } } };
  };
  const events: RunEvent[] = [];
  for (const r of runs) {
    const node = `run:${r.run_id}`;
    const inputs = edges.filter((e) => e.source === node).flatMap((e) => dataset(e.target) ?? []);
    const outputs = edges.filter((e) => e.target === node).flatMap((e) => dataset(e.source) ?? []);
    const base = { run: { runId: r.run_id }, job: { namespace, name: r.name }, producer: by, schemaURL: OPENLINEAGE_SCHEMA };
    events.push({ eventType: "START", eventTime: r.started_at.toISOString(), ...base, inputs, outputs: [] });
    if (r.status !== "running" && r.ended_at !== null)
      events.push({ eventType: TERMINAL[r.status], eventTime: r.ended_at.toISOString(), ...base, inputs, outputs });
  }
  return events;
}
