// Putting a checkout in place once every file is staged and verified: delete what left
// the version, clear folders standing where files go, rename each staged file onto its
// path (never a half-written file under a final name), recreate symlinks as symlinks,
// make empty folders, prune folders left empty, and record each written file's stat
// for the state. Every path written through was seen to be a real folder by the plan.

import { renameSync } from "node:fs";
import { mkdir, rename, rm, rmdir, symlink, unlink } from "node:fs/promises";
import { join } from "node:path";
import { StrataError } from "../errors.js";
import { faultPoint } from "../fault.js";
import { eachLimited } from "../parallel.js";
import type { Plan } from "./plan.js";
import { statPath, statPathSync } from "./state.js";
import { parentOf, type PathTable } from "./table.js";

/** Paths put in place between two turns of the event loop. */
const YIELD_EVERY = 256;

/**
 * Puts the plan in place; sets the stat of each file written in `entries` (the new state).
 * Returns the number of paths deleted.
 */
export async function applyPlan(
  dir: string,
  plan: Plan,
  entries: PathTable,
  /** The staged file of the file at a position (stage.ts). */
  staged: (position: number) => string,
  /** A temp name for a symlink about to be made at a position (then renamed onto it). */
  linkTemp: (position: number) => string,
  folders: FolderMaker,
  concurrency: number,
  onFile?: () => void,
): Promise<number> {
  const emptied = new Set<string>();
  await eachLimited(plan.remove, concurrency, async (path) => {
    await unlink(join(dir, path)).catch(ignore("ENOENT"));
    emptied.add(parentOf(path));
  });
  for (const path of plan.clearDirs) await rm(join(dir, path), { recursive: true, force: true });

  let done = 0;
  await eachLimited(plan.write, concurrency, async (i) => {
    const path = entries.path(i);
    const abs = join(dir, path);
    const kind = entries.kind(i);
    if (kind === "dir") await folders.ensure(path);
    else if (kind === "symlink") {
      await folders.ensure(parentOf(path));
      const tmp = linkTemp(i);
      await symlink(entries.target(i)!, tmp);
      await rename(tmp, abs).catch(async (err: unknown) => {
        await unlink(tmp).catch(() => {});
        throw err;
      });
    } else {
      await folders.ensure(parentOf(path));
      // Synchronous calls, as stage.ts writes small files: half the CPU of a promise each.
      renameSync(staged(i), abs);
      faultPoint("checkout.after-rename");
      const st = statPathSync(abs);
      if (st?.kind !== "file") throw new StrataError(`${path} vanished right after it was written`, "failure");
      entries.setStat(i, st);
    }
    onFile?.();
    if (++done % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve)); // let timers and I/O run
  });

  await pruneEmpty(dir, emptied, folders.wanted);
  return plan.remove.length;
}

/**
 * Makes each folder once, and only where nothing else is: the plan has cleared the way
 * (a file or symlink there now was put there during the checkout, and is not replaced).
 * Remembers what it made, so a failed checkout can take it away again.
 */
export class FolderMaker {
  private readonly done = new Map<string, Promise<void>>();
  /** Folders this checkout made, in the order made. */
  readonly made: string[] = [];

  constructor(
    private readonly root: string,
    /** Folders the version has: never pruned. */
    readonly wanted: ReadonlySet<string>,
  ) {}

  ensure(rel: string): Promise<void> {
    if (rel === "") return Promise.resolve();
    let p = this.done.get(rel);
    if (p === undefined) {
      p = this.ensure(parentOf(rel)).then(() => this.make(rel));
      this.done.set(rel, p);
    }
    return p;
  }

  private async make(rel: string): Promise<void> {
    const abs = join(this.root, rel);
    const st = await statPath(abs);
    if (st?.kind === "dir") return;
    if (st !== undefined) throw new StrataError(`cannot make folder ${rel}: something appeared there during the checkout`, "conflict");
    try {
      await mkdir(abs);
      this.made.push(rel);
    } catch (e) {
      if ((e as { code?: string }).code !== "EEXIST") throw e;
    }
  }

  /** Removes the folders this checkout made (deepest first), where they are empty. */
  async undo(): Promise<void> {
    for (const rel of [...this.made].reverse()) await rmdir(join(this.root, rel)).catch(() => {});
  }
}

/** Removes the given folders and their parents while they are empty and not the version's (never the root). */
export async function pruneEmpty(root: string, dirs: Iterable<string>, keep: ReadonlySet<string>): Promise<void> {
  const all = new Set<string>();
  for (let rel of dirs) for (; rel !== "" && !all.has(rel); rel = parentOf(rel)) all.add(rel);
  // Deepest first, so a folder is tried after everything below it.
  const order = [...all].filter((d) => !keep.has(d)).sort((a, b) => b.split("/").length - a.split("/").length);
  for (const rel of order) await rmdir(join(root, rel)).catch(() => {}); // not empty: keep it
}

function ignore(code: string): (e: unknown) => void {
  return (e) => {
    if ((e as { code?: string }).code !== code) throw e;
  };
}
