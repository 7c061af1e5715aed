// A push reuses a chunk only from a pack that is really in the store: the database cannot
// see the store, and a pack registered but never stored (a hostile client), or lost since,
// would turn an honest push into a version nobody can read. Each pack a push is about to
// reuse is checked once (its size, with one HEAD request) and remembered in the home, per
// store; a missing or wrong one is reported damaged, and its chunks are uploaded again.

import { createHash } from "node:crypto";
import { appendFile, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { mapLimited } from "../parallel.js";
import { isStoreError, type ObjectStore, packKey } from "../store/index.js";

/** HEAD requests in flight. */
const PARALLEL = 8;

export interface PackCheck {
  /** Packs found to exist with their recorded size (now or before). */
  checked: number;
  /** HEAD requests made. */
  requests: number;
}

export class PackVerifier {
  private known: Set<string> | undefined;
  private readonly trusted = new Set<string>();
  readonly stats: PackCheck = { checked: 0, requests: 0 };

  constructor(
    private readonly store: ObjectStore,
    /** Where verified packs are remembered; undefined: nowhere (every push checks again). */
    private readonly cacheFile: string | undefined,
  ) {}

  /** The cache file of `store` under a home. */
  static cacheFileOf(home: string, store: ObjectStore): string {
    return join(home, "verified-packs", `${createHash("sha256").update(store.describe()).digest("hex").slice(0, 32)}.txt`);
  }

  /** A pack this process stored and registered itself: it needs no check (not remembered in the home). */
  trust(hex: string): void {
    this.trusted.add(hex);
  }

  /** The packs (hex name -> recorded size) that are not in the store as recorded. */
  async damaged(packs: ReadonlyMap<string, number>): Promise<string[]> {
    const known = await this.load();
    const todo = [...packs].filter(([hex]) => !known.has(hex) && !this.trusted.has(hex));
    if (todo.length === 0) return [];
    this.stats.requests += todo.length;
    const sizes = await mapLimited(todo, PARALLEL, async ([hex]) => {
      try {
        return await this.store.size(packKey(hex));
      } catch (e) {
        if (isStoreError(e, "not_found")) return undefined;
        throw e; // the store failed: not a fact about the pack
      }
    });
    const good: string[] = [];
    const bad: string[] = [];
    for (const [i, [hex, size]] of todo.entries()) (sizes[i] === size ? good : bad).push(hex);
    for (const hex of good) known.add(hex);
    this.stats.checked += good.length;
    if (good.length > 0 && this.cacheFile !== undefined) {
      await mkdir(join(this.cacheFile, ".."), { recursive: true, mode: 0o700 });
      await appendFile(this.cacheFile, `${good.join("\n")}\n`, { mode: 0o600 });
    }
    return bad;
  }

  private async load(): Promise<Set<string>> {
    if (this.known !== undefined) return this.known;
    this.known = new Set();
    if (this.cacheFile !== undefined) {
      const text = await readFile(this.cacheFile, "utf8").catch(() => "");
      for (const line of text.split("\n")) if (/^[0-9a-f]{64}$/.test(line)) this.known.add(line);
    }
    return this.known;
  }
}
