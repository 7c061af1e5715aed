// Deciding what a checkout must do before it changes anything: which of the version's
// paths already hold the right contents, which must be written, which paths of the
// previous checkout left the version and can go, and what of the user's stands in the
// way. Strata never overwrites or deletes what it did not write, or what was changed
// since it wrote it: such paths are conflicts, and a checkout with conflicts changes
// nothing (unless forced, when they are overwritten and listed). Paths are looked at
// only through real folders, so a symlink of the user's is never read or written
// through. Trusting recorded stats (state.ts) keeps this proportional to what changed.

import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import { StrataError } from "../errors.js";
import { eachLimited } from "../parallel.js";
import { type CheckoutState, type FileStat, type PathRecord, statPath, unchangedSince } from "./state.js";
import { type PathTable, parentOf, positions } from "./table.js";

export interface Plan {
  /** Files and symlinks of the listing already right (their stat is set in the listing, the new state). */
  kept: number;
  /** Positions in the listing of the files, symlinks and empty folders to write, in path order. */
  write: number[];
  /** Paths to delete before writing: left the version unchanged, or stand where a folder or file goes. */
  remove: string[];
  /** Paths of the previous checkout that left the version but were changed here: left alone. */
  leftModified: string[];
  /** Folders standing where the version has a file; everything in them is removable. */
  clearDirs: string[];
  /** Paths of the user's (or changed here) that a forced checkout overwrites or removes. */
  overwritten: string[];
}

export interface Conflict {
  path: string;
  why: string;
}

/** A checkout that would destroy what Strata did not write: nothing was changed. */
export class CheckoutConflict extends StrataError {
  constructor(readonly conflicts: Conflict[]) {
    const shown = conflicts.slice(0, 10).map((c) => `${c.path} (${c.why})`);
    const more = conflicts.length > shown.length ? ` and ${conflicts.length - shown.length} more` : "";
    super(
      `checkout would overwrite ${conflicts.length} path${conflicts.length === 1 ? "" : "s"} of yours: ${shown.join(", ")}${more}; ` +
        "nothing was changed (move them away, or --force to overwrite)",
      "conflict",
      { code: "checkout_conflict" },
    );
  }
}

/** lstat calls and small reads in flight while planning. */
const PLAN_PARALLEL = 32;

/**
 * The plan for making `dir` hold `entries`; sets the stat of each file found already
 * right in `entries`, which becomes the folder's new state.
 */
export async function planCheckout(dir: string, entries: PathTable, state: CheckoutState | undefined, force: boolean): Promise<Plan> {
  const plan: Plan = { kept: 0, write: [], remove: [], leftModified: [], clearDirs: [], overwritten: [] };
  const conflicts: Conflict[] = [];
  const old = state?.files;
  const oldRecord = (path: string): PathRecord | undefined => old?.get(path);
  const wantedDirs = entries.dirs();
  const look = realFolders(dir);
  const removable = new Set<string>();

  // What is ours and unchanged may go; anything else is a conflict (or, forced, overwritten).
  const yieldPath = async (path: string, why: string): Promise<boolean> => {
    const rec = oldRecord(path);
    const st = await look(path);
    if (st === undefined) return true;
    if (rec !== undefined && (await holds(join(dir, path), st, rec))) return true;
    if (force) {
      plan.overwritten.push(path);
      return true;
    }
    conflicts.push({ path, why: rec === undefined ? why : "changed here since checkout" });
    return false;
  };

  // Paths leaving the version; those standing where a folder now goes must go too.
  const leaving: number[] = [];
  if (old !== undefined) for (let j = 0; j < old.count; j++) if (!entries.has(old.path(j))) leaving.push(j);
  await eachLimited(leaving, PLAN_PARALLEL, async (j) => {
    const path = old!.path(j);
    const rec = old!.record(j);
    const st = await look(path);
    if (st === undefined) return;
    if (rec.kind === "dir") return; // pruned when empty
    if (wantedDirs.has(path)) {
      if (await yieldPath(path, "not from the checked-out version")) {
        plan.remove.push(path);
        removable.add(path);
      }
    } else if (await holds(join(dir, path), st, rec)) {
      plan.remove.push(path);
      removable.add(path);
    } else plan.leftModified.push(path);
  });

  // Files and symlinks of the user's where the version needs a folder.
  const blockers = [...wantedDirs].filter((d) => old?.has(d) !== true);
  await eachLimited(blockers, PLAN_PARALLEL, async (d) => {
    const st = await look(d);
    if (st === undefined || st.kind === "dir") return;
    if (await yieldPath(d, `yours, where ${d}/ is a folder in the version`)) {
      plan.remove.push(d);
      removable.add(d);
    }
  });

  const inWay: number[] = [];
  await eachLimited(positions(entries.count), PLAN_PARALLEL, async (i) => {
    const path = entries.path(i);
    const kind = entries.kind(i);
    const st = await look(path);
    if (kind === "dir") {
      if (st?.kind === "dir") return; // already there (folders are not counted as kept files)
      if (st === undefined) plan.write.push(i);
      else if (await yieldPath(path, "yours, where the version has an empty folder")) {
        plan.remove.push(path);
        plan.write.push(i);
      }
      return;
    }
    if (st === undefined && old === undefined) {
      plan.write.push(i);
      return;
    }
    const rec = oldRecord(path);
    if (kind === "file" && rec?.kind === "file" && unchangedSince(rec, st)) {
      // The stat vouches for the recorded contents: no need to read the file.
      if (rec.hash === entries.hash(i) && rec.executable === entries.executable(i)) keep(i, st!);
      else plan.write.push(i);
      return;
    }
    if (st === undefined) plan.write.push(i);
    else if (st.kind === "dir") inWay.push(i);
    else if (await holds(join(dir, path), st, wantRecord(entries, i))) keep(i, st);
    else if (await yieldPath(path, "yours, not from the checked-out version")) plan.write.push(i);
  });
  function keep(i: number, st: FileStat): void {
    if (entries.kind(i) === "file") entries.setStat(i, st);
    plan.kept++;
  }

  for (const i of inWay) {
    const path = entries.path(i);
    const stray = await firstStray(dir, path, removable);
    if (stray !== undefined && !force) {
      conflicts.push({
        path: stray,
        why: `yours, in the folder where the version has ${entries.kind(i) === "file" ? "a file" : "a symlink"}`,
      });
      continue;
    }
    if (stray !== undefined) plan.overwritten.push(path);
    plan.clearDirs.push(path);
    plan.write.push(i);
  }
  if (conflicts.length > 0) throw new CheckoutConflict(conflicts.sort((a, b) => compare(a.path, b.path)));
  plan.remove.sort(compare);
  plan.leftModified.sort(compare);
  plan.overwritten.sort(compare);
  plan.write.sort((a, b) => a - b); // the listing is in path order
  return plan;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function wantRecord(entries: PathTable, i: number): PathRecord {
  const kind = entries.kind(i);
  if (kind === "symlink") return { kind, target: entries.target(i)! };
  if (kind === "dir") return { kind };
  return { kind, hash: entries.hash(i), size: entries.size(i), executable: entries.executable(i), mtimeNs: "", ctimeNs: "", ino: "" };
}

/**
 * lstat of a path inside `dir`, looked at only through real folders: under a symlinked
 * folder (the user's, or one leaving the version) nothing counts as being there.
 */
export function realFolders(dir: string): (rel: string) => Promise<FileStat | undefined> {
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
  return async (rel) => ((await realDir(parentOf(rel))) ? statPath(join(dir, rel)) : undefined);
}

/** Whether what is at `abs` has the record's contents (reading a file only when its size fits). */
export async function holds(abs: string, st: FileStat, rec: PathRecord): Promise<boolean> {
  if (rec.kind === "dir") return st.kind === "dir";
  if (rec.kind === "symlink") return st.kind === "symlink" && (await readlink(abs).catch(() => undefined)) === rec.target;
  if (st.kind !== "file" || st.size !== rec.size || st.executable !== rec.executable) return false;
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

/** Something under folder `rel` that is not about to be removed, or undefined. */
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
