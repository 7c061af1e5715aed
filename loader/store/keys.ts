// Object keys. Both stores accept exactly the same keys, so data can move between
// them: '/'-separated segments of a safe character set, no segment starting with
// '.', which keeps keys off the file store's temp names and out of '..' traversal.

import { StoreError } from "./errors.js";

const SEGMENT = /^[A-Za-z0-9_~=+-][A-Za-z0-9._~=+-]*$/;
const PARTIAL_SEGMENT = /^[A-Za-z0-9._~=+-]*$/;
const MAX_KEY_BYTES = 1024; // the S3 limit, counted with the store prefix there
const HASH_HEX = /^[0-9a-f]{64}$/;

export function validateKey(key: string, store?: string): string {
  const segments = key.split("/");
  if (key.length === 0 || key.length > MAX_KEY_BYTES || !segments.every((s) => SEGMENT.test(s))) {
    throw new StoreError("bad_key", `invalid object key ${JSON.stringify(key)} (segments of [A-Za-z0-9._~=+-], not starting with '.')`, {
      key,
      store,
    });
  }
  return key;
}

/** A list prefix: like a key, but it may be empty, end in '/' or stop mid-segment. */
export function validatePrefix(prefix: string, store?: string): string {
  if (prefix === "") return prefix;
  const segments = prefix.split("/");
  const last = segments.pop() ?? "";
  if (prefix.length > MAX_KEY_BYTES || !segments.every((s) => SEGMENT.test(s)) || !PARTIAL_SEGMENT.test(last)) {
    throw new StoreError("bad_key", `invalid list prefix ${JSON.stringify(prefix)}`, { store });
  }
  return prefix;
}

/** The key of a pack object: `packs/<first 2 hex>/<64 hex>` (the fan-out keeps folders small). */
export function packKey(hashHex: string): string {
  if (!HASH_HEX.test(hashHex)) {
    throw new StoreError("bad_key", `a pack hash must be 64 lowercase hex digits, got ${JSON.stringify(hashHex)}`);
  }
  return `packs/${hashHex.slice(0, 2)}/${hashHex}`;
}
