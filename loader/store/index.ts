// Opening a store from its URL (STRATA_STORE): `s3://bucket/prefix`,
// `file:///abs/path`, `file://relative/path`, or a bare path (a folder).

import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { StoreError } from "./errors.js";
import { FileStore } from "./file.js";
import { S3Store, type S3StoreOptions } from "./s3.js";
import type { ObjectStore } from "./store.js";

export { StoreError, isStoreError, type StoreErrorKind } from "./errors.js";
export { FileStore } from "./file.js";
export { packKey, validateKey } from "./keys.js";
export { Limiter } from "./limit.js";
export { planRanges, DEFAULT_RANGE_GAP } from "./ranges.js";
export { S3Store, type S3StoreOptions } from "./s3.js";
export type { ByteRange, GetRangesOptions, ListEntry, ObjectStore, PutOptions, StoreStats } from "./store.js";

export interface OpenStoreOptions {
  /** Relative folders are resolved against this (default process.cwd()). */
  cwd?: string;
  /** Settings for an s3:// store (bucket and prefix come from the URL). */
  s3?: Omit<S3StoreOptions, "bucket" | "prefix">;
}

const FORMS = "s3://bucket/prefix, file:///absolute/path or a folder path";

export function openStore(url: string, options: OpenStoreOptions = {}): ObjectStore {
  const text = url.trim();
  const cwd = options.cwd ?? process.cwd();
  if (text === "") throw new StoreError("bad_config", `empty store URL (use ${FORMS})`);

  if (text.startsWith("s3://")) {
    const rest = text.slice("s3://".length);
    const slash = rest.indexOf("/");
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = slash < 0 ? "" : rest.slice(slash + 1);
    if (bucket === "" || rest.includes("?") || rest.includes("#")) {
      throw new StoreError("bad_config", `cannot read store URL '${text}' (use s3://bucket/prefix)`);
    }
    return new S3Store({ ...options.s3, bucket, prefix });
  }

  if (text.startsWith("file:")) return new FileStore(resolve(cwd, filePath(text)));

  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    throw new StoreError("bad_config", `unsupported store URL '${text}' (use ${FORMS})`);
  }
  return new FileStore(isAbsolute(text) ? text : resolve(cwd, text));
}

function filePath(url: string): string {
  // file:///abs and file://localhost/abs are proper URLs; file://rel/path is
  // accepted as a relative folder because people write it that way.
  if (url.startsWith("file:///") || url.startsWith("file://localhost/")) {
    try {
      return fileURLToPath(url);
    } catch (err) {
      throw new StoreError("bad_config", `cannot read store URL '${url}' (use ${FORMS})`, { cause: err });
    }
  }
  if (url.startsWith("file://") && url.length > "file://".length) return url.slice("file://".length);
  throw new StoreError("bad_config", `cannot read store URL '${url}' (use ${FORMS})`);
}
