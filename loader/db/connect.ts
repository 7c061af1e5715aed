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

/** DATABASE_URL, else the URL of the private cluster of `home` (started on demand). */
export async function resolveDatabaseUrl(home: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env.DATABASE_URL) return env.DATABASE_URL;
  const cluster = await ensureCluster(home);
  return cluster.url;
}

export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || "localhost"}:${u.port || 5432}${u.pathname}`;
  } catch {
    return "the database";
  }
}

/** A pool on `url`, migrated when the schema or stored logic is behind this release. */
export async function openPool(url: string, opts: { migrate?: boolean } = {}): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  // A lost connection must surface as the failed query it breaks (one line, exit 5), not
  // as an unhandled 'error' event: on idle clients (the pool's) and checked-out ones.
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  try {
    if (opts.migrate !== false && !(await isCurrent(pool))) await migrate(url);
  } catch (e) {
    await pool.end();
    const code = (e as { code?: string }).code;
    if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "ETIMEDOUT" || code === "EHOSTUNREACH")
      throw new StrataError(`cannot reach the database at ${describeUrl(url)} (${code})`, "databaseUnreachable", { cause: e });
    throw e;
  }
  return pool;
}

/** True when every migration and the current stored logic are installed. */
async function isCurrent(pool: pg.Pool): Promise<boolean> {
  const migrations = readdirSync(join(projectRoot(), "migrations")).filter((f) => f.endsWith(".sql")).length;
  const exists = await pool.query<{ ok: boolean }>(
    "select to_regclass('strata._installs') is not null and to_regclass('strata.migrations') is not null as ok",
  );
  if (!exists.rows[0]?.ok) return false;
  const { rows } = await pool.query<{ applied: number; install_hash: string | null }>(
    `select (select count(*) from strata.migrations)::int as applied,
            (select install_hash from strata._installs order by id desc limit 1) as install_hash`,
  );
  const row = rows[0];
  return row !== undefined && row.applied === migrations && row.install_hash === loadStoredLogic().installHash;
}
