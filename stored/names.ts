// The naming rule shared by datasets, tags and models: 1-128 characters of letters,
// digits, '.', '_' and '-', starting with a letter or digit. Identifiers stay safe in
// paths, URLs and `name@tag` references. The tables repeat the rule as CHECK constraints.
// Checked character by character (ASCII codes): the same on every engine, whatever it
// counts a string's length in, since a name that passes is ASCII.

import { raise } from "./host";

export const MAX_NAME_LENGTH = 128;

const isDigit = (c: number) => c >= 48 && c <= 57;
const isLetter = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
/** '.', '_' and '-'. */
const isPunctuation = (c: number) => c === 46 || c === 95 || c === 45;

function followsRule(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (!(isLetter(c) || isDigit(c) || (i > 0 && isPunctuation(c)))) return false;
  }
  return true;
}

/** Raise ST001 naming `what` unless `name` follows the rule. */
export function checkName(what: string, name: string | undefined): string {
  if (name === undefined) return raise("invalidName", `${what} name must not be null`);
  if (name.length === 0) return raise("invalidName", `${what} name must not be empty`);
  if (!followsRule(name))
    return raise(
      "invalidName",
      `invalid ${what} name "${name}"`,
      undefined,
      "use letters, digits, '.', '_' and '-', starting with a letter or digit",
    );
  if (name.length > MAX_NAME_LENGTH)
    return raise("invalidName", `${what} name is ${name.length} characters long; the limit is ${MAX_NAME_LENGTH}`);
  return name;
}

/** v1, v2, ...: the tags commit_version gives; nobody may choose one. */
export function isAutomaticTag(tag: string): boolean {
  if (tag.length < 2 || tag.charCodeAt(0) !== 118) return false;
  for (let i = 1; i < tag.length; i++) if (!isDigit(tag.charCodeAt(i))) return false;
  return true;
}

/** The last position of the one-character `c` in `s`, or -1 (TypeScriptToLua has no lastIndexOf). */
export function lastIndexOfChar(s: string, c: string): number {
  for (let i = s.length - 1; i >= 0; i--) if (s.charAt(i) === c) return i;
  return -1;
}

/** "dataset@tag" -> [dataset, tag]; "dataset" or "dataset@" -> [dataset, undefined] (its latest version). */
export function splitRef(ref: string): [string, string | undefined] {
  const at = lastIndexOfChar(ref, "@");
  return at < 0 ? [ref, undefined] : [ref.slice(0, at), at === ref.length - 1 ? undefined : ref.slice(at + 1)];
}
