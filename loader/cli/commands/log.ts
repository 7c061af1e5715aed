import type { Command } from "commander";
import { withStrata } from "../context.js";
import { formatBytes, formatTime, printJson, printTable } from "../output.js";

export function register(program: Command): void {
  program
    .command("log")
    .argument("<dataset>", "dataset name")
    .option("--json", "print JSON for scripts")
    .description("versions of a dataset, newest first")
    .action(async (dataset: string, opts: { json?: boolean }) => {
      const versions = await withStrata((s) => s.log(dataset));
      if (opts.json) return printJson(versions);
      printTable(
        ["TAG", "PARENT", "FILES", "SIZE", "NEW", "CREATED", "AUTHOR", "MESSAGE"],
        versions.map((v) => [
          v.tag,
          v.parentTag ?? "",
          String(v.fileCount),
          formatBytes(v.size),
          formatBytes(v.newBytes),
          formatTime(v.createdAt),
          v.author,
          v.message ?? "",
        ]),
        new Set(["FILES", "SIZE", "NEW"]),
      );
    });
}
