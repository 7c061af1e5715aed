import type { Command } from "commander";
import { StrataError } from "../../errors.js";
import { withStrata } from "../context.js";
import { formatBytes, formatTime, printJson, say } from "../output.js";
import { intervalText } from "./retention.js";

function fraction(v: string): number {
  const n = Number(v);
  if (!(n >= 0 && n < 1)) throw new StrataError(`--repack-below takes a fraction from 0 up to 1, not ${v}`, "usage");
  return n;
}

export function register(program: Command): void {
  program
    .command("gc")
    .option("--dry-run", "say what would be deleted, delete nothing")
    .option("--grace <age>", "keep packs and objects younger than this (at least 1h)", intervalText, "24 hours")
    .option("--repack-below <fraction>", "repack packs whose live bytes are below this fraction of their size", fraction, 0.5)
    .option("--list", "name every object deleted (with --json: in the JSON)")
    .option("--json", "print JSON for scripts")
    .description("delete from the object store what no live version needs, while others push and check out (an admin's job)")
    .action(async (opts: { dryRun?: boolean; grace: string; repackBelow: number; list?: boolean; json?: boolean }) => {
      const r = await withStrata((s) =>
        s.gc({ dryRun: opts.dryRun === true, grace: opts.grace, repackBelow: opts.repackBelow, listKeys: opts.list === true }),
      );
      if (opts.json) return printJson(r);
      const would = r.dryRun ? "would " : "";
      say(`gc run ${r.run}${r.dryRun ? " (dry run: nothing changed)" : ""}: what was written before ${formatTime(r.cutoff)}`);
      say(`${would}delete ${r.deletedPacks.count} packs, ${formatBytes(r.deletedPacks.bytes)}`);
      if (r.repackedPacks.count > 0)
        say(
          `  ${r.repackedPacks.count} of them sparse: ${formatBytes(r.copied.bytes)} of live chunks ${r.dryRun ? "would be copied" : `copied into ${r.newPacks} new packs`}`,
        );
      if (r.unknownObjects.count > 0)
        say(`${would}delete ${r.unknownObjects.count} objects no row knows (killed pushes'), ${formatBytes(r.unknownObjects.bytes)}`);
      if (r.tempFiles.count > 0) say(`${would}delete ${r.tempFiles.count} temp files, ${formatBytes(r.tempFiles.bytes)}`);
      if (r.corruptChunks > 0) say(`${r.corruptChunks} live chunks did not match their hash and their packs were kept: run strata fsck`);
      say(`${r.dryRun ? "would reclaim" : "reclaimed"} ${formatBytes(r.reclaimedBytes)}`);
      for (const k of r.keys?.deleted ?? []) say(`${would}delete ${k}`);
      for (const k of r.keys?.unknown ?? []) say(`${would}delete ${k}`);
    });
}
