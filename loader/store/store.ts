// The one interface the loader uses to reach object storage. Keys are content
// addresses (see keys.ts), so an object once written never changes: that is what
// makes put idempotent and lets every read be retried or served from a cache.
// Every method rejects with a StoreError (errors.ts), never a raw SDK/OS error.

export interface ByteRange {
  offset: number;
  length: number;
}

export interface ListEntry {
  /** Relative to the store (no store prefix), e.g. `packs/ab/ab12...`. */
  key: string;
  size: number;
  /** When the object was last written, by the store's clock. */
  modified: Date;
}

/** Requests made so far (on S3: HTTP attempts, retries included). */
export interface StoreStats {
  get: number;
  put: number;
  head: number;
  list: number;
  delete: number;
}

export interface GetRangesOptions {
  /** Ranges closer than this many bytes are read with one request (default 256 KiB). */
  gap?: number;
  /** A merged request never spans more than this (default 32 MiB), to keep reads parallel. */
  maxSpan?: number;
  /** Where a merged read lands (a buffer of exactly `length` bytes); default a fresh one. Stores that do not read into a buffer of their own ignore it. */
  alloc?: (length: number) => Buffer;
}

export interface PutOptions {
  /** Write even when an object of the same size is there (default false). */
  replace?: boolean;
}

export interface ObjectStore {
  /** Where the store points, for messages: `s3://bucket/prefix` or `file:///abs/path`. */
  describe(): string;

  /**
   * Verifies that the store is reachable and usable (bucket exists, credentials
   * accepted; the folder exists or can be created and is writable). Rejects with a
   * StoreError of a telling kind. Safe to call at any time; makes at most one request.
   */
  check(): Promise<void>;

  /**
   * Stores `body` (one buffer, or parts written back to back) under `key`. Idempotent: if an object of the same size already
   * exists it is left alone (keys are content addresses) and false is returned;
   * otherwise the object is written whole and true is returned. With `replace`, it is
   * written whatever is there (a damaged object of the right size is made whole again). A reader never
   * sees a partial object under `key` (S3 PUT is atomic; the file store writes a
   * temp file in the same folder, fsyncs it, renames it, fsyncs the folder).
   * Transient failures are retried inside (S3); a rejection means it gave up.
   */
  put(key: string, body: Buffer | readonly Buffer[], options?: PutOptions): Promise<boolean>;

  /** Whether `key` exists. Read-only, retried like every read. */
  has(key: string): Promise<boolean>;

  /** The size of `key` in bytes, or undefined when it does not exist. */
  size(key: string): Promise<number | undefined>;

  /** The whole object. Rejects with kind 'not_found' when it does not exist. */
  get(key: string): Promise<Buffer>;

  /**
   * Exactly `length` bytes from `offset`. Rejects with 'bad_range' when the object
   * is shorter than offset + length, 'not_found' when it does not exist. A zero
   * length answers an empty Buffer (the S3 store without asking the server).
   */
  getRange(key: string, offset: number, length: number): Promise<Buffer>;

  /**
   * Many ranges of one object, answered in the order given. Neighbouring and
   * overlapping ranges are merged into fewer reads (see GetRangesOptions) and the
   * results sliced back out; the slices may share memory with each other.
   */
  getRanges(key: string, ranges: readonly ByteRange[], options?: GetRangesOptions): Promise<Buffer[]>;

  /**
   * Every object whose key starts with `prefix` (plain string prefix, as S3 does),
   * in lexicographic key order, paginated lazily. Temp files are never listed.
   */
  list(prefix?: string): AsyncIterable<ListEntry>;

  /** Deletes the keys; keys that do not exist are ignored. Idempotent. */
  delete(keys: readonly string[]): Promise<void>;

  /**
   * Writes that never finished (a killed writer's temp files) last touched before
   * `before`: removed, unless `dryRun`. Counts what was (or would be) removed. A store
   * whose writes are single requests (S3 PUT) has none.
   */
  sweepTemps(before: Date, dryRun: boolean): Promise<{ files: number; bytes: number }>;

  /** Counters of requests made since the store was opened. */
  stats(): StoreStats;

  /** Releases sockets and the like. The store must not be used afterwards. */
  close(): Promise<void>;
}

export function emptyStats(): StoreStats {
  return { get: 0, put: 0, head: 0, list: 0, delete: 0 };
}
