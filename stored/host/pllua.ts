// The PL/Lua (pllua 2.0) engine: SPI calls, row emission, errors and value conversion.
// The one module of stored/ that knows it runs in Lua; it implements Host (types.ts).

import { Sqlstate, type SqlstateName } from "../errors";
import type { Bytes, SqlArray, SqlJson } from "./types";

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

function statement(sql: string, types: readonly string[]): PgStatement {
  let s = prepared.get(sql);
  if (s === undefined) {
    s = spi.prepare(sql, types as string[]);
    prepared.set(sql, s);
  }
  return s;
}

/** Rows come back as a 1-based Lua sequence, which TypeScriptToLua indexes as an array. */
export function query<R extends object>(sql: string, types: readonly string[], ...args: unknown[]): R[] {
  return statement(sql, types).execute<R>(...args);
}

export function queryOne<R extends object>(sql: string, types: readonly string[], ...args: unknown[]): R | undefined {
  return statement(sql, types).execute<R>(...args)[0];
}

export function exec(sql: string): void {
  spi.execute(sql);
}

/** A set-returning function is a coroutine: each yield is a row, its values the columns. */
export function emit(...values: unknown[]): void {
  coroutine.yield(...values);
}

/** Yielding the composite column itself makes the row type the function's. */
export function emitQuery(sql: string, types: readonly string[], ...args: unknown[]): void {
  for (const row of statement(sql, types).rows<{ c: PgDatum }>(...args)) coroutine.yield(row.c);
}

// bytea values are Lua strings of bytes.

export function byteLength(b: Bytes): number {
  return (b as unknown as string).length;
}

export function sameBytes(a: Bytes | undefined, b: Bytes | undefined): boolean {
  return (a as unknown as string | undefined) === (b as unknown as string | undefined);
}

export function hex(b: Bytes): string {
  return string.gsub(b as unknown as string, ".", (c: string) => string.format("%02x", string.byte(c)))[0];
}

export function arrayLength(a: SqlArray<unknown>): number {
  return (a as unknown as PgArray<unknown>).len();
}

export function jsonValue(j: SqlJson): unknown {
  return (j as unknown as PgJsonb)();
}

export function isWholeNumber(v: unknown): v is number {
  return type(v) === "number" && math.type(v as number) === "integer";
}
