// The one module that knows it runs in PL/Lua: SPI calls, errors, value conversion.
// Everything else in stored/ speaks through these helpers.

import { Sqlstate, type SqlstateName } from "../errors";

/** Raise one of Strata's own errors; the client sees its SQLSTATE, message, detail and hint. */
export function raise(code: SqlstateName, message: string, detail?: string, hint?: string): never {
  // pllua 2.0 refuses spi.error inside a set-returning function's coroutine ("cannot call
  // into PostgreSQL with pending errors"); building the error object under pcall and
  // rethrowing it works everywhere and keeps SQLSTATE, detail and hint.
  const [, err] = pcall(spi.error, { sqlstate: Sqlstate[code], message, detail, hint });
  return error(err, 0);
}

// Prepared once per interpreter (one per session and role) and kept: a PL/Lua SPI
// call costs tens of microseconds, a prepare several times that.
const prepared = new LuaTable<string, PgStatement>();

/** A cached prepared statement; `types` are the SQL types of $1..$n. */
export function statement(sql: string, types: string[] = []): PgStatement {
  let s = prepared.get(sql);
  if (s === undefined) {
    s = spi.prepare(sql, types);
    prepared.set(sql, s);
  }
  return s;
}

/** Run a cached statement and return its rows (1-based Lua sequence typed as an array). */
export function query<R extends object>(sql: string, types: string[], ...args: unknown[]): PgRow<R>[] {
  return statement(sql, types).execute<R>(...args);
}

/** The first row of a cached statement, or undefined. */
export function queryOne<R extends object>(sql: string, types: string[], ...args: unknown[]): PgRow<R> | undefined {
  return statement(sql, types).execute<R>(...args)[0];
}

/** Emit every row of a cached statement from a set-returning function. */
export function yieldRows(sql: string, types: string[], ...args: unknown[]): void {
  for (const row of statement(sql, types).rows(...args)) coroutine.yield(row);
}

/** Emit the single composite column `c` of every row: the row type then matches the function's. */
export function yieldComposite(sql: string, types: string[], ...args: unknown[]): void {
  for (const row of statement(sql, types).rows<{ c: PgDatum }>(...args)) coroutine.yield(row.c);
}
