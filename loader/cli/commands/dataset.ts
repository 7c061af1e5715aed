import type { Command } from "commander";
import { withStrata } from "../context.js";
import { formatBytes, formatTime, printJson, printTable } from "../output.js";

export function register(program: Command): void {
  const dataset = program.command("dataset").description("create and list datasets");

  dataset
    .command("create")
    .argument("<name>", "1-128 of letters, digits, '.', '_', '-', starting with a letter or digit")
    .option("-d, --description <text>", "what the dataset holds")
    .option("--json", "print the result as JSON")
    .description("create a dataset")
    .action(async (name: string, opts: { description?: string; json?: boolean }) => {
      const id = await withStrata((s) => s.createDataset(name, opts.description));
      if (opts.json) printJson({ id, name });
      else process.stdout.write(`created dataset ${name}\n`);
    });

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
