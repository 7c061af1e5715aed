// The strata command: a registry of commands (one file each under commands/) and one
// top-level handler that prints any error as one line and exits with its code.

import { Command, CommanderError } from "commander";
import { describeError, ExitCode } from "../errors.js";
import * as checkout from "./commands/checkout.js";
import * as dataset from "./commands/dataset.js";
import * as db from "./commands/db.js";
import * as diff from "./commands/diff.js";
import * as log from "./commands/log.js";
import * as ls from "./commands/ls.js";
import * as migrate from "./commands/migrate.js";
import * as push from "./commands/push.js";

const commands = [db, migrate, dataset, push, checkout, log, ls, diff];

export async function main(argv: string[]): Promise<number> {
  const program = new Command("strata")
    .description("Strata: versioned datasets, experiments and models in PostgreSQL")
    .exitOverride()
    .showHelpAfterError(false);
  for (const c of commands) c.register(program);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : ExitCode.usage;
    const { message, exitCode } = describeError(e);
    process.stderr.write(`strata: ${message}\n`);
    if (process.env.STRATA_DEBUG) console.error(e);
    return exitCode;
  }
}
