// Which PostgreSQL the loader talks to: DATABASE_URL when set, otherwise the private
// cluster under STRATA_HOME (started on demand). Either way the schema is brought up to
// date before first use.

import { readdirSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { StrataError } from "../errors.js";
import { projectRoot } from "../paths.js";
import { ensureCluster } from "../cluster/cluster.js";
import { loadStoredLogic, migrate } from "./migrate.js";

// bigint columns (ids, sizes, counts) as JS numbers: they stay far below 2^53 here.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export interface DatabaseTarget {
  /** What the loader works as. */
  url: string;
  /** Who may migrate it: the private cluster's superuser; for DATABASE_URL, the same URL. */
  installUrl: string;
}

/** DATABASE_URL, else the private cluster of `home` (started on demand) and its logins. */
export async function resolveDatabase(home: string, env: NodeJS.ProcessEnv = process.env): Promise<DatabaseTarget> {
  if (env.DATABASE_URL) return { url: env.DATABASE_URL, installUrl: env.DATABASE_URL };
  const cluster = await ensureCluster(home);
  return { url: cluster.url, installUrl: cluster.installUrl };
}

export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || "localhost"}:${u.port || 5432}${u.pathname}`;
  } catch {
    return "the database";
  }
}

/**
 * A pool on `url`, migrated (as `installUrl`) when the schema or stored logic is behind
 * this release. A login that may not migrate gets an error naming what to do.
 */
export async function openPool(url: string, opts: { migrate?: boolean; installUrl?: string } = {}): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  // A lost connection must surface as the failed query it breaks (one line, exit 5), not
  // as an unhandled 'error' event: on idle clients (the pool's) and checked-out ones.
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  try {
    if (opts.migrate !== false && !(await isCurrent(pool))) {
      try {
        await migrate(opts.installUrl ?? url);
      } catch (e) {
        if ((e as { code?: string }).code !== "42501") throw e;
        throw new StrataError(
          `the Strata schema at ${describeUrl(url)} is behind this release, and this login may not upgrade it: have its owner run strata migrate (${(e as Error).message})`,
          "setup",
          { cause: e },
        );
      }
    }
  } catch (e) {
    await pool.end();
    const code = (e as { code?: string }).code;
    if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "ETIMEDOUT" || code === "EHOSTUNREACH")
      throw new StrataError(`cannot reach the database at ${describeUrl(url)} (${code})`, "databaseUnreachable", { cause: e });
    throw e;
  }
  return pool;
}

/** True when every migration and the current stored logic are installed (strata.installed(), readable by every Strata role). */
async function isCurrent(pool: pg.Pool): Promise<boolean> {
  const migrations = readdirSync(join(projectRoot(), "migrations")).filter((f) => f.endsWith(".sql")).length;
  let row: { applied: number; install_hash: string | null } | undefined;
  try {
    row = (await pool.query<{ applied: number; install_hash: string | null }>("select * from strata.installed()")).rows[0];
  } catch (e) {
    // no schema yet, or one from before strata.installed(): not current
    if (!["42883", "3F000", "42P01"].includes((e as { code?: string }).code ?? "")) throw e;
    return false;
  }
  return row !== undefined && row.applied === migrations && row.install_hash === loadStoredLogic().installHash;
}
