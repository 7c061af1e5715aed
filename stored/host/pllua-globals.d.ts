// Declarations of the PL/Lua (pllua 2.0) host API as seen from the trusted sandbox.
// Namespaces are @noSelf so calls compile to `spi.f(x)`; objects whose methods need
// Lua's colon call declare an explicit `this` parameter.

declare interface PgDatum {
  readonly __pgDatum: "PgDatum";
}
declare type PgRow<T extends object = Record<string, unknown>> = T & PgDatum;

/** @noSelf */
declare interface PgArray<T> extends PgDatum {
  (opts?: { null?: unknown }): T[];
  len: LuaLengthMethod<number>;
  get: LuaTableGetMethod<number, T | undefined>;
}

/** @noSelf */
declare interface PgJsonb extends PgDatum {
  (opts?: { null?: unknown; pg_numeric?: boolean }): unknown;
}

declare interface PgTypeInfo {
  (this: void, ...args: any[]): any;
  fromstring(this: PgTypeInfo, text: string): any;
  name(this: PgTypeInfo, typmod?: number): string;
}

declare const pgtype: {
  (this: void, value: unknown, argno?: number): PgTypeInfo | undefined;
  readonly array: { readonly [typename: string]: PgTypeInfo };
  readonly [typename: string]: any;
};

declare interface PgStatement {
  execute<R extends object = Record<string, unknown>>(this: PgStatement, ...args: unknown[]): PgRow<R>[];
  rows<R extends object = Record<string, unknown>>(this: PgStatement, ...args: unknown[]): LuaIterable<PgRow<R>>;
}

/** @noSelf */
declare namespace spi {
  function execute<R extends object = Record<string, unknown>>(sql: string, ...args: unknown[]): PgRow<R>[];
  function prepare(sql: string, argtypes?: string[], options?: { fetch_count?: number }): PgStatement;
  function rows<R extends object = Record<string, unknown>>(sql: string, ...args: unknown[]): LuaIterable<PgRow<R>>;
  function error(report: {
    sqlstate?: string;
    message: string;
    detail?: string;
    hint?: string;
    table?: string;
    column?: string;
    constraint?: string;
  }): never;
  function notice(...a: unknown[]): void;
}

declare interface PgTrigger<T extends object = Record<string, unknown>> {
  readonly new?: PgRow<T>;
  readonly old?: PgRow<T>;
  readonly name: string;
  readonly when: "before" | "after" | "instead";
  readonly op: "insert" | "update" | "delete" | "truncate";
  readonly level: "row" | "statement";
  readonly relation: { namespace: string; name: string };
}

declare module "pllua.error" {
  /** @noSelf */ export function type(e: unknown): "error" | undefined;
}
