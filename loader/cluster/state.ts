// The files of a private cluster and what they say: where everything lives under
// <home>/pg, whether a postmaster is running for it, and which TCP port to use.
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { processAlive } from "../lock.js";
import { ClusterError } from "./system.js";

export interface ClusterPaths {
  home: string;
  /** Owned by the server user, mode 0700; also the Unix socket directory. */
  pgDir: string;
  dataDir: string;
  passwordFile: string;
  portFile: string;
  logFile: string;
  /** Our settings, rewritten at every start and included from postgresql.conf. */
  confFile: string;
  /** Written once the `strata` database exists: the cluster is fully initialized. */
  readyFile: string;
  /** Passwords of the logins (logins.ts); written once they exist. */
  loginsFile: string;
  lockFile: string;
}

/**
 * In a home the server user cannot enter (root's in a mode-700 /root), the cluster lives
 * elsewhere: this file in the home names its folder (see cluster.ts relocate).
 */
export const LOCATION_FILE = "pg-location";

/** The cluster folder a home's location file names, or undefined. */
export function recordedLocation(home: string): string | undefined {
  try {
    return fs.readFileSync(path.join(home, LOCATION_FILE), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

export function clusterPaths(home: string): ClusterPaths {
  const abs = path.resolve(home);
  const pgDir = recordedLocation(abs) ?? path.join(abs, "pg");
  // pg_ctl pastes the data directory into a shell command inside double quotes.
  if (/["$`\\\n]/.test(pgDir)) {
    throw new ClusterError(
      `the folder ${JSON.stringify(pgDir)} has a character (" $ \` \\ or newline) that PostgreSQL's pg_ctl cannot take`,
      "setup",
    );
  }
  const dataDir = path.join(pgDir, "data");
  return {
    home: abs,
    pgDir,
    dataDir,
    passwordFile: path.join(pgDir, "password"),
    portFile: path.join(pgDir, "port"),
    logFile: path.join(pgDir, "log"),
    confFile: path.join(dataDir, "strata.conf"),
    readyFile: path.join(pgDir, "initialized"),
    loginsFile: path.join(pgDir, "logins.json"),
    lockFile: path.join(abs, "pg.lock"),
  };
}

// sun_path holds 107 bytes plus NUL; the socket file is "<dir>/.s.PGSQL.<port up to 5 digits>".
const SOCKET_PATH_MAX = 107;

/** Whether a Unix socket in `dir` fits the kernel's limit on socket path length. */
export function socketDirFits(dir: string): boolean {
  return Buffer.byteLength(path.join(dir, ".s.PGSQL.65535")) <= SOCKET_PATH_MAX;
}

export interface Postmaster {
  pid: number;
  port: number;
  /** First Unix socket directory, or undefined when it listens on TCP only. */
  socketDir: string | undefined;
  /** "starting", "ready", "stopping" or "standby". */
  status: string;
}

/** What data/postmaster.pid says, if it exists. It may be stale: see isOurPostmaster. */
export function readPostmasterPid(dataDir: string): Postmaster | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dataDir, "postmaster.pid"), "utf8");
  } catch {
    return undefined;
  }
  // Lines: pid, data dir, start time, port, socket dir, listen address, shmem key, status.
  const lines = text.split("\n");
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return {
    pid,
    port: Number(lines[3]),
    socketDir: lines[4]?.trim() || undefined,
    status: lines[7]?.trim() ?? "",
  };
}

/** Whether `pid` is alive and is the postmaster of `dataDir` (it runs with the data directory as cwd). */
export function isOurPostmaster(pid: number, dataDir: string): boolean {
  if (!processAlive(pid)) return false;
  try {
    return fs.readlinkSync(`/proc/${pid}/cwd`) === fs.realpathSync(dataDir);
  } catch {
    // No /proc, or not allowed to look: fall back to the program name, else trust the pid.
    try {
      return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "postgres";
    } catch {
      return true;
    }
  }
}

/** The running postmaster of this cluster, whatever its status, or undefined. */
export function livePostmaster(dataDir: string): Postmaster | undefined {
  const pm = readPostmasterPid(dataDir);
  return pm && isOurPostmaster(pm.pid, dataDir) ? pm : undefined;
}

/** Whether 127.0.0.1:`port` can be bound right now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen({ port, host: "127.0.0.1", exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A port the kernel says is free now (bind to port 0). Another process may take it before us. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen({ port: 0, host: "127.0.0.1", exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** The remembered port if it is still free, else a new free one. */
export async function choosePort(portFile: string): Promise<number> {
  let saved = 0;
  try {
    saved = Number(fs.readFileSync(portFile, "utf8").trim());
  } catch {
    // first start
  }
  if (Number.isInteger(saved) && saved > 0 && saved < 65536 && (await portIsFree(saved))) return saved;
  return freePort();
}
