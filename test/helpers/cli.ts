// Runs the real strata command (bin/strata.js, the compiled CLI) as a child process.

import { spawn } from "node:child_process";
import { join } from "node:path";
import { projectRoot } from "../../loader/paths.js";

/** bin/strata.js, found from the project root (the tests also run compiled, from dist/). */
export const BIN = join(projectRoot(), "bin", "strata.js");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function strata(
  args: string[],
  env: Record<string, string | undefined> = {},
  input?: string,
  as?: { uid: number; gid: number },
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const merged = { ...process.env, ...env };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete merged[k];
    // The CLI runs compiled JavaScript as users would: without the loader hooks the test
    // runner adds to child processes (env -u, since the runner re-adds them to the spawn).
    const child = spawn("env", ["-u", "NODE_OPTIONS", process.execPath, BIN, ...args], {
      env: merged,
      stdio: ["pipe", "pipe", "pipe"],
      ...as,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input ?? "");
  });
}

const WORKER = join(projectRoot(), "test", "helpers", "cli-worker.mjs");

/** Runs strata commands one after another; what `strata` above returns, per call. */
export type CliSession = (args: string[], env?: Record<string, string | undefined>) => Promise<CliResult>;

/**
 * The compiled CLI's main() run in turn in one process of its own (test/helpers/cli-worker.mjs),
 * for tests that make many calls: each call gets its arguments and environment and
 * exactly what a separate `strata` process would print and exit with, without the 0.2 s
 * CPU of a Node start. Calls are serialized (the environment is the process's). The
 * process ends when `t` does.
 */
export function cliSession(t: { teardown(fn: () => unknown): void }): CliSession {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS; // compiled JavaScript, as users run it
  // stdout: what a command writes after main() returned is lost, as bin/strata.js exits then
  const child = spawn(process.execPath, [WORKER], { env, stdio: ["ignore", "ignore", "inherit", "pipe", "pipe"] });
  const requests = child.stdio[3] as NodeJS.WritableStream;
  const waiting: ((r: CliResult) => void)[] = [];
  let failure: Error | undefined;
  let buffered = "";
  const answers = child.stdio[4] as NodeJS.ReadableStream;
  answers.setEncoding("utf8");
  answers.on("data", (d: string) => {
    buffered += d;
    for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      waiting.shift()?.(JSON.parse(line) as CliResult);
    }
  });
  const ended = new Promise<void>((resolve) =>
    child.on("exit", (code, signal) => {
      failure = new Error(`the CLI worker ended (${signal ?? code}) with ${waiting.length} calls unanswered`);
      resolve();
    }),
  );
  t.teardown(async () => {
    requests.end();
    await ended;
  });
  let queue: Promise<unknown> = Promise.resolve();
  return (args, callEnv = {}) => {
    const call = queue.then(
      () =>
        new Promise<CliResult>((resolve, reject) => {
          if (failure) return reject(failure);
          const wire = Object.fromEntries(Object.entries(callEnv).map(([k, v]) => [k, v ?? null]));
          waiting.push(resolve);
          requests.write(`${JSON.stringify({ args, env: wire })}\n`);
          void ended.then(() => reject(failure));
        }),
    );
    queue = call.catch(() => undefined);
    return call;
  };
}
