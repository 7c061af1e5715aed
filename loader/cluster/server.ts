// The server-side steps of a private cluster: initdb, settings, start, stop, and the
// `strata` database. Callers hold the cluster lock (see cluster.ts).
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { processAlive } from "../lock.js";
import type { ClusterPaths } from "./state.js";
import { choosePort, freePort, livePostmaster, socketDirFits } from "./state.js";
import type { OsUser } from "./system.js";
import { ClusterError, giveTo, run } from "./system.js";

export interface ServerSettings {
  /** false: no fsync in initdb or the server; a crash of the machine may lose the data. */
  fsync: boolean;
  /** shared_buffers, e.g. "256MB". */
  sharedBuffers: string;
}

const START_ATTEMPTS = 3;
const LOG_ROTATE_BYTES = 16 * 1024 * 1024;

/** The line of a program's output or log that best says why it failed. */
export function failureReason(text: string): string {
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const marked = lines.filter((l) => /\b(FATAL|PANIC|ERROR)\b|error:/i.test(l));
  const line = marked.at(-1) ?? lines.at(-1) ?? "no output";
  return line.length > 300 ? `${line.slice(0, 300)}...` : line;
}

function writeOwned(file: string, content: string, mode: number, user: OsUser | undefined): void {
  fs.writeFileSync(file, content, { mode });
  fs.chmodSync(file, mode);
  giveTo(file, user);
}

function appendLog(p: ClusterPaths, user: OsUser | undefined, text: string): void {
  fs.appendFileSync(p.logFile, text.endsWith("\n") ? text : `${text}\n`);
  giveTo(p.logFile, user);
}

export function readPassword(p: ClusterPaths): string {
  return fs.readFileSync(p.passwordFile, "utf8").trim();
}

/**
 * Creates the data directory: superuser `strata`, trust over the private Unix socket,
 * SCRAM password over TCP. initdb writes into data.init, renamed at the end, so an
 * existing data/ is always a complete one.
 */
export async function initCluster(p: ClusterPaths, binDir: string, user: OsUser | undefined, s: ServerSettings): Promise<void> {
  writeOwned(p.passwordFile, `${randomBytes(24).toString("base64url")}\n`, 0o600, user);
  const tmp = `${p.dataDir}.init`;
  fs.rmSync(tmp, { recursive: true, force: true });
  let result = { code: 1, output: "" };
  // C.UTF-8 sorts by code point (indexes survive glibc upgrades) and knows non-ASCII
  // letters; plain C is the fallback where that locale is missing.
  for (const locale of ["C.UTF-8", "C"]) {
    const args = ["-D", tmp, "-U", "strata", "--auth-local=trust", "--auth-host=scram-sha-256"];
    args.push(`--pwfile=${p.passwordFile}`, "-E", "UTF8", `--locale=${locale}`);
    if (!s.fsync) args.push("--no-sync");
    result = await run(path.join(binDir, "initdb"), args, user, p.pgDir);
    appendLog(p, user, `strata: initdb --locale=${locale} exited ${result.code}\n${result.output}`);
    if (result.code === 0) break;
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!/locale/i.test(result.output)) break;
  }
  if (result.code !== 0) throw new ClusterError(`initdb failed: ${failureReason(result.output)}; see ${p.logFile}`);
  fs.appendFileSync(path.join(tmp, "postgresql.conf"), "\n# strata's settings (port, sockets, memory)\ninclude = 'strata.conf'\n");
  fs.renameSync(tmp, p.dataDir);
}

function confString(s: string): string {
  return `'${s.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}

function writeServerConf(p: ClusterPaths, port: number, s: ServerSettings, user: OsUser | undefined): void {
  // A socket path longer than the kernel allows would stop the server from starting, so
  // such a cluster listens on TCP only; the note below says so to whoever reads the file.
  const socket = socketDirFits(p.pgDir);
  const onOff = s.fsync ? "on" : "off";
  const lines = [
    "# Written by strata before every start; put your own settings in with ALTER SYSTEM.",
    `port = ${port}`,
    "listen_addresses = '127.0.0.1'",
    socket
      ? `unix_socket_directories = ${confString(p.pgDir)}`
      : `unix_socket_directories = ''  # ${p.pgDir} is too long for a Unix socket path; TCP only`,
    // Sized for a developer machine (2 cores, tens of GiB) that also runs other things.
    `shared_buffers = ${s.sharedBuffers}`,
    "effective_cache_size = 4GB",
    "work_mem = 16MB",
    "maintenance_work_mem = 256MB",
    "max_wal_size = 2GB",
    `fsync = ${onOff}`,
    `synchronous_commit = ${onOff}`,
    `full_page_writes = ${onOff}`,
  ];
  writeOwned(p.confFile, `${lines.join("\n")}\n`, 0o600, user);
}

function logSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

function readLogFrom(file: string, offset: number): string {
  try {
    return fs.readFileSync(file).subarray(offset).toString("utf8");
  } catch {
    return "";
  }
}

/**
 * Starts the server on the remembered port if it is free, else a new one (also when
 * another program wins the race for the port), and waits until it accepts connections.
 * Returns the port.
 */
export async function startServer(p: ClusterPaths, binDir: string, user: OsUser | undefined, s: ServerSettings): Promise<number> {
  if (!livePostmaster(p.dataDir)) fs.rmSync(path.join(p.dataDir, "postmaster.pid"), { force: true }); // stale
  if (logSize(p.logFile) > LOG_ROTATE_BYTES) fs.renameSync(p.logFile, `${p.logFile}.1`);
  let port = await choosePort(p.portFile);
  for (let attempt = 1; ; attempt++) {
    writeServerConf(p, port, s, user);
    writeOwned(p.portFile, `${port}\n`, 0o644, user);
    const from = logSize(p.logFile);
    const args = ["start", "-D", p.dataDir, "-l", p.logFile, "-w", "-t", "60", "-s"];
    const r = await run(path.join(binDir, "pg_ctl"), args, user, p.pgDir);
    if (r.code === 0) return port;
    const log = readLogFrom(p.logFile, from);
    if (attempt < START_ATTEMPTS && /could not bind|could not create any TCP\/IP sockets/.test(log)) {
      port = await freePort();
      continue;
    }
    throw new ClusterError(`server start failed: ${failureReason(log || r.output)}; see ${p.logFile}`);
  }
}

/** pg_ctl stop; `immediate` skips the shutdown checkpoint (for clusters about to be deleted). */
export async function stopServer(p: ClusterPaths, binDir: string, user: OsUser | undefined, mode: "fast" | "immediate"): Promise<void> {
  const pid = livePostmaster(p.dataDir)?.pid;
  const args = ["stop", "-D", p.dataDir, "-m", mode, "-w", "-t", "60", "-s"];
  const r = await run(path.join(binDir, "pg_ctl"), args, user, p.pgDir);
  if (r.code !== 0 && livePostmaster(p.dataDir)) {
    throw new ClusterError(`pg_ctl stop failed: ${failureReason(r.output)}; see ${p.logFile}`);
  }
  // pg_ctl returns once postmaster.pid is gone, a moment before the process itself exits.
  for (let i = 0; pid !== undefined && i < 100 && processAlive(pid); i++) await new Promise((res) => setTimeout(res, 20));
}

/** Creates the `strata` database if missing, then marks the cluster initialized. */
export async function createStrataDatabase(p: ClusterPaths, port: number, user: OsUser | undefined): Promise<void> {
  const { default: pg } = await import("pg");
  const client = new pg.Client({ host: "127.0.0.1", port, user: "strata", password: readPassword(p), database: "postgres" });
  client.on("error", () => {}); // a lost connection fails the running query instead
  try {
    await client.connect();
    const found = await client.query("SELECT 1 FROM pg_database WHERE datname = 'strata'");
    if (found.rowCount === 0) await client.query("CREATE DATABASE strata");
  } catch (e) {
    throw new ClusterError(`could not create database strata: ${(e as Error).message}; see ${p.logFile}`);
  } finally {
    await client.end().catch(() => undefined);
  }
  writeOwned(p.readyFile, `${new Date().toISOString()}\n`, 0o644, user);
}
