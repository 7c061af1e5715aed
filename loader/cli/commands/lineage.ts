import type { Command } from "commander";
import { StrataError } from "../../errors.js";
import { formatDot, formatMermaid, formatText, type LineageFormat } from "../../lineage/format.js";
import type { Direction } from "../../strata.js";
import { withStrata } from "../context.js";
import { formatTime, printJson, printJsonLine, printTable, say } from "../output.js";

const FORMATS: LineageFormat[] = ["text", "json", "dot", "mermaid", "openlineage"];

const NODE_HELP = "dataset:NAME@TAG (or NAME@TAG), run:UUID, model:NAME/N or model:NAME@ALIAS";

/** Human output is escaped line by line (say); DOT and Mermaid escape their own strings. */
function sayLines(text: string): void {
  for (const line of text.replace(/\n$/, "").split("\n")) say(line);
}

export function register(program: Command): void {
  program
    .command("lineage")
    .argument("<node>", NODE_HELP)
    .option("--up", "what it came from")
    .option("--down", "what came from it")
    .option("--both", "both ways (the default)")
    .option("--depth <n>", "edges to follow at most (0-1000)", "20")
    .option("--format <format>", `${FORMATS.join(", ")} (openlineage: one RunEvent per line, per run START and its end)`, "text")
    .option("--namespace <ns>", "OpenLineage namespace of jobs and datasets", "strata")
    .option("--json", "print JSON for scripts (--format json)")
    .description("the lineage graph of a dataset version, run or model version")
    .action(
      async (
        node: string,
        opts: { up?: boolean; down?: boolean; both?: boolean; depth: string; format: string; namespace: string; json?: boolean },
      ) => {
        const format = (opts.json ? "json" : opts.format) as LineageFormat;
        if (!FORMATS.includes(format)) throw new StrataError(`--format must be one of ${FORMATS.join(", ")}`, "usage");
        if (!/^-?[0-9]{1,9}$/.test(opts.depth)) throw new StrataError(`--depth must be a whole number, got "${opts.depth}"`, "usage");
        const chosen = (["up", "down", "both"] as const).filter((d) => opts[d]);
        if (chosen.length > 1) throw new StrataError("give one of --up, --down and --both", "usage");
        const direction: Direction = chosen[0] ?? "both";
        const [graph, events] = await withStrata(async (s) => {
          const g = await s.lineage(node, { direction, depth: Number(opts.depth) });
          return [g, format === "openlineage" ? await s.openLineage(g, opts.namespace) : undefined] as const;
        });
        if (format === "json") return printJson(graph);
        if (events !== undefined) {
          for (const e of events) printJsonLine(e);
          return;
        }
        sayLines(format === "dot" ? formatDot(graph) : format === "mermaid" ? formatMermaid(graph) : formatText(graph));
      },
    );

  program
    .command("impact")
    .argument("<node>", NODE_HELP)
    .option("--file <path>", "start from this file of the version: every version holding its contents, under any name")
    .option("--json", "print JSON for scripts")
    .description("every dataset version, run, model version and alias downstream of a node or of a file")
    .action(async (node: string, opts: { file?: string; json?: boolean }) => {
      const rows = await withStrata((s) => s.impact(node, opts.file));
      if (opts.json) return printJson(rows);
      printTable(
        ["KIND", "NODE", "LABEL", "SERVES"],
        rows.map((r) => [
          r.kind,
          r.node,
          r.kind === "run" ? r.label : r.start ? "(start)" : "",
          r.serves === null ? "" : `${r.serves}${r.weight !== null && Number(r.weight) < 1 ? ` (${r.weight})` : ""}`,
        ]),
      );
    });

  program
    .command("contains")
    .argument("<ref>", "NAME@TAG, or NAME for the latest version")
    .argument("<path>", "a file of that version")
    .option("--json", "print JSON for scripts")
    .description("every dataset version and model version holding this file's exact contents, and where")
    .action(async (ref: string, path: string, opts: { json?: boolean }) => {
      const rows = await withStrata((s) => s.versionsContaining(ref, path));
      if (opts.json) return printJson(rows);
      printTable(
        ["NODE", "PATH", "CREATED"],
        rows.map((r) => [r.node, r.path, formatTime(r.createdAt)]),
      );
    });

  const edge = program.command("edge").description("lineage edges Strata cannot see (a Spark job, a labelling round)");
  edge
    .command("add")
    .argument("<source>", `the node made from the target: ${NODE_HELP}`)
    .argument("<relation>", "derived_from, labelled_by, ... (a-z, 0-9, _)")
    .argument("<target>", "the node it was made from")
    .option("--json", "print JSON for scripts")
    .description("record source --relation--> target; refused when it would close a cycle")
    .action(async (source: string, relation: string, target: string, opts: { json?: boolean }) => {
      const id = await withStrata((s) => s.addEdge(source, relation, target));
      if (opts.json) return printJson({ id });
      say(`edge ${id}: ${source} --${relation}--> ${target}`);
    });
}
