// The strata command: a registry of commands (one file each under commands/) and one
// top-level handler that prints any error as one line (JSON on stderr under --json)
// and exits with its kind's code (loader/errors.ts).

import { Command, CommanderError } from "commander";
import { type DescribedError, describeError, ErrorKinds } from "../errors.js";
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
  const json = argv.includes("--json");
  const program = new Command("strata")
    .description("Strata: versioned datasets, experiments and models in PostgreSQL")
    .exitOverride()
    .showHelpAfterError(false);
  if (json) program.configureOutput({ writeErr: () => {} }); // the handler below reports it as JSON
  for (const c of commands) c.register(program);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return 0;
      const usage = ErrorKinds.usage.exit;
      if (json) report({ kind: "usage", exit: usage, code: e.code, message: e.message.replace(/^error: /, "") }, true);
      return usage;
    }
    const d = describeError(e);
    report(d, json);
    if (process.env.STRATA_DEBUG) console.error(e);
    return d.exit;
  }
}

function report(d: DescribedError, json: boolean): void {
  if (json) process.stderr.write(`${JSON.stringify({ error: { code: d.code, kind: d.kind, exit: d.exit, message: d.message } })}\n`);
  else process.stderr.write(`strata: ${d.message}\n`);
}
