import type { Command } from "commander";
import { resolveDatabaseUrl } from "../../db/connect.js";
import { migrate } from "../../db/migrate.js";
import { printJson } from "../output.js";

export function register(program: Command): void {
  program
    .command("migrate")
    .description("install or upgrade schema strata (tables, then the stored logic); a second run changes nothing")
    .option("--json", "print JSON for scripts")
    .action(async (opts: { json?: boolean }) => {
      const result = await migrate(await resolveDatabaseUrl());
      if (opts.json) return printJson(result);
      const applied = result.applied.length ? `applied ${result.applied.join(", ")}` : "no migrations pending";
      process.stdout.write(`${applied}; stored logic ${result.storedLogic}\n`);
    });
}
