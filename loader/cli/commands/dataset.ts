import type { Command } from "commander";
import { DEFAULT_CHUNK_PARAMS } from "../../chunk/params.js";
import { StrataError } from "../../errors.js";
import { withStrata } from "../context.js";
import { formatBytes, formatTime, printJson, printTable, say } from "../output.js";

function parseBytes(v: string): number {
  const m = /^(\d+)\s*(k|ki|kib|m|mi|mib)?$/i.exec(v.trim());
  if (!m) throw new StrataError(`not a size in bytes: ${v} (e.g. 262144, 256KiB, 1MiB)`, "usage");
  const unit = (m[2] ?? "").toLowerCase();
  return Number(m[1]) * (unit.startsWith("k") ? 1024 : unit.startsWith("m") ? 1024 * 1024 : 1);
}

export function register(program: Command): void {
  const dataset = program.command("dataset").description("create and list datasets");

  dataset
    .command("create")
    .argument("<name>", "1-128 of letters, digits, '.', '_', '-', starting with a letter or digit")
    .option("-d, --description <text>", "what the dataset holds")
    .option("--chunk-min <bytes>", "smallest chunk of content-defined chunking (default 262144)", parseBytes)
    .option("--chunk-avg <bytes>", "average chunk (default 1048576)", parseBytes)
    .option("--chunk-max <bytes>", "largest chunk (default 4194304)", parseBytes)
    .option("--json", "print the result as JSON")
    .description("create a dataset")
    .action(
      async (name: string, opts: { description?: string; json?: boolean; chunkMin?: number; chunkAvg?: number; chunkMax?: number }) => {
        const custom = opts.chunkMin ?? opts.chunkAvg ?? opts.chunkMax;
        const chunking =
          custom === undefined
            ? undefined
            : {
                min: opts.chunkMin ?? DEFAULT_CHUNK_PARAMS.minSize,
                avg: opts.chunkAvg ?? DEFAULT_CHUNK_PARAMS.avgSize,
                max: opts.chunkMax ?? DEFAULT_CHUNK_PARAMS.maxSize,
              };
        const id = await withStrata((s) => s.createDataset(name, opts.description, chunking));
        if (opts.json) printJson({ id, name });
        else say(`created dataset ${name}`);
      },
    );

  dataset
    .command("list")
    .option("--json", "print JSON for scripts")
    .description("list datasets with their latest version")
    .action(async (opts: { json?: boolean }) => {
      const list = await withStrata((s) => s.datasets());
      if (opts.json) return printJson(list);
      printTable(
        ["NAME", "VERSIONS", "LATEST", "FILES", "SIZE", "CREATED", "DESCRIPTION"],
        list.map((d) => [
          d.name,
          String(d.versionCount),
          d.latestTag ?? "",
          d.latestFileCount === null ? "" : String(d.latestFileCount),
          formatBytes(d.latestSize),
          formatTime(d.createdAt),
          d.description ?? "",
        ]),
        new Set(["VERSIONS", "FILES", "SIZE"]),
      );
    });
}
