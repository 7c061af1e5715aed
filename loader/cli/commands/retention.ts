import type { Command } from "commander";
import { StrataError } from "../../errors.js";
import { withStrata } from "../context.js";
import { formatTime, printJson, printTable, say } from "../output.js";

/** `30d`, `12h`, `2w` as PostgreSQL interval text; anything else is passed on as it is. */
export function intervalText(v: string): string {
  const m = /^(\d+)\s*([smhdw])$/.exec(v.trim());
  if (m === null) return v;
  const unit = { s: "seconds", m: "minutes", h: "hours", d: "days", w: "weeks" }[m[2] as "s" | "m" | "h" | "d" | "w"];
  return `${m[1]} ${unit}`;
}

function positive(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new StrataError(`--keep-last takes a positive number of versions, not ${v}`, "usage");
  return n;
}

export function register(program: Command): void {
  const retention = program.command("retention").description("which versions of a dataset to keep (an admin's job)");
  retention
    .command("set")
    .argument("<dataset>", "dataset name")
    .option("--keep-last <n>", "keep the last N versions", positive)
    .option("--keep-within <age>", "keep versions younger than this (30d, 12h, 2w, or a PostgreSQL interval)", intervalText)
    .description("set a dataset's policy; the latest, tagged and used versions are always kept")
    .action(async (dataset: string, opts: { keepLast?: number; keepWithin?: string }) => {
      if (opts.keepLast === undefined && opts.keepWithin === undefined)
        throw new StrataError("give --keep-last, --keep-within or both (strata retention unset removes a policy)", "usage");
      await withStrata((s) => s.setRetention(dataset, opts.keepLast, opts.keepWithin));
      const rules = [
        opts.keepLast === undefined ? undefined : `the last ${opts.keepLast}`,
        opts.keepWithin === undefined ? undefined : `those younger than ${opts.keepWithin}`,
      ].filter((r) => r !== undefined);
      say(`${dataset} keeps ${rules.join(" and ")}, and its latest, tagged and used versions`);
    });
  retention
    .command("unset")
    .argument("<dataset>", "dataset name")
    .description("remove a dataset's policy (it keeps every version)")
    .action(async (dataset: string) => {
      await withStrata((s) => s.setRetention(dataset));
      say(`${dataset} has no retention policy`);
    });
  retention
    .command("show")
    .argument("[dataset]", "dataset name (default: every policy)")
    .option("--json", "print JSON for scripts")
    .description("retention policies")
    .action(async (dataset: string | undefined, opts: { json?: boolean }) => {
      const policies = await withStrata((s) => s.retentionPolicies(dataset));
      if (opts.json) return printJson(policies);
      printTable(
        ["DATASET", "KEEP LAST", "KEEP WITHIN", "SET BY", "SET AT"],
        policies.map((p) => [p.dataset, p.keepLast === null ? "" : String(p.keepLast), p.keepWithin ?? "", p.setBy, formatTime(p.setAt)]),
      );
    });
  retention
    .command("apply")
    .argument("[dataset]", "dataset name (default: every dataset with a policy)")
    .option("--dry-run", "say what would be deleted, delete nothing")
    .option("--json", "print JSON for scripts")
    .description("delete the versions a policy does not keep (strata gc then reclaims their bytes)")
    .action(async (dataset: string | undefined, opts: { dryRun?: boolean; json?: boolean }) => {
      const decisions = await withStrata((s) => s.applyRetention(dataset, opts.dryRun === true));
      if (opts.json) return printJson(decisions);
      const verb = opts.dryRun ? "would delete" : "deleted";
      printTable(
        ["VERSION", "CREATED", "DECISION"],
        decisions.map((d) => [`${d.dataset}@${d.tag}`, formatTime(d.createdAt), d.keptBecause === null ? verb : `keep: ${d.keptBecause}`]),
      );
      const n = decisions.filter((d) => d.keptBecause === null).length;
      say(`${n} version${n === 1 ? "" : "s"} ${verb}`);
    });
}
