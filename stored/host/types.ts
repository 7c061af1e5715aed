// What the stored logic needs from the engine it runs in, and the engine-neutral types
// of the values that cross it. stored/host/index.ts checks that the engine module
// implements Host; README.md says what each function must do.

import type { SqlstateName } from "../errors";

/** Raw bytes of a bytea value (a SHA-256 digest is 32). Opaque: compare with sameBytes, measure with byteLength. */
export interface Bytes {
  readonly __bytes: "Bytes";
}

/** An SQL array argument, passed back to queries as a parameter unchanged. */
export interface SqlArray<T> {
  readonly __sqlArray: T;
}

/** A json or jsonb argument, passed back to queries as a parameter unchanged. */
export interface SqlJson {
  readonly __sqlJson: "SqlJson";
}

/** An interval argument, passed back to queries as a parameter unchanged (compare it there). */
export interface SqlInterval {
  readonly __sqlInterval: "SqlInterval";
}

/** What a trigger receives: the operation, the table, and for a row trigger the row before and after. */
export interface TriggerEvent<Row extends object> {
  readonly old?: Row;
  readonly new?: Row;
  readonly op: "insert" | "update" | "delete" | "truncate";
  readonly relation: { readonly name: string };
}

export interface Host {
  /** Run a statement, prepared once per session and cached by its text; `types` are the SQL types of $1..$n. */
  query<R extends object>(sql: string, types: readonly string[], ...args: unknown[]): R[];
  /** The first row of `query`, or undefined. */
  queryOne<R extends object>(sql: string, types: readonly string[], ...args: unknown[]): R | undefined;
  /** Run a statement without parameters or result (DDL, analyze, truncate); not cached. */
  exec(sql: string): void;
  /** Emit one row of a set-returning function: its column values in declared order (undefined is null). */
  emit(...values: unknown[]): void;
  /** Emit every row of a query whose only column `c` is a value of the function's row type. */
  emitQuery(sql: string, types: readonly string[], ...args: unknown[]): void;
  /** Abort with one of Strata's errors: the client sees its SQLSTATE, message, detail and hint. */
  raise(code: SqlstateName, message: string, detail?: string, hint?: string): never;
  byteLength(b: Bytes): number;
  /** Equal bytes, or both undefined. */
  sameBytes(a: Bytes | undefined, b: Bytes | undefined): boolean;
  /** Lower-case hex, for messages. */
  hex(b: Bytes): string;
  /** Elements of a one-dimensional array. */
  arrayLength(a: SqlArray<unknown>): number;
  /** A json value as plain data: objects, arrays, strings, numbers, booleans; null is undefined. */
  jsonValue(j: SqlJson): unknown;
  /** A number without a fractional part. */
  isWholeNumber(v: unknown): v is number;
}
