import type { Command } from "commander";
import { parseRef } from "../../strata.js";
import { withStrata } from "../context.js";
import { formatBytes, printJson, printTable } from "../output.js";

export function register(program: Command): void {
  program
    .command("ls")
    .argument("<ref>", "NAME@TAG, or NAME for the latest version")
    .argument("[prefix]", "only paths that start with this", "")
    .option("--json", "print JSON for scripts")
    .description("list the files, symlinks and empty folders of a version under a prefix")
    .action(async (ref: string, prefix: string, opts: { json?: boolean }) => {
      const files = await withStrata((s) => s.ls(parseRef(ref), prefix));
      if (opts.json) return printJson(files);
      printTable(
        ["TYPE", "SIZE", "HASH", "PATH"],
        files.map((f) => [
          f.kind === "file" ? (f.executable ? "exec" : "file") : f.kind === "symlink" ? "link" : "dir",
          f.kind === "file" ? formatBytes(f.size) : "",
          f.hash.slice(0, 12),
          f.kind === "symlink" ? `${f.path} -> ${f.target}` : f.kind === "dir" ? `${f.path}/` : f.path,
        ]),
        new Set(["SIZE"]),
      );
    });
}
