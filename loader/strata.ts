// The typed Node API of Strata: what the CLI does, callable from programs.

import { join } from "node:path";
import type pg from "pg";
import { fromDatabaseError, StrataError } from "./errors.js";
import { openPool, resolveDatabaseUrl } from "./db/connect.js";
import { strataHome } from "./paths.js";
import { cat, checkout, defaultCacheDir, isLocalStore, type CatResult, type CheckoutOptions, type CheckoutResult } from "./checkout/index.js";
import { push, versionInfo, type PushOptions, type PushResult } from "./push/push.js";
import { checkStoreIdentity } from "./store/identity.js";
import { openStore, type ObjectStore } from "./store/index.js";

export interface OpenOptions {
  /** PostgreSQL URL; defaults to DATABASE_URL, then the private cluster. */
  databaseUrl?: string;
  /** Bring the schema up to date on open (default true). */
  migrate?: boolean;
  /** Object store URL; defaults to STRATA_STORE, then file://<home>/objects. */
  store?: string | ObjectStore;
  /** Strata home (private cluster, local index, cache); defaults to STRATA_HOME, then ./.strata. */
  home?: string;
}

export interface VersionInfo {
  id: number;
  dataset: string;
  seq: number;
  tag: string;
  parentTag: string | null;
  /** Hex SHA-256 of the root tree. */
  contentHash: string;
  fileCount: number;
  size: number;
  newBytes: number;
  message: string | null;
  metadata: Record<string, unknown>;
  author: string;
  createdAt: Date;
}

/** `name@tag` or `name` (the latest version). */
export interface VersionRef {
  dataset: string;
  tag?: string;
}

export function parseRef(ref: string): VersionRef {
  const at = ref.lastIndexOf("@");
  return at < 0 ? { dataset: ref } : { dataset: ref.slice(0, at), tag: ref.slice(at + 1) || undefined };
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
    readonly store: ObjectStore,
    readonly home: string,
  ) {}

  static async open(opts: OpenOptions = {}): Promise<Strata> {
    const home = opts.home ?? strataHome();
    const url = opts.databaseUrl ?? (await resolveDatabaseUrl());
    const store =
      typeof opts.store === "object" ? opts.store : openStore(opts.store ?? process.env.STRATA_STORE ?? `file://${join(home, "objects")}`);
    return new Strata(await openPool(url, { migrate: opts.migrate }), url, store, home);
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

  /** Create a dataset; `chunking` (bytes) overrides the 256 KiB / 1 MiB / 4 MiB chunk sizes of its pushes. */
  async createDataset(name: string, description?: string, chunking?: { min: number; avg: number; max: number }): Promise<number> {
    const [row] = await this.query<{ id: number }>("select strata.create_dataset($1, $2, $3) as id", [
      name,
      description ?? null,
      chunking ? JSON.stringify(chunking) : null,
    ]);
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

  private storeChecked = false;

  /**
   * Refuse a store other than the one this database's chunks live in (the first store
   * used with a database becomes its store).
   */
  async checkStore(): Promise<void> {
    if (this.storeChecked) return;
    const verdict = await checkStoreIdentity(
      {
        storeIdOf: async (proposed) => {
          const [ins] = await this.query<{ value: string }>(
            "insert into strata.settings (key, value) values ('store_id', $1) on conflict (key) do nothing returning value",
            [proposed],
          );
          if (ins) return { id: ins.value, inserted: true };
          // a separate statement, so it sees a row another session committed meanwhile
          const [row] = await this.query<{ value: string }>("select value from strata.settings where key = 'store_id'");
          return { id: row!.value, inserted: false };
        },
        hasChunks: async () => (await this.query("select 1 from strata.chunks limit 1")).length > 0,
      },
      this.store,
    );
    if (!verdict.ok)
      throw new StrataError(`${this.store.describe()} is not this database's object store (${verdict.why}): check STRATA_STORE`, "store");
    this.storeChecked = true;
  }

  /** Push a folder or file as a new version of `opts.dataset` (created when missing). */
  async push(path: string, opts: PushOptions): Promise<PushResult> {
    await this.checkStore();
    const packSize = process.env.STRATA_PACK_SIZE ? Number(process.env.STRATA_PACK_SIZE) : undefined;
    return push(this, this.store, path, { indexHome: this.home, packSize, ...opts });
  }

  /** Versions of a dataset, newest first. */
  async log(dataset: string): Promise<VersionInfo[]> {
    return (await this.query<Record<string, unknown>>("select * from strata.versions($1)", [dataset])).map(versionInfo);
  }

  /** One version (the latest when no tag is given). */
  async version(ref: VersionRef): Promise<VersionInfo> {
    const rows = await this.query<Record<string, unknown>>("select * from strata.version($1, $2)", [ref.dataset, ref.tag ?? null]);
    return versionInfo(rows[0]!);
  }

  /**
   * Write a version's files into `dir`, verified. An earlier checkout there is switched:
   * only files that differ are written and files that left the version are deleted.
   */
  async checkout(ref: VersionRef, dir: string, opts: CheckoutOptions = {}): Promise<CheckoutResult> {
    await this.checkStore();
    return checkout(this, this.store, ref, dir, { cacheDir: this.cacheDir(), ...opts });
  }

  /** Write one file of a version to `out`, verified. */
  async cat(ref: VersionRef, path: string, out: NodeJS.WritableStream): Promise<CatResult> {
    await this.checkStore();
    return cat(this, this.store, ref, path, out, { cacheDir: this.cacheDir() });
  }

  /** The local chunk cache, for remote stores only (a file store is already local). */
  private cacheDir(): string | undefined {
    return isLocalStore(this.store) ? undefined : defaultCacheDir(this.home);
  }

  /** Files and symlinks of a version under `prefix`, in path order. */
  async ls(ref: VersionRef, prefix = ""): Promise<FileEntry[]> {
    const rows = await this.query<{ path: string; kind: "file" | "symlink"; size: number; content_hash: Buffer; target: string | null }>(
      "select * from strata.ls($1, $2, $3)",
      [ref.dataset, await this.tagOf(ref), prefix],
    );
    return rows.map((r) => ({ path: r.path, kind: r.kind, size: r.size, contentHash: r.content_hash.toString("hex"), target: r.target }));
  }

  /** One row per changed path between two versions (of one dataset or two). */
  async diff(a: VersionRef, b: VersionRef, prefix = ""): Promise<DiffEntry[]> {
    const rows = await this.query<{ path: string; change: DiffEntry["change"]; kind_a: string | null; kind_b: string | null; size_a: number | null; size_b: number | null; shared_bytes: number | null }>(
      "select path, change, kind_a, kind_b, size_a, size_b, shared_bytes from strata.diff($1, $2, $3, $4, $5)",
      [a.dataset, await this.tagOf(a), await this.tagOf(b), prefix, b.dataset],
    );
    return rows.map((r) => ({ path: r.path, change: r.change, kindA: r.kind_a, kindB: r.kind_b, sizeA: r.size_a, sizeB: r.size_b, sharedBytes: r.shared_bytes }));
  }

  /** Counts of a diff, and the chunks the two versions share. */
  async diffSummary(a: VersionRef, b: VersionRef, prefix = ""): Promise<Record<string, number>> {
    const [row] = await this.query<Record<string, number>>("select * from strata.diff_summary($1, $2, $3, $4, $5)", [
      a.dataset, await this.tagOf(a), await this.tagOf(b), prefix, b.dataset,
    ]);
    return row!;
  }

  /** Rows added and removed in the tabular file `path` (CSV with a header, JSON Lines); duplicates count as a multiset. */
  async diffRows(a: VersionRef, b: VersionRef, path: string): Promise<{ change: "added" | "removed"; rowNumber: number }[]> {
    const rows = await this.query<{ change: "added" | "removed"; row_number: number }>(
      "select change, row_number from strata.diff_rows($1, $2, $3, $4, $5)",
      [a.dataset, await this.tagOf(a), await this.tagOf(b), path, b.dataset],
    );
    return rows.map((r) => ({ change: r.change, rowNumber: Number(r.row_number) }));
  }

  async diffRowsSummary(a: VersionRef, b: VersionRef, path: string): Promise<Record<string, number | boolean>> {
    const [row] = await this.query<Record<string, number | boolean>>("select * from strata.diff_rows_summary($1, $2, $3, $4, $5)", [
      a.dataset, await this.tagOf(a), await this.tagOf(b), path, b.dataset,
    ]);
    return row!;
  }

  /** The tag a reference names: its own, or the dataset's latest. */
  private async tagOf(ref: VersionRef): Promise<string> {
    return ref.tag ?? (await this.version(ref)).tag;
  }
}

export interface FileEntry {
  path: string;
  kind: "file" | "symlink";
  size: number;
  /** Hex SHA-256 of the file (of the target for a symlink). */
  contentHash: string;
  target: string | null;
}

export interface DiffEntry {
  path: string;
  change: "added" | "removed" | "modified" | "type_changed";
  kindA: string | null;
  kindB: string | null;
  sizeA: number | null;
  sizeB: number | null;
  /** Bytes of b's file found in chunks of a's file at the same path. */
  sharedBytes: number | null;
}
