// Time travel for gc and retention tests, which cannot wait out a grace of hours: what the
// database recorded, and the files a store holds, made older. Done as the schema's owner
// in its maintenance window, as only a test on its own database may.

import { readdirSync, statSync, utimesSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";

/** Packs made and used, pushes begun and versions made `interval` (PostgreSQL interval text) earlier. */
export async function turnBack(databaseUrl: string, interval: string): Promise<void> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    await c.query("begin");
    await c.query("set local role strata_owner");
    await c.query("select set_config('strata.maintenance', 'on', true)");
    await c.query("update strata.packs set created_at = created_at - $1::interval, used_at = used_at - $1::interval", [interval]);
    await c.query("update strata.pushes set started_at = started_at - $1::interval", [interval]);
    await c.query("update strata.versions set created_at = created_at - $1::interval", [interval]);
    await c.query("commit");
  } finally {
    await c.end();
  }
}

/** Every file under `dir` (hidden ones too) last modified `ms` earlier. */
export function ageFiles(dir: string, ms: number): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) ageFiles(path, ms);
    else if (e.isFile()) {
      const { atime, mtime } = statSync(path);
      utimesSync(path, atime, new Date(mtime.getTime() - ms));
    }
  }
}
