// Validation of the raw SHA-256 digests (bytea, arriving as 32-byte Lua strings) and of
// arrays of them that callers pass in.

import { raise } from "./host/pg";

export const HASH_BYTES = 32;

export function checkHash(what: string, h: string | undefined): string {
  if (h === undefined) return raise("invalidArgument", `${what} must not be null`);
  if (h.length !== HASH_BYTES) return raise("invalidArgument", `${what} must be a 32-byte SHA-256 digest, not ${h.length} bytes`);
  return h;
}

/** Lower-case hex of a raw digest, for messages. */
export function hexOf(s: string): string {
  return string.gsub(s, ".", (c: string) => string.format("%02x", string.byte(c)))[0];
}
