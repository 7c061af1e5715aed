// Datasets: the named containers of versions.

import { checkName } from "./names";
import { queryOne, raise, yieldComposite } from "./host/pg";

export function createDataset(name: string | undefined, description: string | undefined): number {
  checkName("dataset", name);
  const row = queryOne<{ id: number }>(
    `insert into strata.datasets (name, description) values ($1, $2)
     on conflict (name) do nothing returning id`,
    ["text", "text"],
    name,
    description,
  );
  if (row === undefined) return raise("datasetExists", `dataset "${name}" already exists`);
  return row.id;
}

export function datasets(): void {
  yieldComposite("select d as c from strata.v_datasets d order by d.created_at, d.id", []);
}
