// What the commit of a dataset or model version takes from its push: the root tree, which
// must be stored, and the push that uploaded its chunks, locked until the commit ends so
// that a push commits one version, of what it was opened for.

import { type Bytes, hex, queryOne, raise } from "./host";

export interface CommitInputs {
  fileCount: number;
  size: number;
  /** Bytes of chunks the push uploaded (0 without a push). */
  newBytes: number;
}

export function commitInputs(
  contentHash: Bytes | undefined,
  push: number | undefined,
  kind: "dataset" | "model",
  target: string,
): CommitInputs {
  const root = queryOne<{ file_count: number; size: number }>(
    "select file_count, size from strata.trees where hash = $1",
    ["bytea"],
    contentHash,
  );
  if (root === undefined)
    raise("missingObject", `the root tree ${hex(contentHash!)} is not stored`, undefined, "put its trees first (strata.put_trees)");
  if (push === undefined) return { fileCount: root.file_count, size: root.size, newBytes: 0 };
  const p = queryOne<{ new_bytes: number; done: boolean; kind: string; target: string }>(
    `select new_bytes, version_id is not null or model_version_id is not null as done, kind, dataset as target
     from strata.pushes where id = $1 for update`,
    ["bigint"],
    push,
  );
  if (p === undefined) raise("invalidArgument", `there is no push ${push}`);
  if (p.done) raise("invalidArgument", `push ${push} has committed its version already`);
  if (p.kind !== kind || p.target !== target)
    raise("invalidArgument", `push ${push} was opened for ${p.kind} "${p.target}", not ${kind} "${target}"`);
  return { fileCount: root.file_count, size: root.size, newBytes: p.new_bytes };
}
