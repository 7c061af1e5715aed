// The embedded default database: a private PostgreSQL cluster in <home>/pg, created on
// first use from the machine's PostgreSQL binaries and started on demand. It listens on
// 127.0.0.1 (password) and on a Unix socket in <home>/pg (trust; the folder is private).
// As root, the server runs as the unprivileged OS user `postgres` (see system.ts).
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { withLockFile } from "../lock.js";
import { APP_LOGIN, createLogins, loginUrl, READER_LOGIN, readLogins, superuserUrl } from "./logins.js";
import { createStrataDatabase, initCluster, readPassword, startServer, stopServer } from "./server.js";
import type { ClusterPaths, Postmaster } from "./state.js";
import { clusterPaths, LOCATION_FILE, livePostmaster, recordedLocation } from "./state.js";
import type { OsUser } from "./system.js";
import { assertReachable, ClusterError, findPgBinDir, firstBlocked, giveTo, serverUser } from "./system.js";

export { ClusterError, findPgBinDir } from "./system.js";

export interface ClusterInfo {
  /** The absolute home folder; the cluster lives in <home>/pg. */
  home: string;
  /** The writer and admin login: postgresql://strata_app:<password>@127.0.0.1:<port>/strata */
  url: string;
  /** The reader login (strata_bi), for BI tools. */
  readerUrl: string;
  /** The superuser, for migrations only. */
  installUrl: string;
  port: number;
  /** Where the Unix socket is, or null when the path would be too long for one. */
  socketDir: string | null;
  dataDir: string;
  pid?: number;
  /** This call ran initdb. */
  created: boolean;
  /** This call started the server (false: it was already running). */
  started: boolean;
}

export interface EnsureOptions {
  /** Default true. false skips fsync in initdb and the server: for throwaway clusters only. */
  fsync?: boolean;
  /** shared_buffers; default "256MB". */
  sharedBuffers?: string;
  /** How long to wait for another process that is creating or starting the cluster; default 120 s. */
  lockTimeoutMs?: number;
}

export interface ClusterStatus {
  /** initdb ran and the `strata` database exists. */
  initialized: boolean;
  running: boolean;
  port?: number;
  url?: string;
  pid?: number;
}

const LOCK_TIMEOUT_MS = 120_000;
const SETTLE_TIMEOUT_MS = 60_000;

/** The info of a running, ready, fully initialized cluster with its logins, else undefined. */
function readyInfo(p: ClusterPaths, created: boolean, started: boolean): ClusterInfo | undefined {
  const pm = livePostmaster(p.dataDir);
  if (pm?.status !== "ready" || !fs.existsSync(p.readyFile)) return undefined;
  const logins = readLogins(p);
  if (logins === undefined) return undefined;
  return {
    home: p.home,
    url: loginUrl(APP_LOGIN, logins.app, pm.port),
    readerUrl: loginUrl(READER_LOGIN, logins.bi, pm.port),
    installUrl: superuserUrl(pm.port, readPassword(p)),
    port: pm.port,
    socketDir: pm.socketDir ?? null,
    dataDir: p.dataDir,
    pid: pm.pid,
    created,
    started,
  };
}

/** Waits while a postmaster is starting up, recovering or shutting down; returns it once ready. */
async function settledPostmaster(p: ClusterPaths): Promise<Postmaster | undefined> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const pm = livePostmaster(p.dataDir);
    if (!pm || pm.status === "ready") return pm;
    if (Date.now() > deadline) {
      throw new ClusterError(`the server (pid ${pm.pid}) stayed "${pm.status}" for ${SETTLE_TIMEOUT_MS / 1000} s; see ${p.logFile}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A new cluster for a home the server user cannot enter (run as root from a mode-700
 * folder) goes under STRATA_PG_ROOT (default /var/lib/strata), in a folder of its own
 * that the home's location file names; the home keeps its lock, the server its data.
 */
function relocate(home: string): ClusterPaths {
  const root = process.env.STRATA_PG_ROOT || "/var/lib/strata";
  fs.mkdirSync(root, { recursive: true, mode: 0o755 });
  const dir = path.join(root, randomBytes(8).toString("hex"));
  fs.writeFileSync(path.join(home, LOCATION_FILE), `${dir}\n`, { mode: 0o600 });
  return clusterPaths(home);
}

/** <home>/pg: private to the server user, who must also be able to reach it. */
async function preparePgDir(p: ClusterPaths, user: OsUser | undefined): Promise<void> {
  fs.mkdirSync(p.pgDir, { recursive: true, mode: 0o700 });
  fs.chmodSync(p.pgDir, 0o700);
  giveTo(p.pgDir, user);
  if (user) await assertReachable(user, p.pgDir);
}

/**
 * Makes sure the cluster of `home` exists and runs, and says how to reach it. Creates it
 * on first use and starts it when stopped; otherwise it is cheap (reads postmaster.pid).
 * Safe to call from several processes at once: one initializes/starts, the others wait.
 * `opts` apply when this call creates or starts the server.
 */
export async function ensureCluster(home: string, opts: EnsureOptions = {}): Promise<ClusterInfo> {
  let p = clusterPaths(home);
  const running = readyInfo(p, false, false);
  if (running) return running;
  fs.mkdirSync(p.home, { recursive: true });
  const settings = { fsync: opts.fsync ?? true, sharedBuffers: opts.sharedBuffers ?? "256MB" };
  return withLockFile(p.lockFile, opts.lockTimeoutMs ?? LOCK_TIMEOUT_MS, "starting the private PostgreSQL", async () => {
    let pm = await settledPostmaster(p);
    const binDir = findPgBinDir(); // fails first, naming what to install
    const user = serverUser(p.dataDir);
    let created = false;
    let started = false;
    if (!pm) {
      if (user && !fs.existsSync(path.join(p.dataDir, "PG_VERSION")) && recordedLocation(p.home) === undefined) {
        if ((await firstBlocked(user, p.home)) !== undefined) p = relocate(p.home);
      }
      await preparePgDir(p, user);
      if (!fs.existsSync(path.join(p.dataDir, "PG_VERSION"))) {
        await initCluster(p, binDir, user, settings);
        created = true;
      }
      await startServer(p, binDir, user, settings);
      started = true;
      pm = livePostmaster(p.dataDir);
      if (!pm) throw new ClusterError(`the server exited right after starting; see ${p.logFile}`);
    }
    if (!fs.existsSync(p.readyFile)) await createStrataDatabase(p, pm.port, user);
    if (readLogins(p) === undefined) await createLogins(p, pm.port, readPassword(p), user);
    const info = readyInfo(p, created, started);
    if (!info) throw new ClusterError(`the server is not ready after starting; see ${p.logFile}`);
    return info;
  });
}

/** Whether the cluster of `home` exists and runs; reads files only, starts nothing. */
export async function clusterStatus(home: string): Promise<ClusterStatus> {
  const p = clusterPaths(home);
  const initialized = fs.existsSync(p.readyFile) && fs.existsSync(path.join(p.dataDir, "PG_VERSION"));
  const pm = livePostmaster(p.dataDir);
  if (!pm) return { initialized, running: false };
  const status: ClusterStatus = { initialized, running: true, port: pm.port, pid: pm.pid };
  const logins = readLogins(p);
  if (initialized && logins !== undefined) status.url = loginUrl(APP_LOGIN, logins.app, pm.port);
  return status;
}

/**
 * Stops the server of `home` and waits until it is gone; false if it was not running.
 * mode `fast` (default) ends sessions cleanly; `immediate` skips the shutdown checkpoint.
 */
export async function stopCluster(home: string, opts: { mode?: "fast" | "immediate" } = {}): Promise<boolean> {
  const p = clusterPaths(home);
  if (!livePostmaster(p.dataDir)) return false;
  return withLockFile(p.lockFile, LOCK_TIMEOUT_MS, "stopping the private PostgreSQL", async () => {
    if (!livePostmaster(p.dataDir)) return false;
    await stopServer(p, findPgBinDir(), serverUser(p.dataDir), opts.mode ?? "fast");
    return true;
  });
}

/** The connection URL of the cluster of `home`, creating and starting it as needed. */
export async function clusterUrl(home: string, opts: EnsureOptions = {}): Promise<string> {
  return (await ensureCluster(home, opts)).url;
}
