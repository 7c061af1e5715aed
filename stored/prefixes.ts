// A version and a path prefix in it, resolved to the folder the prefix names: what
// strata.ls (sql/30_files.sql) and the diffs walk from. Raises Strata's errors for an
// unknown dataset or version and for bad names, before any row is read.

import { type Bytes, emit } from "./host";
import { folderTree, splitPrefix } from "./treepaths";
import { findVersion } from "./versions";

export interface ResolvedPrefix {
  /** The tree of the prefix's folder; undefined when a folder on the way is missing or not a folder. */
  tree: Bytes | undefined;
  /** The folder's path with a trailing '/' ('' at the root). */
  base: string;
  /** What names in that folder must start with ('' for all). */
  rest: string;
}

/** The version `tag` of `dataset` (its latest when tag is null) and the folder `prefix` names in it. */
export function findPrefix(dataset: string | undefined, tag: string | undefined, prefix: string | undefined): ResolvedPrefix {
  const version = findVersion(dataset, tag);
  const p = splitPrefix(prefix);
  return { tree: folderTree(version.content_hash, p.folders), base: p.base, rest: p.rest };
}

/** strata._resolve_prefix: findPrefix as one row (tree, base, rest). */
export function resolvePrefix(dataset: string | undefined, tag: string | undefined, prefix: string | undefined): void {
  const r = findPrefix(dataset, tag, prefix);
  emit(r.tree, r.base, r.rest);
}
