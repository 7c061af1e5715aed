// Walking the input of a push: files and symlinks (recorded as links, never followed),
// with the metadata the local file index keys on.

import { type Dirent, lstatSync, readdirSync, readlinkSync, type Stats, statSync } from "node:fs";
import { basename, join } from "node:path";
import { STATE_DIR } from "../checkout/listing.js";
import { StrataError } from "../errors.js";

export interface InputFile {
  /** '/'-separated, relative to the pushed folder. */
  path: string;
  /** Absolute path on disk. */
  abs: string;
  kind: "file" | "symlink";
  size: number;
  mtimeMs: number;
  ino: number;
  target?: string;
}

/**
 * The files under `root` (a folder, or a single file pushed under its own name).
 * Synchronous calls: a walk is one metadata call per file, and the thread-pool round
 * trip of the async ones costs more than the call itself.
 */
export function walkInput(root: string): InputFile[] {
  let st: Stats;
  try {
    st = statSync(root);
  } catch (e) {
    throw inputError(root, e);
  }
  if (st.isFile()) {
    return [{ path: basename(root), abs: root, kind: "file", size: st.size, mtimeMs: st.mtimeMs, ino: st.ino }];
  }
  if (!st.isDirectory()) throw new StrataError(`${root} is neither a file nor a folder`, "usage");
  const out: InputFile[] = [];
  walkFolder(root, "", out);
  return out;
}

function walkFolder(abs: string, rel: string, out: InputFile[]): void {
  let names: Dirent[];
  try {
    names = readdirSync(abs, { withFileTypes: true });
  } catch (e) {
    throw inputError(abs, e);
  }
  for (const d of names) {
    if (rel === "" && d.name === STATE_DIR) continue;
    const childAbs = join(abs, d.name);
    const childRel = rel === "" ? d.name : `${rel}/${d.name}`;
    if (d.isDirectory()) {
      walkFolder(childAbs, childRel, out);
    } else if (d.isFile() || d.isSymbolicLink()) {
      let st: Stats;
      try {
        st = lstatSync(childAbs);
      } catch (e) {
        throw inputError(childAbs, e);
      }
      const link = st.isSymbolicLink();
      out.push({
        path: childRel,
        abs: childAbs,
        kind: link ? "symlink" : "file",
        size: link ? 0 : st.size,
        mtimeMs: st.mtimeMs,
        ino: st.ino,
        target: link ? readlinkSync(childAbs) : undefined,
      });
    } else {
      throw new StrataError(`${childAbs} is not a regular file, folder or symlink (sockets, pipes and devices cannot be pushed)`, "usage");
    }
  }
}

export function inputError(path: string, e: unknown): StrataError {
  const code = (e as { code?: string }).code;
  const why =
    code === "ENOENT"
      ? "does not exist"
      : code === "EACCES" || code === "EPERM"
        ? "cannot be read (permission denied)"
        : code === "ELOOP"
          ? "is a symlink loop"
          : code === "ENOTDIR"
            ? "is not a folder"
            : (e as Error).message;
  return new StrataError(`${path} ${why}`, code === "EACCES" || code === "EPERM" ? "permission" : "usage", { cause: e });
}
