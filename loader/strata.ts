// The typed Node API of Strata: what the CLI does, callable from programs.

import type pg from "pg";
import { fromDatabaseError } from "./errors.js";
import { openPool, resolveDatabaseUrl } from "./db/connect.js";

export interface OpenOptions {
  /** PostgreSQL URL; defaults to DATABASE_URL, then the private cluster. */
  databaseUrl?: string;
  /** Bring the schema up to date on open (default true). */
  migrate?: boolean;
}

export interface DatasetInfo {
  id: number;
  name: string;
  description: string | null;
  owner: string;
  createdAt: Date;
  versionCount: number;
  latestTag: string | null;
  latestAt: Date | null;
  latestFileCount: number | null;
  latestSize: number | null;
}

export class Strata {
  private constructor(
    readonly pool: pg.Pool,
    readonly databaseUrl: string,
  ) {}

  static async open(opts: OpenOptions = {}): Promise<Strata> {
    const url = opts.databaseUrl ?? (await resolveDatabaseUrl());
    return new Strata(await openPool(url, { migrate: opts.migrate }), url);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** Run SQL, turning the stored logic's errors into StrataErrors. */
  async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    try {
      return (await this.pool.query<R>(sql, params)).rows;
    } catch (e) {
      throw fromDatabaseError(e);
    }
  }

  async createDataset(name: string, description?: string): Promise<number> {
    const [row] = await this.query<{ id: number }>("select strata.create_dataset($1, $2) as id", [name, description ?? null]);
    return row!.id;
  }

  async datasets(): Promise<DatasetInfo[]> {
    const rows = await this.query<Record<string, unknown>>("select * from strata.datasets()");
    return rows.map((r) => ({
      id: r.id as number,
      name: r.name as string,
      description: r.description as string | null,
      owner: r.owner as string,
      createdAt: r.created_at as Date,
      versionCount: r.version_count as number,
      latestTag: r.latest_tag as string | null,
      latestAt: r.latest_at as Date | null,
      latestFileCount: r.latest_file_count as number | null,
      latestSize: r.latest_size as number | null,
    }));
  }
}
