// The strata command: a registry of commands (one file each under commands/) and one
// top-level handler that prints any error as one line (JSON on stderr under --json)
// and exits with its kind's code (loader/errors.ts).

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Command, CommanderError } from "commander";
import { type DescribedError, describeError, ErrorKinds } from "../errors.js";
import { projectRoot } from "../paths.js";
import * as checkout from "./commands/checkout.js";
import * as dataset from "./commands/dataset.js";
import * as fsck from "./commands/fsck.js";
import * as gcCommand from "./commands/gc.js";
import * as init from "./commands/init.js";
import * as db from "./commands/db.js";
import * as diff from "./commands/diff.js";
import * as du from "./commands/du.js";
import * as exp from "./commands/exp.js";
import * as lineage from "./commands/lineage.js";
import * as log from "./commands/log.js";
import * as ls from "./commands/ls.js";
import * as migrate from "./commands/migrate.js";
import * as model from "./commands/model.js";
import * as push from "./commands/push.js";
import * as retention from "./commands/retention.js";
import * as rm from "./commands/rm.js";
import * as role from "./commands/role.js";
import { escapeControls, flushOutput } from "./output.js";

const commands = [init, db, migrate, dataset, push, checkout, log, ls, diff, exp, model, lineage, rm, retention, gcCommand, du, fsck, role];

/** What `strata --help` says after the commands. */
function helpFooter(): string {
  const kinds = Object.entries(ErrorKinds)
    .map(([, k]) => `  ${String(k.exit).padStart(3)}  ${k.meaning}`)
    .join("\n");
  return `
Environment:
  DATABASE_URL        PostgreSQL to use (default: the private cluster under the Strata home)
  STRATA_HOME         the Strata home (default: the nearest .strata folder in this folder or a parent)
  STRATA_STORE        object store: file:///path or s3://bucket/prefix (default: <home>/objects)
  STRATA_S3_ENDPOINT  S3 API endpoint for MinIO, Ceph RGW, R2 (also AWS_ENDPOINT_URL); AWS_* credentials
  STRATA_DEBUG=1      print the stack of an error

Exit codes:
    0  done
${kinds}
  141  stdout was closed early (e.g. piped into head)`;
}

/** Exit status of a process whose output pipe closed, as if SIGPIPE had ended it. */
const BROKEN_PIPE = 141;

export async function main(argv: string[]): Promise<number> {
  const json = argv.includes("--json");
  // A reader that stops early (strata cat ... | head) ends the job, quietly.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(BROKEN_PIPE);
    throw e;
  });
  const program = new Command("strata")
    .description("Strata: versioned datasets, experiments and models in PostgreSQL")
    .version(version(), "-V, --version", "print the version")
    .addHelpText("after", helpFooter())
    .exitOverride()
    .showHelpAfterError(false);
  if (json) program.configureOutput({ writeErr: () => {} }); // the handler below reports it as JSON
  for (const c of commands) c.register(program);
  try {
    await program.parseAsync(argv);
    await flushOutput();
    // a command that reports a finding (fsck: damage) sets the code without an error
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    await flushOutput();
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
  else process.stderr.write(`strata: ${escapeControls(d.message)}\n`);
}

function version(): string {
  return (JSON.parse(readFileSync(join(projectRoot(), "package.json"), "utf8")) as { version: string }).version;
}
