// Walking the input of a push: files (with their executable bit), symlinks (recorded
// as links, never followed) and folders (so empty ones are kept), with the metadata the
// local file index keys on. Names must be UTF-8: PostgreSQL keeps them as text, and a
// name that does not decode would come back as another name.

import { isUtf8 } from "node:buffer";
import { type Dirent, lstatSync, readdirSync, readlinkSync, type Stats, statSync } from "node:fs";
import { basename, join } from "node:path";
import { STATE_DIR } from "../checkout/listing.js";
import { StrataError } from "../errors.js";
import { escapeControls } from "../text.js";

export interface InputFile {
  /** '/'-separated, relative to the pushed folder. */
  path: string;
  /** Absolute path on disk. */
  abs: string;
  kind: "file" | "symlink" | "dir";
  /** Regular files: any execute bit set (recorded as git does: regular or executable). */
  executable: boolean;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  target?: string;
}

/**
 * The files, symlinks and folders under `root` (a folder, or a single file pushed under
 * its own name); folders come before what they hold. Synchronous calls: a walk is one
 * metadata call per file, and the thread-pool round trip of the async ones costs more
 * than the call itself.
 */
export function walkInput(root: string): InputFile[] {
  let st: Stats;
  try {
    st = statSync(root);
  } catch (e) {
    throw inputError(root, e);
  }
  if (st.isFile()) return [inputOf(basename(root), root, st)];
  if (!st.isDirectory()) throw new StrataError(`${root} is neither a file nor a folder`, "usage");
  const out: InputFile[] = [];
  walkFolder(root, "", out);
  return out;
}

function inputOf(path: string, abs: string, st: Stats, target?: string): InputFile {
  const kind = st.isSymbolicLink() ? "symlink" : st.isDirectory() ? "dir" : "file";
  return {
    path,
    abs,
    kind,
    executable: kind === "file" && (st.mode & 0o111) !== 0,
    size: kind === "file" ? st.size : 0,
    mtimeMs: st.mtimeMs,
    ctimeMs: st.ctimeMs,
    ino: st.ino,
    target,
  };
}

function walkFolder(abs: string, rel: string, out: InputFile[]): void {
  let names: Dirent<Buffer>[];
  try {
    names = readdirSync(abs, { withFileTypes: true, encoding: "buffer" });
  } catch (e) {
    throw inputError(abs, e);
  }
  for (const d of names) {
    if (!isUtf8(d.name))
      throw new StrataError(
        `cannot push ${escapeControls(join(abs, "").replace(/\/$/, ""))}/${escapeBytes(d.name)}: its name is not valid UTF-8, ` +
          "and Strata keeps names as text (rename it)",
        "usage",
      );
    const name = d.name.toString("utf8");
    if (rel === "" && name === STATE_DIR) continue;
    const childAbs = join(abs, name);
    const childRel = rel === "" ? name : `${rel}/${name}`;
    if (!d.isDirectory() && !d.isFile() && !d.isSymbolicLink())
      throw new StrataError(`${childAbs} is not a regular file, folder or symlink (sockets, pipes and devices cannot be pushed)`, "usage");
    let st: Stats;
    try {
      st = lstatSync(childAbs);
    } catch (e) {
      throw inputError(childAbs, e);
    }
    if (d.isDirectory()) {
      out.push(inputOf(childRel, childAbs, st));
      walkFolder(childAbs, childRel, out);
    } else {
      out.push(inputOf(childRel, childAbs, st, st.isSymbolicLink() ? readlinkSync(childAbs) : undefined));
    }
  }
}

/** Bytes of a name as text, invalid UTF-8 and control characters as \xHH. */
function escapeBytes(name: Buffer): string {
  let out = "";
  for (let i = 0; i < name.length; ) {
    const n = utf8Length(name, i);
    out += n > 0 ? escapeControls(name.toString("utf8", i, i + n)) : `\\x${name[i]!.toString(16).padStart(2, "0")}`;
    i += Math.max(n, 1);
  }
  return out;
}

/** Length of the valid UTF-8 sequence starting at `i`, or 0. */
function utf8Length(b: Buffer, i: number): number {
  const c = b[i]!;
  const n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
  return n > 0 && i + n <= b.length && isUtf8(b.subarray(i, i + n)) ? n : 0;
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
