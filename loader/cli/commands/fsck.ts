import type { Command } from "commander";
import { ErrorKinds } from "../../errors.js";
import { withStrata } from "../context.js";
import { formatBytes, printJson, say } from "../output.js";

export function register(program: Command): void {
  program
    .command("fsck")
    .option("--full", "also read every pack and hash every chunk")
    .option("--json", "print JSON for scripts")
    .description("check that every pack is in the object store with its size (--full: and every chunk); exit 7 when damage is found")
    .action(async (opts: { full?: boolean; json?: boolean }) => {
      const r = await withStrata((s) => s.fsck({ full: opts.full === true }));
      if (opts.json) printJson(r);
      else {
        const read = opts.full ? `, ${formatBytes(r.bytesRead)} read` : "";
        say(`${r.packs} packs checked${read}: ${r.damaged.length === 0 ? "no damage" : `${r.damaged.length} damaged`}`);
        for (const d of r.damaged) say(`damaged pack ${d.pack}: ${d.why}`);
        for (const a of r.affected) say(`unreadable: ${a.dataset}@${a.tag} ${a.path}`);
        if (r.damaged.length > 0) say("push the same data again to repair it (its chunks are uploaded anew)");
        if (r.unknownObjects > 0) say(`${r.unknownObjects} pack objects no version uses (strata gc removes them)`);
      }
      if (r.damaged.length > 0) process.exitCode = ErrorKinds.corrupt.exit;
    });
}
