import type { Command } from "commander";
import { StrataError } from "../../errors.js";
import { parseRef, type VersionInfo } from "../../strata.js";
import { withStrata } from "../context.js";
import { printJson, say } from "../output.js";

export function register(program: Command): void {
  program
    .command("rm")
    .argument("<refs...>", "versions to delete, as NAME@TAG (with --all: dataset names)")
    .option("--all", "delete every version of each named dataset, and the dataset")
    .option("--force", "delete even what a run, model version or alias uses (its lineage stays)")
    .option("--json", "print JSON for scripts")
    .description("delete versions (an admin's right); their rows and lineage stay, strata gc reclaims their bytes")
    .action(async (refs: string[], opts: { all?: boolean; force?: boolean; json?: boolean }) => {
      const parsed = refs.map(parseRef);
      for (const [i, r] of parsed.entries()) {
        if (opts.all && refs[i]!.includes("@")) throw new StrataError(`with --all, name datasets, not versions (${refs[i]})`, "usage");
        if (!opts.all && r.tag === undefined)
          throw new StrataError(`name a version to delete, as ${r.dataset}@TAG (or --all for every version of ${r.dataset})`, "usage");
      }
      const deleted: VersionInfo[] = await withStrata(async (s) => {
        const out: VersionInfo[] = [];
        for (const r of parsed)
          out.push(
            ...(opts.all
              ? await s.deleteDataset(r.dataset, opts.force)
              : [await s.deleteVersion({ dataset: r.dataset, tag: r.tag! }, opts.force)]),
          );
        return out;
      });
      if (opts.json) return printJson(deleted);
      for (const v of deleted) say(`deleted ${v.dataset}@${v.tag}`);
      if (opts.all) for (const r of parsed) say(`deleted dataset ${r.dataset}`);
      say("strata gc reclaims the bytes only they held");
    });
}
