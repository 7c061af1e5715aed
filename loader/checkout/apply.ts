// Putting a checkout in place once every file is staged and verified: delete the
// files that left the version, clear folders standing where files go, rename each
// staged file onto its path (never a half-written file under a final name),
// recreate symlinks as symlinks, prune folders left empty, and record each
// written file's stat for the state file.

import { randomBytes } from "node:crypto";
import { copyFile, mkdir, readdir, rename, rmdir, symlink, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

import { StrataError } from "../errors.js";
import { parentOf, STATE_DIR } from "./listing.js";
import { eachLimited } from "./parallel.js";
import type { Plan } from "./plan.js";
import { fileRecord, statPath, type PathRecord } from "./state.js";

export interface Applied {
  records: Map<string, PathRecord>;
  deleted: number;
}

export async function applyPlan(
  dir: string,
  plan: Plan,
  staged: ReadonlyMap<string, string>,
  concurrency: number,
  onFile?: () => void,
): Promise<Applied> {
  const emptied = new Set<string>();
  await eachLimited(plan.remove, concurrency, async (path) => {
    await unlink(join(dir, path)).catch(ignore("ENOENT"));
    emptied.add(parentOf(path));
  });
  for (const path of plan.clearDirs) await removeEmptyTree(dir, path);

  const dirs = new DirMaker(dir);
  const records = new Map<string, PathRecord>();
  await eachLimited(plan.write, concurrency, async (e) => {
    const abs = join(dir, e.path);
    await dirs.ensure(parentOf(e.path));
    if (e.kind === "symlink") {
      const tmp = siblingTemp(abs);
      await symlink(e.target!, tmp);
      await rename(tmp, abs).catch(async (err: unknown) => {
        await unlink(tmp).catch(() => {});
        throw err;
      });
      records.set(e.path, { kind: "symlink", target: e.target! });
    } else {
      await moveInto(staged.get(e.path)!, abs);
      const st = await statPath(abs);
      if (st?.kind !== "file") throw new StrataError(`${e.path} vanished right after it was written`, "failure");
      records.set(e.path, fileRecord(e.hash, st));
    }
    onFile?.();
  });

  await pruneEmpty(dir, emptied);
  return { records, deleted: plan.remove.length };
}

/** Renames a staged file into place; across file systems, copies to a sibling temp name first. */
async function moveInto(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
    return;
  } catch (e) {
    if ((e as { code?: string }).code !== "EXDEV") throw e;
  }
  const tmp = siblingTemp(to);
  try {
    await copyFile(from, tmp);
    await rename(tmp, to);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await unlink(from).catch(() => {});
}

function siblingTemp(abs: string): string {
  return join(dirname(abs), `.${basename(abs)}.strata-tmp-${randomBytes(6).toString("hex")}`);
}

/** Makes each folder once; a file or symlink standing where the version needs a folder is replaced. */
class DirMaker {
  private readonly done = new Map<string, Promise<void>>();

  constructor(private readonly root: string) {}

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
    // A symlink here would send writes outside the checkout: replace it too.
    if (st !== undefined) await unlink(abs);
    await mkdir(abs).catch(ignore("EEXIST"));
  }
}

/** Removes a folder that holds only empty folders; anything else is a conflict. */
async function removeEmptyTree(root: string, rel: string): Promise<void> {
  const abs = join(root, rel);
  for (const item of await readdir(abs, { withFileTypes: true })) {
    if (!item.isDirectory())
      throw new StrataError(`cannot check out ${rel}: the folder in its place holds ${rel}/${item.name} (move it away)`, "conflict");
    await removeEmptyTree(root, `${rel}/${item.name}`);
  }
  await rmdir(abs);
}

/** Removes the given folders and their parents while they are empty (never the root or the state folder). */
async function pruneEmpty(root: string, dirs: ReadonlySet<string>): Promise<void> {
  const all = new Set<string>();
  for (let rel of dirs) for (; rel !== "" && !all.has(rel); rel = parentOf(rel)) all.add(rel);
  all.delete(STATE_DIR);
  // Deepest first, so a folder is tried after everything below it.
  const order = [...all].sort((a, b) => b.split("/").length - a.split("/").length);
  for (const rel of order) await rmdir(join(root, rel)).catch(() => {}); // not empty: keep it
}

function ignore(code: string): (e: unknown) => void {
  return (e) => {
    if ((e as { code?: string }).code !== code) throw e;
  };
}
