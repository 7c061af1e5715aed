// Errors a person sees: one line that names the problem, and an exit code per kind.
// This file is the one list of kinds. Every failure becomes a StrataError of one kind:
// the stored logic's errors by their SQLSTATE (stored/errors.ts), PostgreSQL's own by
// class, object store errors (StoreError) and private-cluster errors (ClusterError) by
// their own kind, network errors by code. Anything else is an internal error (a bug).
// README.md's table of exit codes and SQLSTATEs is generated from this file
// (npm run docs:errors; a test checks it is current).

import { Sqlstate, type SqlstateName } from "../stored/errors.js";

export const ErrorKinds = {
  failure: { exit: 1, meaning: "internal error: a bug (STRATA_DEBUG=1 prints the stack)" },
  usage: { exit: 2, meaning: "bad input or usage: a malformed name, argument, path or option" },
  notFound: { exit: 3, meaning: "no such dataset, version, file, run or model" },
  conflict: {
    exit: 4,
    meaning: "conflict: a name or tag is taken, local edits would be overwritten, or the data changed meanwhile (try again)",
  },
  databaseUnreachable: { exit: 5, meaning: "the database cannot be reached, or the connection was lost" },
  store: { exit: 6, meaning: "the object store failed: bucket missing, credentials refused, network, server errors" },
  corrupt: { exit: 7, meaning: "damaged data: a chunk, pack or file does not match its hash, or is missing" },
  setup: { exit: 8, meaning: "this machine is not set up: PostgreSQL missing, no Strata home here, a folder the server cannot reach" },
  permission: {
    exit: 9,
    meaning: "refused: the database role lacks the right, history is immutable, or the operating system denied access",
  },
} as const;

export type ErrorKind = keyof typeof ErrorKinds;

/** The kind of each error the stored logic raises, and what it means; the type makes it exhaustive. */
export const sqlErrors: Record<SqlstateName, { kind: ErrorKind; meaning: string }> = {
  invalidName: { kind: "usage", meaning: "a dataset, tag or other name breaks the naming rule" },
  datasetExists: { kind: "conflict", meaning: "a dataset of that name exists" },
  unknownDataset: { kind: "notFound", meaning: "no dataset of that name" },
  unknownVersion: { kind: "notFound", meaning: "no version with that tag (or no version yet)" },
  tagTaken: { kind: "conflict", meaning: "the dataset has a version with that tag" },
  missingObject: { kind: "conflict", meaning: "a commit names chunks, contents or trees the database lacks (push again)" },
  historyImmutable: { kind: "permission", meaning: "committed history cannot be changed" },
  invalidArgument: { kind: "usage", meaning: "a malformed argument (hash length, size, JSON shape, ...)" },
  notTabular: { kind: "usage", meaning: "a row diff of a file without row hashes" },
  integrityFailure: { kind: "corrupt", meaning: "what a client sent does not verify (a tree's hash, sizes)" },
  unknownPath: { kind: "notFound", meaning: "no file at that path in the version" },
  unknownRole: { kind: "notFound", meaning: "no such login on the server" },
  unknownRun: { kind: "notFound", meaning: "no run with that id" },
  unknownModel: { kind: "notFound", meaning: "no model of that name" },
  unknownModelVersion: { kind: "notFound", meaning: "no such version of the model" },
  unknownAlias: { kind: "notFound", meaning: "the model has no alias of that name" },
  invalidStatusMove: { kind: "conflict", meaning: "a run's status moves once: running -> succeeded, failed or killed" },
  runFinished: { kind: "conflict", meaning: "the run has finished: no more metrics" },
  metricConflict: { kind: "conflict", meaning: "a metric step already holds another value" },
  invalidWeights: { kind: "usage", meaning: "alias weights must be positive and sum to 1" },
  lineageCycle: { kind: "usage", meaning: "the lineage edge would close a cycle" },
  invalidNode: { kind: "usage", meaning: "a lineage node not written dataset:NAME@TAG, run:UUID or model:NAME/N" },
  noEarlierTarget: { kind: "conflict", meaning: "the alias has no earlier target to roll back to" },
  invalidMetric: { kind: "usage", meaning: "a metric name, step or value is malformed (NaN and infinities are refused)" },
  versionInUse: { kind: "conflict", meaning: "a run, model version or alias uses the version (delete with force)" },
  noRetentionPolicy: { kind: "notFound", meaning: "the dataset has no retention policy" },
  gcRunning: { kind: "conflict", meaning: "another gc is running on this database" },
  pushOutlivedGc: { kind: "conflict", meaning: "a gc started while the push was open longer than its grace (push again)" },
};

/** PostgreSQL's own SQLSTATE classes (first two characters) that mean something to a user. */
export const kindOfPgClass: Record<string, ErrorKind> = {
  "08": "databaseUnreachable", // connection exception
  "57": "databaseUnreachable", // operator intervention: shutdown, crash, cannot connect now
  "53": "databaseUnreachable", // insufficient resources: too many connections, disk full
  "28": "permission", // invalid authorization: bad password, no such role
  "22": "usage", // data exception: a value the user gave does not fit
};

export class StrataError extends Error {
  override name = "StrataError";

  constructor(
    message: string,
    readonly kind: ErrorKind = "failure",
    options?: { cause?: unknown; code?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = options?.code ?? kind;
  }

  /** A stable identifier for scripts: the SQLSTATE of a database error, else a kind of error. */
  readonly code: string;

  get exitCode(): number {
    return ErrorKinds[this.kind].exit;
  }
}

interface PgErrorLike {
  code?: string;
  message: string;
  hint?: string;
}

const stKinds = new Map<string, ErrorKind>(Object.entries(Sqlstate).map(([name, code]) => [code, sqlErrors[name as SqlstateName].kind]));

/** The kind of a PostgreSQL SQLSTATE, or undefined when it means nothing to a user (a bug). */
export function kindOfDatabaseCode(code: string): ErrorKind | undefined {
  if (code === "42501") return "permission"; // insufficient_privilege
  return stKinds.get(code) ?? kindOfPgClass[code.slice(0, 2)];
}

/** Turn an error from pg into a StrataError when its SQLSTATE or network code means something; others pass through. */
export function fromDatabaseError(e: unknown): unknown {
  if (e instanceof StrataError) return e;
  const pe = e as PgErrorLike;
  if (pe && typeof pe.code === "string") {
    const kind = kindOfDatabaseCode(pe.code);
    if (kind !== undefined) {
      const text = pe.hint ? `${pe.message} (${pe.hint})` : pe.message;
      return new StrataError(text, kind, { cause: e, code: pe.code });
    }
  }
  return fromNetworkError(e) ?? e;
}

const NETWORK_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ETIMEDOUT", "ECONNRESET", "EPIPE", "EAI_AGAIN"]);

/** A lost or refused database connection, as pg reports it (a network code, or its own message). */
function fromNetworkError(e: unknown): StrataError | undefined {
  const err = e as { code?: string; message?: string };
  if (!err || typeof err !== "object") return undefined;
  if (typeof err.code === "string" && NETWORK_CODES.has(err.code))
    return new StrataError(`cannot reach the database: ${err.message}`, "databaseUnreachable", { cause: e, code: err.code });
  if (typeof err.message === "string" && /^Connection terminated|^Client has encountered a connection error/.test(err.message))
    return new StrataError(`lost the connection to the database (${err.message})`, "databaseUnreachable", { cause: e });
  return undefined;
}

/** An error of another layer (object store, private cluster) that knows its kind. */
export interface KindedError extends Error {
  readonly errorKind: ErrorKind;
  readonly code: string;
}

function isKinded(e: unknown): e is KindedError {
  return e instanceof Error && typeof (e as Partial<KindedError>).errorKind === "string";
}

export interface DescribedError {
  kind: ErrorKind;
  exit: number;
  code: string;
  /** One line. */
  message: string;
}

/** What to print for any error: one line, its kind and exit code. */
export function describeError(e: unknown): DescribedError {
  if (isKinded(e)) return { kind: e.errorKind, exit: ErrorKinds[e.errorKind].exit, code: e.code, message: oneLine(e.message) };
  const known = e instanceof StrataError ? e : fromDatabaseError(e);
  if (known instanceof StrataError) return { kind: known.kind, exit: known.exitCode, code: known.code, message: oneLine(known.message) };
  const err = e as { message?: string };
  const message = (err && typeof err.message === "string" && err.message) || String(e);
  return {
    kind: "failure",
    exit: ErrorKinds.failure.exit,
    code: "internal",
    message: `internal error: ${oneLine(message)} (set STRATA_DEBUG=1 for the stack)`,
  };
}

/** Longest message shown: a name of 100,000 characters echoed in an error is not read by anyone. */
const MAX_MESSAGE = 400;

/** Collapses whitespace so that no message breaks the one-line rule, and cuts one that runs on. */
export function oneLine(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length <= MAX_MESSAGE
    ? line
    : `${line.slice(0, MAX_MESSAGE - 100)}... (${line.length - MAX_MESSAGE + 60} characters left out) ...${line.slice(-40)}`;
}
