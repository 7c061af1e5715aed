// Names shared by the test runner (test/run.ts) and the per-file helpers.

import { appendFileSync } from "node:fs";
import { relative } from "node:path";

export const TEMPLATE_DB = "strata_template";

export function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/** True in a test file that test/run.ts started: the shared services are in the environment. */
export function underRunner(): boolean {
  return process.env.STRATA_TEST_RUNNER === "1";
}

/**
 * Under test/run.ts, a test file's helper must not start a service the run already
 * shares: this throws, naming the file, so a helper that lost its way fails loudly.
 */
export function refuseOwnService(what: string): void {
  if (underRunner()) throw new Error(`${testFile()} would start its own ${what} under test/run.ts, which shares one with every file`);
}

/** Notes, for test/run.ts's summary, that this test file started a service of its own. */
export function noteServiceStart(what: string): void {
  const log = process.env.STRATA_TEST_SERVICE_LOG;
  if (log) appendFileSync(log, `${what} ${testFile()}\n`);
}

function testFile(): string {
  return relative(process.cwd(), process.argv[1] ?? "?");
}
