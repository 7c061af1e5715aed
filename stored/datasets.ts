// Datasets: the named containers of versions.

import { checkName } from "./names";
import { queryOne, raise, yieldComposite } from "./host/pg";

interface Chunking {
  min: number;
  avg: number;
  max: number;
}

/** Bounds the loader's chunker accepts (loader/chunk/params.ts). */
const MIN_CHUNK = 64;
const MAX_CHUNK = 1024 * 1024 * 1024;

function checkChunking(c: Chunking | undefined): void {
  if (c === undefined) return;
  for (const k of ["min", "avg", "max"] as const) {
    const v = c[k];
    if (type(v) !== "number" || math.type(v) !== "integer") raise("invalidArgument", `chunking.${k} must be a whole number of bytes`);
  }
  if (!(MIN_CHUNK <= c.min && c.min < c.avg && c.avg < c.max && c.max <= MAX_CHUNK))
    raise("invalidArgument", `chunking must satisfy ${MIN_CHUNK} <= min < avg < max <= ${MAX_CHUNK} (got ${c.min}, ${c.avg}, ${c.max})`);
}

export function createDataset(name: string | undefined, description: string | undefined, chunking: PgJsonb | undefined): number {
  checkName("dataset", name);
  checkChunking(chunking === undefined ? undefined : (chunking() as Chunking));
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

export function datasets(): void {
  yieldComposite("select d as c from strata.v_datasets d order by d.created_at, d.id", []);
}
