import type { Command } from "commander";
import { StrataError } from "../../errors.js";
import { makeHomeIfMissing } from "../../home.js";
import { withStrata } from "../context.js";
import { formatBytes, printJson, say, warn } from "../output.js";
import { progressBar } from "../progress.js";

export function register(program: Command): void {
  program
    .command("push")
    .argument("<path>", "a folder or a file")
    .requiredOption("--dataset <name>", "the dataset (created when missing)")
    .option("--tag <tag>", "tag of the new version (default v1, v2, ...)")
    .option("--parent <tag>", "parent version (default: the dataset's latest)")
    .option("-m, --message <text>", "what changed")
    .option("--metadata <json>", "a JSON object stored with the version (numbers kept exactly)")
    .option("--from <ref>", "a version of another dataset this one was made from (NAME@TAG; repeatable): recorded as lineage", collect, [])
    .option("--allow-empty", "record a new version even when nothing changed")
    .option("--json", "print JSON for scripts")
    .description("push a folder or file as a new immutable version")
    .action(
      async (
        path: string,
        opts: {
          dataset: string;
          tag?: string;
          parent?: string;
          message?: string;
          metadata?: string;
          allowEmpty?: boolean;
          from: string[];
          json?: boolean;
        },
      ) => {
        if (opts.metadata !== undefined) checkMetadata(opts.metadata);
        const bar = progressBar("push", !opts.json);
        const made = makeHomeIfMissing();
        if (made !== undefined) warn(`made a Strata home in ${made} (its database and chunk store hold what you push)`);
        const result = await withStrata((s) =>
          s
            .push(path, {
              dataset: opts.dataset,
              tag: opts.tag,
              parent: opts.parent,
              message: opts.message,
              metadata: opts.metadata,
              allowEmpty: opts.allowEmpty,
              from: opts.from,
              onProgress: (p) =>
                bar.update(p.bytes, p.bytesTotal, () => ({
                  files: `${p.files}/${p.filesTotal} files`,
                  extra: `${formatBytes(p.newBytes)} new`,
                })),
            })
            .finally(() => bar.stop()),
        );
        if (opts.json) return printJson(result);
        const v = result.version;
        if (result.unchanged) return say(`nothing changed since ${v.dataset}@${v.tag}: no new version (--allow-empty records one anyway)`);
        say(
          `${v.dataset}@${v.tag}: ${v.fileCount} files, ${formatBytes(v.size)}; ${formatBytes(result.newBytes)} new in ${result.packs} packs` +
            (result.unchangedFiles ? `; ${result.unchangedFiles} files unchanged since the last push` : ""),
        );
      },
    );
}

/** Commander's way to gather a repeated option. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * --metadata must be a JSON object PostgreSQL can keep. Its text is stored as given
 * (jsonb keeps every digit), so it is only parsed here to check its shape.
 */
export function checkMetadata(text: string): void {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new StrataError("--metadata is not valid JSON", "usage");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new StrataError("--metadata must be a JSON object", "usage");
  const hasNul = (v: unknown): boolean =>
    typeof v === "string"
      ? v.includes("\0")
      : typeof v === "object" && v !== null && Object.entries(v).some(([k, x]) => k.includes("\0") || hasNul(x));
  if (hasNul(value)) throw new StrataError("--metadata holds a NUL character (U+0000), which PostgreSQL cannot store", "usage");
}
