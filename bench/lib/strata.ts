/**
 * Strata under the bench: one throwaway PostgreSQL cluster with fsync turned back
 * on, one database per row (cloned from a migrated template, so rows do not dedup
 * against each other and each row's metadata can be sized), and the real CLI
 * (bin/strata.js, the compiled dist/) run as a child process under GNU time.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { createThrowawayCluster, type ThrowawayCluster } from "../../test/helpers/throwaway-cluster.js";
import { migrate } from "../../loader/db/migrate.js";
import { timed, type Measured } from "./measure.js";
import type { PushResult } from "../../loader/push/push.js";

export const STRATA_BIN = fileURLToPath(new URL("../../bin/strata.js", import.meta.url));

export interface Cluster {
  cluster: ThrowawayCluster;
  /** The settings that decide durability, as the server reports them. */
  durability: Record<string, string>;
  /** A new empty, migrated database; returns its URL. */
  database(name: string): Promise<string>;
  /** Bytes of schema strata's tables and indexes in a database. */
  metadataBytes(url: string): Promise<number>;
  stop(): Promise<void>;
}

function withDb(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.href;
}

async function query<R extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

/**
 * createThrowawayCluster() hard-codes fsync off (its options only take shared_buffers).
 * For a fair comparison with restic and borg (which fsync their repositories) the
 * bench turns fsync, synchronous_commit and full_page_writes back on with ALTER SYSTEM
 * (postgresql.auto.conf is read after strata.conf, and all three take effect on reload),
 * then checkpoints so nothing written before stays unsynced.
 */
export async function startCluster(): Promise<Cluster> {
  const cluster = await createThrowawayCluster({ sharedBuffers: "256MB" });
  const admin = withDb(cluster.installUrl, "postgres");
  try {
    for (const s of ["fsync", "synchronous_commit", "full_page_writes"]) await query(admin, `alter system set ${s} = on`);
    await query(admin, "select pg_reload_conf()");
    // the reload is asynchronous: wait until a new session sees it
    const durability: Record<string, string> = {};
    for (let i = 0; i < 50; i++) {
      const rows = await query<{ name: string; setting: string }>(
        admin,
        "select name, setting from pg_settings where name in ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method', 'shared_buffers')",
      );
      for (const r of rows) durability[r.name] = r.setting;
      if (durability.fsync === "on" && durability.synchronous_commit === "on") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await query(admin, "checkpoint");
    await migrate(cluster.installUrl);
    let n = 0;
    return {
      cluster,
      durability,
      async database(name: string): Promise<string> {
        const db = `bench_${name.replace(/[^a-z0-9_]/gi, "_")}_${n++}`;
        await query(admin, `create database ${db} template strata`);
        return withDb(cluster.installUrl, db);
      },
      async metadataBytes(url: string): Promise<number> {
        const [row] = await query<{ bytes: string }>(
          url,
          `select coalesce(sum(pg_total_relation_size(c.oid)), 0)::text as bytes
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where n.nspname = 'strata' and c.relkind in ('r', 'm')`,
        );
        return Number(row?.bytes ?? 0);
      },
      stop: () => cluster.stop(),
    };
  } catch (e) {
    await cluster.stop().catch(() => undefined);
    throw e;
  }
}

export interface StrataTarget {
  databaseUrl: string;
  /** STRATA_STORE */
  store: string;
  /** STRATA_HOME (the local file index lives here) */
  home: string;
  /** More environment, e.g. the S3 endpoint and keys. */
  env?: Record<string, string>;
}

function strataEnv(t: StrataTarget): Record<string, string | undefined> {
  return {
    DATABASE_URL: t.databaseUrl,
    STRATA_STORE: t.store,
    STRATA_HOME: t.home,
    NODE_OPTIONS: undefined, // the CLI runs as users run it, without tsx's hooks
    ...t.env,
  };
}

/** Any strata command against a target, as users run it (`node bin/strata.js ...`). */
export function strataRun(t: StrataTarget, args: string[]): Promise<Measured> {
  return timed([process.execPath, STRATA_BIN, ...args], { env: strataEnv(t) });
}

/** The same through `npx strata ...` from the project folder, as the README tells users to run it. */
export function strataNpx(t: StrataTarget, args: string[]): Promise<Measured> {
  return timed(["npx", "strata", ...args], { env: strataEnv(t), cwd: fileURLToPath(new URL("../..", import.meta.url)) });
}

/** What `strata push --json` prints. */
export type PushJson = PushResult;

export async function strataPush(
  t: StrataTarget,
  path: string,
  dataset: string,
  tag?: string,
  nodeArgs: string[] = [],
): Promise<Measured & { result?: PushJson }> {
  const args = [process.execPath, ...nodeArgs, STRATA_BIN, "push", path, "--dataset", dataset, "--json"];
  if (tag !== undefined) args.push("--tag", tag);
  const m: Measured & { result?: PushJson } = await timed(args, { env: strataEnv(t) });
  if (m.ok) {
    try {
      m.result = JSON.parse(m.stdout) as PushJson;
    } catch {
      m.ok = false;
      m.error = `push printed no JSON: ${m.stdout.slice(0, 200)}`;
    }
  }
  return m;
}

export interface CheckoutSupport {
  available: boolean;
  json: boolean;
  why?: string;
}

/** Whether this build of the CLI has `strata checkout` (another engineer is finishing it). */
export function checkoutSupport(): CheckoutSupport {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const top = spawnSync(process.execPath, [STRATA_BIN, "--help"], { encoding: "utf8", env });
  const text = `${top.stdout}\n${top.stderr}`;
  if (!/^\s+checkout\b/m.test(text)) return { available: false, json: false, why: "`strata checkout` is not in this build of the CLI yet" };
  const sub = spawnSync(process.execPath, [STRATA_BIN, "checkout", "--help"], { encoding: "utf8", env });
  return { available: true, json: /--json\b/.test(`${sub.stdout}${sub.stderr}`) };
}

export interface CheckoutJson {
  filesWritten: number;
  bytesWritten: number;
  filesUnchanged: number;
  filesDeleted: number;
  bytesFetched?: number;
  bytesFromCache?: number;
}

export async function strataCheckout(
  t: StrataTarget,
  ref: string,
  dir: string,
  support: CheckoutSupport,
): Promise<Measured & { result?: CheckoutJson }> {
  const args = [process.execPath, STRATA_BIN, "checkout", ref, dir];
  if (support.json) args.push("--json");
  const m: Measured & { result?: CheckoutJson } = await timed(args, { env: strataEnv(t) });
  if (m.ok && support.json) {
    try {
      m.result = JSON.parse(m.stdout) as CheckoutJson;
    } catch {
      // an older build printed text: the timing still counts
    }
  }
  return m;
}
