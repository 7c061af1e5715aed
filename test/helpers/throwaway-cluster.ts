// A private PostgreSQL cluster in a fresh temporary folder, fsync off: for tests and
// benchmarks only. stop() stops it and removes the folder; a process that exits without
// calling it still kills the server.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ensureCluster, stopCluster, type ClusterInfo } from "../../loader/cluster/cluster.js";
import { clusterPaths, livePostmaster } from "../../loader/cluster/state.js";
import { noteServiceStart } from "./env.js";

export interface ThrowawayCluster extends ClusterInfo {
  /** Stops the server and deletes its folder. */
  stop(): Promise<void>;
}

const throwawayHomes = new Set<string>();
let exitHookInstalled = false;

// If a test process exits without stop(), its servers must not outlive it: SIGQUIT is
// PostgreSQL's immediate shutdown, and 'exit' handlers can only do synchronous work.
function killThrowawaysOnExit(): void {
  for (const home of throwawayHomes) {
    const pm = livePostmaster(clusterPaths(home).dataDir);
    if (pm) {
      try {
        process.kill(pm.pid, "SIGQUIT");
      } catch {
        // already gone
      }
    }
    fs.rmSync(home, { recursive: true, force: true, maxRetries: 3 });
  }
}

/**
 * A new cluster in a fresh temporary folder (under `parent`, default the system's), fsync off, for tests. stop() stops it and
 * removes the folder; a process that exits without calling it still kills the server.
 */
export async function createThrowawayCluster(opts: { sharedBuffers?: string; parent?: string } = {}): Promise<ThrowawayCluster> {
  noteServiceStart("cluster");
  const home = fs.mkdtempSync(path.join(opts.parent ?? os.tmpdir(), "strata-pg-"));
  // mkdtemp makes the folder 0700; as root, the server user must be able to enter it.
  fs.chmodSync(home, 0o711);
  if (!exitHookInstalled) {
    process.once("exit", killThrowawaysOnExit);
    // a test runner's timeout ends a process with a signal, which skips 'exit' handlers
    for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"] as const)
      process.once(sig, () => {
        killThrowawaysOnExit();
        process.kill(process.pid, sig);
      });
  }
  exitHookInstalled = true;
  throwawayHomes.add(home);
  const stop = async (): Promise<void> => {
    try {
      await stopCluster(home, { mode: "immediate" });
    } finally {
      throwawayHomes.delete(home);
      fs.rmSync(home, { recursive: true, force: true, maxRetries: 3 });
    }
  };
  try {
    const info = await ensureCluster(home, { fsync: false, sharedBuffers: opts.sharedBuffers ?? "128MB" });
    return { ...info, stop };
  } catch (e) {
    await stop().catch(() => undefined);
    throw e;
  }
}
