// Losing the database in the middle of a push (the server stopped with pg_ctl -m
// immediate while the push is held at an exact step by STRATA_FAULT=...:stop): the push
// ends with exit 5 and one line, every time, and blames no input file. This file runs a
// cluster of its own: it stops it.

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import t from "tap";
import { BIN } from "../helpers/cli.js";
import { stopCluster } from "../../loader/cluster/cluster.js";
import { bytes, tempDir, writeTree } from "../helpers/strata.js";
import { createThrowawayCluster } from "../helpers/throwaway-cluster.js";

/** Whether process `pid` is stopped (state T in /proc). */
function stopped(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.charAt(stat.lastIndexOf(")") + 2) === "T";
  } catch {
    return false;
  }
}

for (const point of ["push.after-pack-registered:2", "push.before-commit:1"]) {
  t.test(`the database goes away at ${point}: exit 5, one line`, async (t) => {
    const cluster = await createThrowawayCluster();
    t.teardown(() => cluster.stop());
    const dir = tempDir(t);
    const spec: Record<string, Buffer> = {};
    for (let i = 0; i < 6; i++) spec[`part-${i}.bin`] = bytes(1_200_000, 40 + i);
    writeTree(dir, spec);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: cluster.url,
      STRATA_STORE: `file://${tempDir(t)}`,
      STRATA_HOME: tempDir(t),
      STRATA_PACK_SIZE: String(1024 * 1024),
      STRATA_FAULT: `${point}:stop`,
    };
    delete env.NODE_OPTIONS;
    const child = spawn(process.execPath, [BIN, "push", dir, "--dataset", "ds"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    t.teardown(() => void child.kill("SIGKILL"));
    // Held at the point: the child stops itself there. Looked for every 10 ms, not in a
    // busy loop, which would take a core from the push it waits for.
    while (!stopped(child.pid!)) {
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    t.ok(stopped(child.pid!), "the push is held at the point");
    await stopCluster(cluster.home, { mode: "immediate" });
    child.kill("SIGCONT");
    t.equal(await exited, 5, "database unreachable");
    t.comment(stderr.trim());
    t.match(stderr, /^strata: (lost the connection to the database|cannot reach the database|.*terminat)[^\n]*\n$/, "one line");
    t.notMatch(stderr, /part-\d\.bin/, "no input file is blamed");
  });
}
