import type { Command } from "commander";
import { resolve } from "node:path";
import { createHome, HOME_DIR } from "../../home.js";
import { printJson, say } from "../output.js";

export function register(program: Command): void {
  program
    .command("init")
    .argument("[dir]", "the folder to hold the home (default: STRATA_HOME, else this folder)")
    .option("--json", "print JSON for scripts")
    .description(`make a Strata home (${HOME_DIR}/): the private PostgreSQL and the chunk store live there`)
    .action((dir: string | undefined, opts: { json?: boolean }) => {
      const home = dir !== undefined ? resolve(dir, HOME_DIR) : resolve(process.env.STRATA_HOME ?? HOME_DIR);
      const created = createHome(home);
      if (opts.json) return printJson({ home, created });
      say(created ? `made a Strata home in ${home}` : `${home} is a Strata home already`);
    });
}
