// Entry of the Lua bundle: the table of implementations that the generated SQL wrappers
// call as `api.<sql name>`. The type below makes the build fail when an entry point
// declared in entrypoints.ts has no implementation here.

import type { EntryName } from "./entrypoints";
import { createDataset, datasets } from "./datasets";

type Impl = (this: void, ...args: any[]) => unknown;

export const api: Record<EntryName, Impl> = {
  create_dataset: createDataset,
  datasets,
};
