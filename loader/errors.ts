// Errors a person sees: one line that names the problem, and an exit code per kind.
// Stored-logic errors arrive as PostgreSQL errors with Strata's own SQLSTATEs
// (stored/errors.ts); they map to kinds here, in one place.

import { Sqlstate } from "../stored/errors.js";
import { ClusterError } from "./cluster/system.js";
import { StoreError } from "./store/errors.js";

export const ExitCode = {
  failure: 1,
  usage: 2,
  notFound: 3,
  conflict: 4,
  databaseUnreachable: 5,
  store: 6,
  corrupt: 7,
} as const;

export type ErrorKind = keyof typeof ExitCode;

export class StrataError extends Error {
  constructor(
    message: string,
    readonly kind: ErrorKind = "failure",
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "StrataError";
  }

  get exitCode(): number {
    return ExitCode[this.kind];
  }
}

const kindOfSqlstate: Record<string, ErrorKind> = {
  [Sqlstate.invalidName]: "usage",
  [Sqlstate.invalidArgument]: "usage",
  [Sqlstate.datasetExists]: "conflict",
  [Sqlstate.tagTaken]: "conflict",
  [Sqlstate.parentMismatch]: "conflict",
  [Sqlstate.unknownDataset]: "notFound",
  [Sqlstate.unknownVersion]: "notFound",
  [Sqlstate.notTabular]: "usage",
  [Sqlstate.missingObject]: "corrupt",
  [Sqlstate.versionImmutable]: "usage",
};

interface PgErrorLike {
  code?: string;
  message: string;
  hint?: string;
}

/** Turn a PostgreSQL error raised by the stored logic into a StrataError; others pass through. */
export function fromDatabaseError(e: unknown): unknown {
  const pe = e as PgErrorLike;
  if (pe && typeof pe.code === "string" && pe.code in kindOfSqlstate) {
    const text = pe.hint ? `${pe.message} (${pe.hint})` : pe.message;
    return new StrataError(text, kindOfSqlstate[pe.code], { cause: e });
  }
  return e;
}

/** The one line printed for any error. */
export function describeError(e: unknown): { message: string; exitCode: number } {
  if (e instanceof StrataError) return { message: e.message, exitCode: e.exitCode };
  const err = e as { code?: string; message?: string; name?: string };
  if (err && typeof err.code === "string" && /^(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|ECONNRESET)$/.test(err.code))
    return { message: `cannot reach the database: ${err.message}`, exitCode: ExitCode.databaseUnreachable };
  if (e instanceof StoreError) return { message: e.message, exitCode: ExitCode.store };
  if (e instanceof ClusterError) return { message: e.message, exitCode: ExitCode.databaseUnreachable };
  const message = err?.message || String(e);
  return { message: message.split("\n")[0]!, exitCode: ExitCode.failure };
}
