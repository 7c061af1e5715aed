// Errors of the object stores. Every failure of a store surfaces as a StoreError
// whose `kind` callers can branch on and whose message is one line that names
// the store and says what to do next (the CLI prints it as is).

import { type ErrorKind, oneLine } from "../errors.js";

export { oneLine };

export type StoreErrorKind =
  | "not_found" // the object does not exist
  | "no_bucket" // the bucket (or the store's root folder) does not exist
  | "bad_credentials" // credentials missing, unknown or rejected
  | "access_denied" // credentials accepted but not allowed to do this
  | "unreachable" // network: refused, timed out, DNS, reset
  | "throttled" // still throttled (503 SlowDown, 429) after all retries
  | "server" // still 5xx after all retries
  | "bad_range" // a range outside the object
  | "bad_key" // a key the stores refuse (see keys.ts)
  | "bad_config" // a store URL or option that cannot work
  | "io"; // anything else (local file system errors, unexpected answers)

export interface StoreErrorOptions {
  cause?: unknown;
  key?: string | undefined;
  store?: string | undefined;
}

/** The exit kind of each store error: a bad URL or key is the user's input, a short object is damage. */
const exitKindOf: Record<StoreErrorKind, ErrorKind> = {
  not_found: "store",
  no_bucket: "store",
  bad_credentials: "store",
  access_denied: "store",
  unreachable: "store",
  throttled: "store",
  server: "store",
  bad_range: "corrupt",
  bad_key: "usage",
  bad_config: "usage",
  io: "store",
};

export class StoreError extends Error {
  override readonly name = "StoreError";
  readonly kind: StoreErrorKind;
  readonly key: string | undefined;
  readonly store: string | undefined;

  constructor(kind: StoreErrorKind, message: string, options: StoreErrorOptions = {}) {
    super(oneLine(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.key = options.key;
    this.store = options.store;
  }

  /** Its place in Strata's one list of error kinds (loader/errors.ts). */
  get errorKind(): ErrorKind {
    return exitKindOf[this.kind];
  }

  get code(): string {
    return this.kind;
  }
}

export function isStoreError(err: unknown, kind?: StoreErrorKind): err is StoreError {
  return err instanceof StoreError && (kind === undefined || err.kind === kind);
}

/** The errno-style code of an error, looking through AggregateError and `cause`. */
export function errorCode(err: unknown, depth = 0): string | undefined {
  if (typeof err !== "object" || err === null || depth > 5) return undefined;
  const e = err as { code?: unknown; errors?: unknown; cause?: unknown };
  if (typeof e.code === "string") return e.code;
  // Node's happy-eyeballs connect reports an AggregateError of per-address errors.
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const code = errorCode(inner, depth + 1);
      if (code !== undefined) return code;
    }
  }
  return errorCode(e.cause, depth + 1);
}
