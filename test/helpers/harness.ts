// What a test file asks for: its own fresh database (a clone of the migrated template)
// and the shared S3 API server. Under npm test both come from test/run.ts, and starting
// another is an error; a file run alone (npx tap test/db/x.test.ts) starts its own, once,
// stopped when the file ends.

import pg from "pg";
import tap from "tap";
import { createThrowawayCluster } from "./throwaway-cluster.js";
import { migrate } from "../../loader/db/migrate.js";
import type { S3ServerInfo } from "./s3server.js";
import { refuseOwnService, TEMPLATE_DB, withDatabase } from "./env.js";

/** The part of a tap test the helpers use. */
export interface TestLike {
  teardown(fn: () => unknown): void;
}

let adminUrl: Promise<string> | undefined;
let s3: Promise<Omit<S3ServerInfo, "stop">> | undefined;
let counter = 0;

function sharedAdminUrl(): Promise<string> {
  adminUrl ??= (async () => {
    if (process.env.STRATA_TEST_ADMIN_URL) return process.env.STRATA_TEST_ADMIN_URL;
    refuseOwnService("PostgreSQL cluster");
    const cluster = await createThrowawayCluster();
    tap.teardown(() => cluster.stop());
    const url = withDatabase(cluster.installUrl, "postgres");
    await adminQuery(url, `create database ${TEMPLATE_DB}`);
    await migrate(withDatabase(url, TEMPLATE_DB));
    return url;
  })();
  return adminUrl;
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** A new database holding the current schema and stored logic, dropped when `t` ends. */
export async function freshDatabase(t: TestLike, opts: { template?: string } = {}): Promise<string> {
  const admin = await sharedAdminUrl();
  const name = `t_${process.pid}_${++counter}`;
  await adminQuery(admin, `create database ${name} template ${opts.template ?? TEMPLATE_DB}`);
  t.teardown(() => adminQuery(admin, `drop database if exists ${name} with (force)`));
  return withDatabase(admin, name);
}

/** An empty database (no schema), dropped when `t` ends: for migration tests. */
export async function emptyDatabase(t: TestLike): Promise<string> {
  return freshDatabase(t, { template: "template0" });
}

/** The S3 API server shared by the run, with a bucket of its own for this caller. */
export async function s3Server(): Promise<Omit<S3ServerInfo, "stop">> {
  s3 ??= (async () => {
    if (process.env.STRATA_TEST_S3) return JSON.parse(process.env.STRATA_TEST_S3) as Omit<S3ServerInfo, "stop">;
    refuseOwnService("S3 API server");
    const { startS3Server } = await import("./s3server.js");
    const server = await startS3Server();
    tap.teardown(() => server.stop());
    return server;
  })();
  return s3;
}
