// The operating-system side of the private cluster: where the PostgreSQL binaries are,
// which OS user runs them, and running them as that user.
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { ErrorKind } from "../errors.js";

/**
 * Any failure of the private cluster; the message is one line naming the problem and
 * what to do. `setup`: the machine lacks something (binaries, an OS user, a reachable
 * folder); otherwise the server could not be created, started or stopped.
 */
export class ClusterError extends Error {
  override name = "ClusterError";

  constructor(
    message: string,
    readonly errorKind: Extract<ErrorKind, "setup" | "databaseUnreachable"> = "databaseUnreachable",
  ) {
    super(message);
  }

  get code(): string {
    return this.errorKind === "setup" ? "cluster_setup" : "cluster";
  }
}

const SERVER_BINARIES = ["initdb", "pg_ctl", "postgres"];
const INSTALL_HINT = "apt-get install postgresql postgresql-15-pllua";

function hasServerBinaries(dir: string): boolean {
  return SERVER_BINARIES.every((name) => {
    try {
      fs.accessSync(path.join(dir, name), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function pgConfigBinDir(): string | undefined {
  // pg_config may be missing from PATH (Debian keeps the server binaries off it).
  for (const cmd of ["pg_config", "/usr/bin/pg_config"]) {
    try {
      const out = execFileSync(cmd, ["--bindir"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
      return out.trim();
    } catch {
      // try the next one
    }
  }
  return undefined;
}

/** Debian/Ubuntu layout: /usr/lib/postgresql/<major>/bin, highest major first. */
function debianBinDirs(): string[] {
  let names: string[];
  try {
    names = fs.readdirSync("/usr/lib/postgresql");
  } catch {
    return [];
  }
  return names
    .filter((n) => /^\d+(\.\d+)?$/.test(n))
    .sort((a, b) => Number(b) - Number(a))
    .map((n) => path.join("/usr/lib/postgresql", n, "bin"));
}

let cachedBinDir: string | undefined;

/**
 * The directory holding initdb, pg_ctl and postgres: $STRATA_PG_BINDIR if set, else
 * `pg_config --bindir`, else the highest /usr/lib/postgresql/N/bin, else a PATH entry.
 * Throws ClusterError naming the packages to install when none has them.
 */
export function findPgBinDir(): string {
  if (cachedBinDir) return cachedBinDir;
  const forced = process.env.STRATA_PG_BINDIR;
  if (forced) {
    if (!hasServerBinaries(forced)) {
      throw new ClusterError(`STRATA_PG_BINDIR=${forced} lacks initdb, pg_ctl or postgres; fix it or unset it`, "setup");
    }
    cachedBinDir = forced;
    return forced;
  }
  const candidates = [pgConfigBinDir(), ...debianBinDirs(), ...(process.env.PATH ?? "").split(path.delimiter)];
  const found = candidates.find((d): d is string => !!d && hasServerBinaries(d));
  if (!found) {
    throw new ClusterError(
      `no PostgreSQL server binaries (initdb, pg_ctl, postgres) found via pg_config, /usr/lib/postgresql/*/bin or PATH; install them: ${INSTALL_HINT}, or set STRATA_PG_BINDIR`,
      "setup",
    );
  }
  cachedBinDir = found;
  return found;
}

export interface OsUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

function lookupUser(key: string): OsUser | undefined {
  let line: string | undefined;
  try {
    // getent also sees users from NSS (LDAP, sssd), not only /etc/passwd.
    line = execFileSync("getent", ["passwd", key], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).split("\n")[0];
  } catch {
    try {
      line = fs
        .readFileSync("/etc/passwd", "utf8")
        .split("\n")
        .find((l) => {
          const f = l.split(":");
          return f[0] === key || f[2] === key;
        });
    } catch {
      line = undefined;
    }
  }
  const f = line?.split(":");
  if (!f || f.length < 6) return undefined;
  return { name: f[0] ?? key, uid: Number(f[2]), gid: Number(f[3]), home: f[5] || "/" };
}

/**
 * Who runs initdb, pg_ctl and postgres. undefined: this process itself (not root).
 * As root: the owner of an existing data directory if that is not root (so a home made
 * without root keeps working under sudo), else $STRATA_PG_OS_USER or `postgres`, because
 * initdb and postgres refuse to run as root.
 */
export function serverUser(dataDir: string): OsUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const st = fs.statSync(dataDir);
    if (st.uid !== 0) return lookupUser(String(st.uid)) ?? { name: `uid ${st.uid}`, uid: st.uid, gid: st.gid, home: "/" };
  } catch {
    // no data directory yet
  }
  const name = process.env.STRATA_PG_OS_USER || "postgres";
  const user = lookupUser(name);
  if (!user || user.uid === 0) {
    throw new ClusterError(
      `running as root, the private PostgreSQL needs an unprivileged OS user "${name}" to run as (initdb and postgres refuse root); ${INSTALL_HINT} creates "postgres", or run strata as a normal user`,
      "setup",
    );
  }
  return user;
}

function childEnv(user: OsUser | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  // PG* variables (PGDATA, PGPORT, ...) of the caller must not steer our private server.
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("PG")) env[k] = v;
  // English messages, so a failure can be recognised (port taken, bad locale) and reported.
  delete env.LC_ALL;
  env.LC_MESSAGES = "C";
  if (user) Object.assign(env, { HOME: user.home, USER: user.name, LOGNAME: user.name });
  return env;
}

export interface RunResult {
  code: number;
  output: string;
}

/** Runs a program (as `user` when given) and collects stdout and stderr together. */
export function run(cmd: string, args: string[], user: OsUser | undefined, cwd: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      env: childEnv(user),
      stdio: ["ignore", "pipe", "pipe"],
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
    });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (output += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (output += d));
    child.on("error", (e) => reject(new ClusterError(`could not run ${path.basename(cmd)}: ${e.message}`, "setup")));
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

/** Makes `p` belong to the server user (no-op when we are that user). */
export function giveTo(p: string, user: OsUser | undefined): void {
  if (user) fs.chownSync(p, user.uid, user.gid);
}

/** The first directory on the way to `dir` that `user` cannot enter, or undefined. */
export async function firstBlocked(user: OsUser, dir: string): Promise<string | undefined> {
  const chain: string[] = [];
  for (let d = dir; ; d = path.dirname(d)) {
    chain.unshift(d);
    if (path.dirname(d) === d) break;
  }
  const script = 'for d do [ -x "$d" ] || { printf %s "$d"; exit 1; }; done';
  const r = await run("/bin/sh", ["-c", script, "sh", ...chain], user, "/");
  return r.code === 0 ? undefined : r.output.trim() || dir;
}

/**
 * Fails with a ClusterError naming the first directory on the way to `dir` that `user`
 * cannot enter. Checked by the user itself, so groups and ACLs count as the kernel sees them.
 */
export async function assertReachable(user: OsUser, dir: string): Promise<void> {
  const blocked = await firstBlocked(user, dir);
  if (blocked === undefined) return;
  throw new ClusterError(
    `the private PostgreSQL runs as OS user "${user.name}" (it refuses root) and cannot enter ${blocked}; set STRATA_HOME to a folder it can reach (e.g. under /var/lib or /tmp), or run chmod o+x ${blocked}`,
    "setup",
  );
}
