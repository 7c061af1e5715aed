// The naming rule shared by datasets, tags and models: 1-128 characters of letters,
// digits, '.', '_' and '-', starting with a letter or digit. Identifiers stay safe in
// paths, URLs and `name@tag` references. The tables repeat the rule as CHECK constraints.

import { raise } from "./host/pg";

export const MAX_NAME_LENGTH = 128;

/** Raise ST001 naming `what` unless `name` follows the rule. */
export function checkName(what: string, name: string | undefined): string {
  if (name === undefined) return raise("invalidName", `${what} name must not be null`);
  if (name.length === 0) return raise("invalidName", `${what} name must not be empty`);
  if (name.length > MAX_NAME_LENGTH)
    return raise("invalidName", `${what} name is ${name.length} characters long; the limit is ${MAX_NAME_LENGTH}`);
  if (string.match(name, "^[A-Za-z0-9][A-Za-z0-9._-]*$")[0] === undefined)
    return raise(
      "invalidName",
      `invalid ${what} name "${name}"`,
      undefined,
      "use letters, digits, '.', '_' and '-', starting with a letter or digit",
    );
  return name;
}
