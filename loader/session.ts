// The lower layer every operation works through: one database pool, the object store
// its chunks live in, and the user's Strata home. push, checkout, diff and the rest take
// a Session; the Strata class (strata.ts) is a facade over it.

import { join } from "node:path";
import type pg from "pg";
import { openPool, resolveDatabase } from "./db/connect.js";
import { fromDatabaseError, StrataError } from "./errors.js";
import { commandHome } from "./home.js";
import { checkStoreIdentity } from "./store/identity.js";
import { openStore, type ObjectStore } from "./store/index.js";

export interface OpenOptions {
  /** PostgreSQL URL; defaults to DATABASE_URL, then the private cluster. */
  databaseUrl?: string;
  /** Bring the schema up to date on open (default true). */
  migrate?: boolean;
  /** Object store URL; defaults to STRATA_STORE, then file://<home>/objects. */
  store?: string | ObjectStore;
  /** Strata home (private cluster, local index, cache); default: STRATA_HOME, else the nearest .strata here or above (home.ts). */
  home?: string;
}

export class Session {
  private constructor(
    readonly pool: pg.Pool,
    readonly databaseUrl: string,
    readonly store: ObjectStore,
    readonly home: string,
    /** Store locations found to be this database's, shared by sessions over one pool. */
    private readonly checkedStores = new Map<string, Promise<void>>(),
  ) {}

  static async open(opts: OpenOptions = {}): Promise<Session> {
    const home = opts.home ?? commandHome();
    const db = opts.databaseUrl !== undefined ? { url: opts.databaseUrl, installUrl: opts.databaseUrl } : await resolveDatabase(home);
    const store =
      typeof opts.store === "object" ? opts.store : openStore(opts.store ?? process.env.STRATA_STORE ?? `file://${join(home, "objects")}`);
    return new Session(await openPool(db.url, { migrate: opts.migrate, installUrl: db.installUrl }), db.url, store, home);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /**
   * The same database and home over another store object (closing it closes the shared
   * pool). A store at the same location shares this session's identity check.
   */
  withStore(store: ObjectStore): Session {
    return new Session(this.pool, this.databaseUrl, store, this.home, this.checkedStores);
  }

  /** Run SQL, turning the stored logic's errors into StrataErrors. */
  async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    try {
      return (await this.pool.query<R>(sql, params)).rows;
    } catch (e) {
      throw fromDatabaseError(e);
    }
  }

  /**
   * Refuse a store other than the one this database's chunks live in (the first store
   * used with a database becomes its store). Checked once per session.
   */
  checkStore(): Promise<void> {
    const where = this.store.describe();
    let checked = this.checkedStores.get(where);
    if (checked === undefined) {
      checked = this.verifyStore().catch((e: unknown) => {
        this.checkedStores.delete(where);
        throw e;
      });
      this.checkedStores.set(where, checked);
    }
    return checked;
  }

  private async verifyStore(): Promise<void> {
    const verdict = await checkStoreIdentity(
      {
        claim: async (proposed) => {
          const [r] = await this.query<{ store_id: string; claimed: boolean; has_chunks: boolean }>(
            "select * from strata.claim_store($1)",
            [proposed],
          );
          return { id: r!.store_id, claimed: r!.claimed, hasChunks: r!.has_chunks };
        },
      },
      this.store,
    );
    if (!verdict.ok)
      throw new StrataError(`${this.store.describe()} is not this database's object store (${verdict.why}): check STRATA_STORE`, "store");
  }
}
