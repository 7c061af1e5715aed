// Entry of the Lua bundle: the table of implementations that the generated SQL wrappers
// call as `api.<sql name>`. The type below makes the build fail when an entry point
// declared in entrypoints.ts has no implementation here.

import type { EntryName } from "./entrypoints";
import { missingBlobs, missingChunks, missingTrees, registerPack } from "./chunks";
import { commitVersion, stageCommit } from "./commits";
import { createDataset, datasets } from "./datasets";
import { blobChunks, ls } from "./files";
import { version, versions, versionsBeforeUpdate } from "./versions";
import { diffSides, diffSummary } from "./diffs";
import { diffRowsSides, diffRowsSummary, recordTabularRows } from "./rows";

type Impl = (this: void, ...args: never[]) => unknown;

export const api: Record<EntryName, Impl> = {
  create_dataset: createDataset,
  datasets,
  missing_chunks: missingChunks,
  missing_blobs: missingBlobs,
  missing_trees: missingTrees,
  register_pack: registerPack,
  stage_commit: stageCommit,
  commit_version: commitVersion,
  versions,
  version,
  ls,
  blob_chunks: blobChunks,
  _versions_before_update: versionsBeforeUpdate,
  _diff_sides: diffSides,
  diff_summary: diffSummary,
  record_tabular_rows: recordTabularRows,
  _diff_rows_sides: diffRowsSides,
  diff_rows_summary: diffRowsSummary,
};
