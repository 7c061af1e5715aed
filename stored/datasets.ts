// Datasets: the named containers of versions. strata.v_datasets lists them.

import { isWholeNumber, jsonValue, queryOne, raise, type SqlJson } from "./host";
import { checkName } from "./names";

interface Chunking {
  min: number;
  avg: number;
  max: number;
}

/** Bounds the loader's chunker accepts (loader/chunk/params.ts). */
const MIN_CHUNK = 64;
const MAX_CHUNK = 1024 * 1024 * 1024;

function checkChunking(chunking: SqlJson | undefined): void {
  if (chunking === undefined) return;
  const c = jsonValue(chunking);
  if (typeof c !== "object" || c === null) raise("invalidArgument", 'chunking must be an object {"min", "avg", "max"}');
  for (const k of ["min", "avg", "max"] as const)
    if (!isWholeNumber((c as Partial<Chunking>)[k])) raise("invalidArgument", `chunking.${k} must be a whole number of bytes`);
  const { min, avg, max } = c as Chunking;
  if (!(MIN_CHUNK <= min && min < avg && avg < max && max <= MAX_CHUNK))
    raise("invalidArgument", `chunking must satisfy ${MIN_CHUNK} <= min < avg < max <= ${MAX_CHUNK} (got ${min}, ${avg}, ${max})`);
}

export function createDataset(name: string | undefined, description: string | undefined, chunking: SqlJson | undefined): number {
  checkName("dataset", name);
  checkChunking(chunking);
  const row = queryOne<{ id: number }>(
    `insert into strata.datasets (name, description, chunking)
     values ($1, $2, coalesce($3, '{"min": 262144, "avg": 1048576, "max": 4194304}'::jsonb))
     on conflict (name) do nothing returning id`,
    ["text", "text", "jsonb"],
    name,
    description,
    chunking,
  );
  if (row === undefined) return raise("datasetExists", `dataset "${name}" already exists`);
  return row.id;
}
