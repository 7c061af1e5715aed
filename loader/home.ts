// The Strata home: the folder that holds the private PostgreSQL cluster, the default
// chunk store, the push index, checkout states and the chunk cache. Found as git finds
// .git: STRATA_HOME, else the nearest `.strata` home in the current folder or a parent.
// A home is made only on purpose: by `strata init`, or by the first push (which says
// where), so a command run from the wrong folder says so instead of starting an empty
// database there.

import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { StrataError } from "./errors.js";

export const HOME_DIR = ".strata";
/** Written into every home this release makes; older homes are known by their pg/ or objects/. */
const MARKER = "home.json";

function isHome(dir: string): boolean {
  try {
    if (!statSync(dir).isDirectory()) return false;
  } catch {
    return false;
  }
  return [MARKER, "pg", "pg-location", "objects"].some((f) => existsSync(join(dir, f)));
}

/** STRATA_HOME, else the nearest home in `cwd` or a parent; undefined when there is none. */
export function findHome(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string | undefined {
  if (env.STRATA_HOME) return resolve(cwd, env.STRATA_HOME);
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const candidate = join(dir, HOME_DIR);
    if (isHome(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/** Make `dir` a Strata home (idempotent); true when it was new. */
export function createHome(dir: string): boolean {
  if (isHome(dir)) return false;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, MARKER), `${JSON.stringify({ format: 1, createdAt: new Date().toISOString() })}\n`, { mode: 0o600 });
  return true;
}

/** Where a command run here would create a home: STRATA_HOME, or .strata in the current folder. */
export function newHomePath(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  return resolve(cwd, env.STRATA_HOME ?? HOME_DIR);
}

/**
 * The home a command uses. STRATA_HOME is created when missing (the user named it).
 * Without a home here: with DATABASE_URL set the database is elsewhere, so the per-user
 * state folder serves (push index, chunk cache, checkout states, and the chunk store
 * unless STRATA_STORE names one); otherwise the command fails, saying how to make one.
 */
export function commandHome(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  const found = findHome(env, cwd);
  if (found !== undefined) {
    if (env.STRATA_HOME) createHome(found);
    return found;
  }
  if (env.DATABASE_URL) return userStateHome(env);
  throw new StrataError(
    `no Strata home in ${resolve(cwd)} or a parent folder: run strata init (or push a folder, which makes one), or set STRATA_HOME`,
    "setup",
    { code: "no_home" },
  );
}

/**
 * For a command that makes a home when there is none (push): the new home's path
 * (now made), or undefined when a home exists or none is needed.
 */
export function makeHomeIfMissing(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string | undefined {
  if (findHome(env, cwd) !== undefined || env.DATABASE_URL) return undefined;
  const home = newHomePath(env, cwd);
  return createHome(home) ? home : undefined;
}

/** $XDG_STATE_HOME/strata, else ~/.local/state/strata. */
function userStateHome(env: NodeJS.ProcessEnv): string {
  const dir = join(env.XDG_STATE_HOME || join(homedir(), ".local", "state"), "strata");
  createHome(dir);
  return dir;
}
