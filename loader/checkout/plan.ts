// Deciding what a checkout must do, before it changes anything: which of the
// version's paths already hold the right contents, which must be written, which
// files of the previous checkout left the version and can go, and whether
// anything of the user's stands in the way. Trusting recorded stats (state.ts)
// keeps this proportional to what changed: an unchanged file is not even read.

import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, readlink } from "node:fs/promises";
import { join } from "node:path";

import { StrataError } from "../errors.js";
import { parentOf, type Entry } from "./listing.js";
import { eachLimited } from "./parallel.js";
import { fileRecord, statPath, unchangedSince, type CheckoutState, type FileStat, type PathRecord } from "./state.js";

export interface Plan {
  /** Paths already right, with the record to keep in the new state. */
  keep: Map<string, PathRecord>;
  /** Files and symlinks to write. */
  write: Entry[];
  /** Paths of the previous checkout that left the version, unchanged since written: deleted. */
  remove: string[];
  /** Paths of the previous checkout that left the version but were changed by the user: left alone. */
  leftModified: string[];
  /** Folders standing where the version has a file; they hold only removed files and are cleared. */
  clearDirs: string[];
}

/** lstat calls and small reads in flight while planning. */
const PLAN_PARALLEL = 32;

export async function planCheckout(dir: string, entries: readonly Entry[], state: CheckoutState | undefined): Promise<Plan> {
  const plan: Plan = { keep: new Map(), write: [], remove: [], leftModified: [], clearDirs: [] };
  const old: ReadonlyMap<string, PathRecord> = state?.files ?? new Map();
  const wanted = new Set(entries.map((e) => e.path));
  const inWay: Entry[] = [];
  // A path is looked at only through real folders: a symlinked folder (the user's,
  // or one leaving the version) must not make a file outside the checkout count.
  const dirOk = new Map<string, Promise<boolean>>();
  const realDir = (rel: string): Promise<boolean> => {
    if (rel === "") return Promise.resolve(true);
    let ok = dirOk.get(rel);
    if (ok === undefined) {
      ok = realDir(parentOf(rel)).then(async (up) => up && (await statPath(join(dir, rel)))?.kind === "dir");
      dirOk.set(rel, ok);
    }
    return ok;
  };
  const look = async (rel: string): Promise<FileStat | undefined> =>
    (await realDir(parentOf(rel))) ? statPath(join(dir, rel)) : undefined;

  // Leaving paths first: a folder in the way of a new file may hold only those.
  const leaving = [...old.keys()].filter((p) => !wanted.has(p));
  await eachLimited(leaving, PLAN_PARALLEL, async (path) => {
    const rec = old.get(path)!;
    const abs = join(dir, path);
    const st = await look(path);
    if (st === undefined) return;
    if (await holds(abs, st, rec)) plan.remove.push(path);
    else plan.leftModified.push(path);
  });

  await eachLimited(entries, PLAN_PARALLEL, async (e) => {
    const abs = join(dir, e.path);
    const st = await look(e.path);
    const want: PathRecord =
      e.kind === "symlink" ? { kind: "symlink", target: e.target! } : { kind: "file", hash: e.hash, size: e.size, mtimeNs: "", ino: "" };
    const rec = old.get(e.path);
    if (e.kind === "file" && rec?.kind === "file" && unchangedSince(rec, st)) {
      // The stat vouches for the recorded contents: no need to read the file.
      if (rec.hash === e.hash) plan.keep.set(e.path, rec);
      else plan.write.push(e);
      return;
    }
    if (st?.kind === "dir") inWay.push(e);
    else if (st !== undefined && (await holds(abs, st, want))) plan.keep.set(e.path, e.kind === "file" ? fileRecord(e.hash, st) : want);
    else plan.write.push(e);
  });

  const removed = new Set(plan.remove);
  for (const e of inWay) {
    const stray = await firstStray(dir, e.path, removed);
    if (stray !== undefined)
      throw new StrataError(
        `cannot check out ${e.path}: a folder is in its place and holds ${stray}, which is not from the previous checkout (move it away)`,
        "conflict",
      );
    plan.clearDirs.push(e.path);
    plan.write.push(e);
  }
  plan.remove.sort();
  plan.leftModified.sort();
  plan.write.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return plan;
}

/** Whether what is at `abs` has the record's contents (reading a file only when its size fits). */
async function holds(abs: string, st: FileStat, rec: PathRecord): Promise<boolean> {
  if (rec.kind === "symlink") return st.kind === "symlink" && (await readlink(abs).catch(() => undefined)) === rec.target;
  if (st.kind !== "file" || st.size !== rec.size) return false;
  if (unchangedSince(rec, st)) return true;
  const hash = await hashFile(abs).catch(() => undefined);
  // A file changed while being read is not trusted.
  const after = await statPath(abs);
  return hash === rec.hash && after !== undefined && after.mtimeNs === st.mtimeNs && after.ino === st.ino;
}

export function hashFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    createReadStream(path)
      .on("data", (d) => h.update(d))
      .on("error", reject)
      .on("end", () => resolve(h.digest("hex")));
  });
}

/** A file under folder `rel` that is not about to be removed, or undefined. */
async function firstStray(dir: string, rel: string, removed: ReadonlySet<string>): Promise<string | undefined> {
  const items = await readdir(join(dir, rel), { withFileTypes: true });
  for (const item of items) {
    const child = `${rel}/${item.name}`;
    if (item.isDirectory()) {
      const stray = await firstStray(dir, child, removed);
      if (stray !== undefined) return stray;
    } else if (!removed.has(child)) return child;
  }
  return undefined;
}
