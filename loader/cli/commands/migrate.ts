import type { Command } from "commander";
import { resolveDatabase } from "../../db/connect.js";
import { migrate } from "../../db/migrate.js";
import { commandHome } from "../../home.js";
import { printJson, say } from "../output.js";

export function register(program: Command): void {
  program
    .command("migrate")
    .description("install or upgrade schema strata (tables, then the stored logic); a second run changes nothing")
    .option("--json", "print JSON for scripts")
    .action(async (opts: { json?: boolean }) => {
      const url = process.env.DATABASE_URL ?? (await resolveDatabase(commandHome())).installUrl;
      const result = await migrate(url);
      if (opts.json) return printJson(result);
      const applied = result.applied.length ? `applied ${result.applied.join(", ")}` : "no migrations pending";
      say(`${applied}; stored logic ${result.storedLogic}`);
    });
}
