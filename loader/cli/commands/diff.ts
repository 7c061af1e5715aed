import { PassThrough } from "node:stream";
import type { Command } from "commander";
import { StrataError } from "../../errors.js";
import { rowTexts } from "../../tabular/rows.js";
import { type DiffEntry, parseRef, type Strata, type VersionRef } from "../../strata.js";
import { withStrata } from "../context.js";
import { formatBytes, printJson, say } from "../output.js";

const SIGN = { added: "+", removed: "-", modified: "~", type_changed: "!" } as const;

function parseLimit(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new StrataError(`--limit must be a whole number of rows, not ${v}`, "usage");
  return n;
}

/** What changed about a modified file: its size, its executable bit. */
function detail(c: DiffEntry): string {
  if (c.change !== "modified") return "";
  const parts: string[] = [];
  if (c.sizeA !== c.sizeB || c.executableA === c.executableB) parts.push(`${formatBytes(c.sizeA)} -> ${formatBytes(c.sizeB)}`);
  if (c.executableA !== c.executableB) parts.push(c.executableB ? "now executable" : "no longer executable");
  return ` (${parts.join(", ")})`;
}

export function register(program: Command): void {
  program
    .command("diff")
    .argument("<a>", "NAME@TAG (or NAME for the latest)")
    .argument("<b>", "NAME@TAG of the same or another dataset")
    .option("--prefix <prefix>", "only paths that start with this", "")
    .option("--rows <path>", "row-level diff of a tabular file (CSV with a header, JSON Lines)")
    .option("--limit <n>", "changed rows to print with --rows (with their text; --json too)", parseLimit, 50)
    .option("--json", "print JSON for scripts")
    .description("what changed between two versions: a summary and the changed paths (or rows)")
    .action(async (a: string, b: string, opts: { prefix: string; rows?: string; limit: number; json?: boolean }) => {
      const ra = parseRef(a);
      const rb = parseRef(b);
      await withStrata(async (s) => {
        if (opts.rows !== undefined) return diffRows(s, ra, rb, opts.rows, opts.limit, opts.json === true);
        const [summary, changes] = await Promise.all([s.diffSummary(ra, rb, opts.prefix), s.diff(ra, rb, opts.prefix)]);
        if (opts.json) return printJson({ summary, changes });
        const n = summary;
        say(
          `${n.filesAdded} added, ${n.filesRemoved} removed, ${n.filesModified} modified, ${n.filesTypeChanged} changed type; ` +
            `+${formatBytes(n.bytesAdded)} -${formatBytes(n.bytesRemoved)}; ` +
            `chunks: ${n.chunksCommon} common, ${n.chunksOnlyA} only in a, ${n.chunksOnlyB} only in b; ` +
            `similarity ${(n.similarity * 100).toFixed(1)}%`,
        );
        for (const c of changes) say(`${SIGN[c.change]} ${(c.kindB ?? c.kindA) === "dir" ? `${c.path}/` : c.path}${detail(c)}`);
      });
    });
}

async function diffRows(s: Strata, a: VersionRef, b: VersionRef, path: string, limit: number, json: boolean): Promise<void> {
  const [summary, rows] = await Promise.all([s.diffRowsSummary(a, b, path), s.diffRows(a, b, path)]);
  const shown = rows.slice(0, limit);
  const texts = async (ref: VersionRef, change: string) => {
    const wanted = shown.filter((r) => r.change === change).map((r) => r.rowNumber);
    if (wanted.length === 0) return new Map<number, Buffer>();
    const pipe = new PassThrough();
    const [, t] = await Promise.all([s.cat(ref, path, pipe).finally(() => pipe.end()), rowTexts(pipe, path, wanted)]);
    return t;
  };
  const [removed, added] = await Promise.all([texts(a, "removed"), texts(b, "added")]);
  const withText = shown.map((r) => ({ ...r, text: (r.change === "added" ? added : removed).get(r.rowNumber)?.toString("utf8") ?? "" }));
  if (json) return printJson({ summary, rows: withText, more: rows.length - shown.length });
  say(
    `${path}: ${summary.rowsA} rows -> ${summary.rowsB}; ${summary.added} added, ${summary.removed} removed, ${summary.unchanged} unchanged` +
      (summary.headerChanged ? "; the header changed" : ""),
  );
  for (const r of withText) say(`${r.change === "added" ? "+" : "-"} ${r.rowNumber}: ${r.text}`);
  if (rows.length > shown.length) say(`... ${rows.length - shown.length} more (--limit)`);
}
