// Runs the real strata command (bin/strata.js, the compiled CLI) as a child process.

import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../bin/strata.js", import.meta.url));

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
