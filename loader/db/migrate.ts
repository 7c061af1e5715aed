// Installs and upgrades schema strata: first the numbered migrations in migrations/
// (node-pg-migrate, forward only, all pending ones in one transaction), then the stored
// logic (the Lua bundle, its generated wrappers and the plain SQL objects of sql/), which
// is re-installed only when any of it changed. One advisory lock serialises migrators, so
// two at once cannot both apply; a second run finds nothing to do.

import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { projectRoot, storedBuildDir } from "../paths.js";

/** Arbitrary, fixed: the advisory lock key every Strata migrator takes. */
const MIGRATE_LOCK = 7_246_001_913;

export interface MigrateOptions {
  /** Apply at most this many pending migrations (tests use it to install an old release). */
  count?: number;
  /** Skip the stored logic (it may need tables of migrations not applied yet). */
  skipStoredLogic?: boolean;
}

export interface MigrateResult {
  /** Names of the migrations this run applied. */
  applied: string[];
  storedLogic: "installed" | "unchanged" | "skipped";
}

export async function migrate(databaseUrl: string, opts: MigrateOptions = {}): Promise<MigrateResult> {
  const client = new pg.Client({ connectionString: databaseUrl });
  client.on("error", () => {}); // a lost connection fails the running query instead
  await client.connect();
  try {
    await client.query("set client_min_messages = warning");
    await client.query("select pg_advisory_lock($1)", [MIGRATE_LOCK]);
    // loaded here, not at start-up: commands on an up-to-date database never need it.
    // Its module loader (jiti) must not write a cache under node_modules: that makes npm's
    // hidden lockfile stale, and every later `npx strata` re-reads all packages.
    process.env.JITI_FS_CACHE ??= "false";
    const { runner } = await import("node-pg-migrate");
    const ran = await runner({
      dbClient: client,
      dir: join(projectRoot(), "migrations"),
      direction: "up",
      count: opts.count ?? Infinity,
      migrationsTable: "migrations",
      migrationsSchema: "strata",
      createMigrationsSchema: true,
      singleTransaction: true,
      noLock: true,
      checkOrder: true,
      log: () => {},
    });
    const storedLogic = opts.skipStoredLogic ? "skipped" : await installStoredLogic(client);
    return { applied: ran.map((m) => m.name), storedLogic };
  } finally {
    await client.query("select pg_advisory_unlock($1)", [MIGRATE_LOCK]).catch(() => {});
    await client.end();
  }
}

interface StoredLogic {
  bundleHash: string;
  /** `strata.name(arg types)` of every declared entry point. */
  signatures: string[];
  bundle: string;
  /** SQL scripts in the order they run: sql/ files below 50, the wrappers, the rest. */
  scripts: { name: string; sql: string }[];
  installHash: string;
}

/** The build output of stored/ and the files of sql/, as the migrator installs them. */
export function loadStoredLogic(): StoredLogic {
  const dir = storedBuildDir();
  const manifestPath = join(dir, "manifest.json");
  if (!existsSync(manifestPath)) throw new Error(`the stored logic is not built (${manifestPath} is missing): run npm run build`);
  const { bundleHash, signatures } = JSON.parse(readFileSync(manifestPath, "utf8")) as { bundleHash: string; signatures: string[] };
  const bundle = readFileSync(join(dir, "strata.lua"), "utf8");
  const sqlDir = join(projectRoot(), "sql");
  const files = readdirSync(sqlDir)
    .filter((f) => /^\d+_.*\.sql$/.test(f))
    .sort();
  const read = (f: string) => ({ name: `sql/${f}`, sql: readFileSync(join(sqlDir, f), "utf8") });
  const scripts = [
    ...files.filter((f) => parseInt(f, 10) < 50).map(read),
    { name: "wrappers.sql", sql: readFileSync(join(dir, "wrappers.sql"), "utf8") },
    ...files.filter((f) => parseInt(f, 10) >= 50).map(read),
  ];
  const h = createHash("sha256").update(bundle);
  for (const s of scripts) h.update(`\0${s.name}\0${s.sql}`);
  return { bundleHash, signatures, bundle, scripts, installHash: h.digest("hex") };
}

async function installStoredLogic(client: pg.Client): Promise<"installed" | "unchanged"> {
  const logic = loadStoredLogic();
  await client.query("begin");
  try {
    const { rows } = await client.query<{ install_hash: string }>("select install_hash from strata._installs order by id desc limit 1");
    if (rows[0]?.install_hash === logic.installHash) {
      await client.query("commit");
      return "unchanged";
    }
    await client.query("insert into strata._bundles (hash, source) values ($1, $2) on conflict (hash) do nothing", [
      logic.bundleHash,
      logic.bundle,
    ]);
    // First, so that sql/ can give a name to an SQL-language function (strata.ls was PL/Lua).
    await dropUndeclared(client, logic.signatures);
    for (const s of logic.scripts) {
      try {
        await client.query(s.sql);
      } catch (e) {
        throw new Error(`installing ${s.name} failed: ${(e as Error).message}`, { cause: e });
      }
    }
    await client.query("insert into strata._installs (install_hash, bundle_hash) values ($1, $2)", [logic.installHash, logic.bundleHash]);
    await client.query("commit");
    return "installed";
  } catch (e) {
    await client.query("rollback");
    throw e;
  }
}

/**
 * Drop the PL/Lua functions of schema strata that this release no longer declares (a
 * wrapper whose arguments changed would otherwise live on as a stale overload). SQL
 * functions are sql/'s own: one that sql/ no longer creates must be dropped there.
 */
async function dropUndeclared(client: pg.Client, signatures: string[]): Promise<void> {
  const { rows } = await client.query<{ fn: string }>(
    `select p.oid::regprocedure::text as fn
     from pg_proc p join pg_namespace n on n.oid = p.pronamespace join pg_language l on l.oid = p.prolang
     where n.nspname = 'strata' and l.lanname = 'pllua'
       and p.oid <> all (array(select to_regprocedure(s)::oid from unnest($1::text[]) s where to_regprocedure(s) is not null))`,
    [signatures],
  );
  for (const r of rows) await client.query(`drop function ${r.fn}`);
}
