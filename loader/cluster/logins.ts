// The logins of the private cluster. Its superuser (`strata`, made by initdb) only
// installs: it migrates the `strata` database, which makes the group roles
// (migrations/006_roles.sql). People and programs log in as `strata_app` (writer and
// admin: what `strata db url` prints and the CLI uses) or `strata_bi` (reader: `strata db
// url --role reader`, for BI tools). Neither is a superuser. Their passwords are kept in
// <pg>/logins.json, private to the server user.

import { randomBytes } from "node:crypto";
import fs from "node:fs";
import { migrate } from "../db/migrate.js";
import type { ClusterPaths } from "./state.js";
import { ClusterError, giveTo, type OsUser } from "./system.js";

export interface Logins {
  /** Password of strata_app (writer and admin). */
  app: string;
  /** Password of strata_bi (reader). */
  bi: string;
}

export const APP_LOGIN = "strata_app";
export const READER_LOGIN = "strata_bi";

export function readLogins(p: ClusterPaths): Logins | undefined {
  try {
    return JSON.parse(fs.readFileSync(p.loginsFile, "utf8")) as Logins;
  } catch {
    return undefined;
  }
}

export function superuserUrl(port: number, password: string): string {
  return `postgresql://strata:${encodeURIComponent(password)}@127.0.0.1:${port}/strata`;
}

export function loginUrl(login: string, password: string, port: number): string {
  return `postgresql://${login}:${encodeURIComponent(password)}@127.0.0.1:${port}/strata`;
}

/** Migrates the `strata` database as the superuser, then makes (or re-grants) both logins. */
export async function createLogins(p: ClusterPaths, port: number, password: string, user: OsUser | undefined): Promise<Logins> {
  const url = superuserUrl(port, password);
  await migrate(url);
  const logins: Logins = readLogins(p) ?? { app: randomBytes(24).toString("base64url"), bi: randomBytes(24).toString("base64url") };
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => {}); // a lost connection fails the running query instead
  try {
    await client.connect();
    for (const [login, pw, roles] of [
      [APP_LOGIN, logins.app, "strata_writer, strata_admin"],
      [READER_LOGIN, logins.bi, "strata_reader"],
    ] as const) {
      const exists = (await client.query("select 1 from pg_roles where rolname = $1", [login])).rowCount;
      const verb = exists ? "alter" : "create";
      await client.query(`${verb} role ${login} login nosuperuser nocreaterole nocreatedb password '${pw}'`);
      await client.query(`grant ${roles} to ${login}`);
    }
  } catch (e) {
    throw new ClusterError(`could not make the logins of the private PostgreSQL: ${(e as Error).message}; see ${p.logFile}`);
  } finally {
    await client.end().catch(() => undefined);
  }
  fs.writeFileSync(p.loginsFile, `${JSON.stringify(logins)}\n`, { mode: 0o600 });
  fs.chmodSync(p.loginsFile, 0o600);
  giveTo(p.loginsFile, user);
  return logins;
}
