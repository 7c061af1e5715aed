// Paths inside a version's Merkle tree: splitting a prefix into the folders it names and
// the start of a name, and following folder names down from a root, one entry lookup
// per level (the primary key of tree_entries), so nothing outside the path is read.

import { type Bytes, queryOne } from "./host";

export interface Prefix {
  /** The folders up to the prefix's last '/', empty names dropped. */
  folders: string[];
  /** What the names in the last folder must start with ('' for all). */
  rest: string;
  /** The folders joined, with a trailing '/' ('' at the root). */
  base: string;
}

/** Splitting at '/' cuts UTF-8 text at the same places on every engine: no multi-byte character contains the byte '/'. */
export function splitPrefix(prefix: string | undefined): Prefix {
  const parts = (prefix ?? "").split("/");
  const rest = parts.pop() ?? "";
  const folders = parts.filter((name) => name !== "");
  return { folders, rest, base: folders.length > 0 ? `${folders.join("/")}/` : "" };
}

export interface TreeEntry {
  kind: string;
  hash: Bytes;
  size: number;
}

export function entryOf(tree: Bytes, name: string): TreeEntry | undefined {
  return queryOne<TreeEntry>(
    "select kind, hash, size from strata.tree_entries where tree = $1 and name = $2",
    ["bytea", "text"],
    tree,
    name,
  );
}

/** The tree the folders lead to from `root`, or undefined when one is missing or not a folder. */
export function folderTree(root: Bytes, folders: string[]): Bytes | undefined {
  let tree = root;
  for (const name of folders) {
    const e = entryOf(tree, name);
    if (e === undefined || e.kind !== "dir") return undefined;
    tree = e.hash;
  }
  return tree;
}

/** The entry at `path` ('a/b.csv') below `root`, or undefined. */
export function entryAt(root: Bytes, path: string): TreeEntry | undefined {
  const p = splitPrefix(path);
  if (p.rest === "") return undefined;
  const tree = folderTree(root, p.folders);
  return tree === undefined ? undefined : entryOf(tree, p.rest);
}
