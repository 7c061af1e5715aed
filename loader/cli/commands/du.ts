import type { Command } from "commander";
import { withStrata } from "../context.js";
import { formatBytes, formatTime, printJson, printTable } from "../output.js";

export function register(program: Command): void {
  program
    .command("du")
    .argument("[dataset]", "one dataset's versions (default: every dataset)")
    .option("--json", "print JSON for scripts")
    .description("where the stored bytes are: per dataset, or per version of one; EXCLUSIVE is what deleting it would free")
    .action(async (dataset: string | undefined, opts: { json?: boolean }) => {
      if (dataset === undefined) {
        const rows = await withStrata((s) => s.datasetStorage());
        if (opts.json) return printJson(rows);
        return printTable(
          ["DATASET", "VERSIONS", "LOGICAL", "UNIQUE", "SHARED", "EXCLUSIVE", "DEDUP"],
          rows.map((r) => [
            r.dataset,
            String(r.liveVersions),
            formatBytes(r.logicalBytes),
            formatBytes(r.uniqueBytes),
            formatBytes(r.sharedBytes),
            formatBytes(r.exclusiveBytes),
            r.dedupRatio === null ? "" : `${r.dedupRatio.toFixed(2)}x`,
          ]),
          new Set(["VERSIONS", "LOGICAL", "UNIQUE", "SHARED", "EXCLUSIVE", "DEDUP"]),
        );
      }
      const rows = await withStrata((s) => s.versionStorage(dataset));
      if (opts.json) return printJson(rows);
      printTable(
        ["TAG", "CREATED", "LOGICAL", "BROUGHT", "UNIQUE", "EXCLUSIVE"],
        rows.map((r) => [
          r.tag,
          formatTime(r.createdAt),
          formatBytes(r.logicalBytes),
          formatBytes(r.broughtBytes),
          formatBytes(r.uniqueBytes),
          formatBytes(r.exclusiveBytes),
        ]),
        new Set(["LOGICAL", "BROUGHT", "UNIQUE", "EXCLUSIVE"]),
      );
    });
}
