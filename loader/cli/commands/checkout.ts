import type { Command } from "commander";
import { describeVersion } from "../../checkout/listing.js";
import { parseRef } from "../../strata.js";
import { withStrata } from "../context.js";
import { formatBytes, printJson, say, warn } from "../output.js";
import { progressBar } from "../progress.js";

export function register(program: Command): void {
  program
    .command("checkout")
    .argument("<ref>", "NAME@TAG, or NAME for the latest version")
    .argument("<dir>", "folder to write the files into (an earlier checkout there is switched)")
    .option("--force", "overwrite files changed here and files of yours where the version puts something (they are listed)")
    .option("--json", "print JSON for scripts")
    .description("write a version's files into a folder, verifying every chunk and file; never overwrites what it did not write")
    .action(async (ref: string, dir: string, opts: { json?: boolean; force?: boolean }) => {
      const bar = progressBar("checkout", !opts.json);
      const r = await withStrata((s) =>
        s
          .checkout(parseRef(ref), dir, {
            force: opts.force,
            onProgress: (p) =>
              bar.update(p.bytesDone, p.bytesTotal, () => ({ files: `${p.filesDone}/${p.filesTotal} files`, extra: p.phase })),
          })
          .finally(() => bar.stop()),
      );
      if (opts.json) return printJson(r);
      say(
        `${r.dataset}@${r.tag} in ${dir}: ${r.filesWritten} files written (${formatBytes(r.bytesWritten)}), ` +
          `${r.filesUnchanged} unchanged, ${r.filesDeleted} deleted`,
      );
      for (const p of r.leftModified) warn(`kept ${p}: it left the version but was changed here`);
      for (const p of r.overwritten) warn(`overwrote ${p} (--force)`);
    });

  program
    .command("status")
    .argument("[dir]", "a checkout folder", ".")
    .option("--json", "print JSON for scripts")
    .description("what differs between a checkout folder and its version: M modified, D deleted, A added here")
    .action(async (dir: string, opts: { json?: boolean }) => {
      const r = await withStrata((s) => s.status(dir));
      if (opts.json) return printJson(r);
      const changes = r.modified.length + r.deleted.length + r.added.length;
      say(
        `${describeVersion(r)} in ${r.root}${r.within === undefined ? "" : ` (under ${r.within}/)`}: ${changes === 0 ? "no changes" : `${r.modified.length} modified, ${r.deleted.length} deleted, ${r.added.length} added`}`,
      );
      for (const p of r.modified) say(`M ${p}`);
      for (const p of r.deleted) say(`D ${p}`);
      for (const p of r.added) say(`A ${p}`);
    });

  program
    .command("cat")
    .argument("<ref>", "NAME@TAG, or NAME for the latest version")
    .argument("<file>", "path of the file in the version")
    .description("write one file of a version to standard output, verified")
    .action(async (ref: string, file: string) => {
      await withStrata((s) => s.cat(parseRef(ref), file, process.stdout));
    });
}
