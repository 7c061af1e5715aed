// Validation of the raw SHA-256 digests (bytea) that callers pass in.

import { type Bytes, byteLength, raise } from "./host";

export const HASH_BYTES = 32;

export function checkHash(what: string, h: Bytes | undefined): Bytes {
  if (h === undefined) return raise("invalidArgument", `${what} must not be null`);
  const n = byteLength(h);
  if (n !== HASH_BYTES) return raise("invalidArgument", `${what} must be a 32-byte SHA-256 digest, not ${n} bytes`);
  return h;
}
