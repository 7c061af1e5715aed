// status: what differs between a checkout folder and the version checked out there, as
// git status tells it: files modified or deleted here, and paths added here. Fast
// through the recorded stats: a file is read only when its stat changed.

import { readdir, readlink } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { StrataError } from "../errors.js";
import type { Session } from "../session.js";
import { recoverCrashedRun } from "./journal.js";
import { eachLimited } from "../parallel.js";
import { hashFile, realFolders } from "./plan.js";
import { type CheckoutState, folderId, readLegacyState, readState, unchangedSince } from "./state.js";
import { positions } from "./table.js";

export interface StatusResult {
  dataset: string;
  tag: string;
  versionId: number;
  /** A model version is checked out (dataset: the model, tag: its number). */
  model?: boolean;
  root: string;
  /** Asked from this sub-folder of the checkout: only paths under it are listed (paths stay relative to root). */
  within?: string;
  /** Files whose contents, executable bit or symlink target differ from the version. */
  modified: string[];
  /** Paths of the version missing here. */
  deleted: string[];
  /** Paths here that the version does not have (a folder is named once, with a trailing /). */
  added: string[];
}

/** The checkout `dir` is in: `dir` itself, or the nearest folder above it with a state, as git finds its work tree. */
async function enclosingCheckout(session: Session, dir: string): Promise<{ root: string; state: CheckoutState; within: string }> {
  const start = resolve(dir);
  for (let root = start; ; root = dirname(root)) {
    const id = await folderId(root);
    await recoverCrashedRun(session.home, id, root);
    const state = (await readState(session.home, id)) ?? (await readLegacyState(root));
    if (state !== undefined) return { root, state, within: relative(root, start) };
    if (dirname(root) === root)
      throw new StrataError(`${start} is in no checkout known to the Strata home ${session.home}`, "notFound", { code: "no_checkout" });
  }
}

/** Status of the checkout holding `dir`; from a sub-folder, of the paths under it only. */
export async function status(session: Session, dir: string): Promise<StatusResult> {
  const { root, state, within } = await enclosingCheckout(session, dir);
  const look = realFolders(root);
  const modified: string[] = [];
  const deleted: string[] = [];
  const files = state.files;
  await eachLimited(positions(files.count), 32, async (i) => {
    const path = files.path(i);
    const rec = files.record(i);
    const st = await look(path);
    if (st === undefined) {
      deleted.push(path);
      return;
    }
    const abs = join(root, path);
    const same =
      rec.kind === "dir"
        ? st.kind === "dir"
        : rec.kind === "symlink"
          ? st.kind === "symlink" && (await readlink(abs).catch(() => undefined)) === rec.target
          : st.kind === "file" &&
            st.size === rec.size &&
            st.executable === rec.executable &&
            (unchangedSince(rec, st) || (await hashFile(abs).catch(() => undefined)) === rec.hash);
    if (!same) modified.push(path);
  });

  // Folders of the version: walked for what was added; anything else here is added whole.
  const versionDirs = new Set<string>(["", ...files.dirs()]);
  const added: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const item of await readdir(join(root, rel), { withFileTypes: true }).catch(() => [])) {
      const path = rel === "" ? item.name : `${rel}/${item.name}`;
      if (item.isDirectory() && versionDirs.has(path)) await walk(path);
      else if (!files.has(path)) added.push(item.isDirectory() ? `${path}/` : path);
    }
  };
  await walk("");
  // under the sub-folder asked about, or a folder added here whole that holds it
  const under = (path: string): boolean =>
    within === "" || path === within || path.startsWith(`${within}/`) || (path.endsWith("/") && `${within}/`.startsWith(path));
  const [m, d, a] = [modified, deleted, added].map((list) => list.filter(under).sort());
  return {
    dataset: state.dataset,
    tag: state.tag,
    versionId: state.versionId,
    ...(state.model ? { model: true } : {}),
    root,
    ...(within === "" ? {} : { within }),
    modified: m!,
    deleted: d!,
    added: a!,
  };
}
