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
import { appendUtf8, grown } from "../columns.js";

export type InputKind = "file" | "symlink" | "dir";

/** What the walk saw of a file, and what a read saw after it when the file changed. */
export interface FileStat {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

const KIND_CODE = { file: 0, symlink: 1, dir: 2 } as const;
const KINDS: readonly InputKind[] = ["file", "symlink", "dir"];

/**
 * The files, symlinks and folders of a push, by position (0..count-1), folders before
 * what they hold. Kept as columns, not one object per file: a million files take about
 * 60 bytes each (the name, four numbers, the folder and a flag), not several hundred,
 * and almost none of it on the JS heap, whose collector would size itself by them.
 */
export class InputList {
  private n = 0;
  /**
   * Last path components, UTF-8 back to back (not a million strings); entry i's ends at
   * nameEnds[i]. A full path is its folder's path, '/', the name.
   */
  private nameBytes = Buffer.allocUnsafe(64 * 1024);
  private nameEnds = new Uint32Array(1024);
  /** Full paths of folders only. */
  private readonly folderPaths = new Map<number, string>();
  /** Kind code, plus 4 when a regular file is executable. */
  private flags = new Uint8Array(1024);
  /** Size, mtime, ctime and inode of each entry, four numbers apiece. */
  private stats = new Float64Array(4 * 1024);
  /** Position of the folder holding each entry; -1: the pushed folder itself. */
  private parents = new Int32Array(1024);
  private readonly targets = new Map<number, string>();

  /** `single`: the push is of one file, named `path` here and found at `root`. */
  constructor(
    readonly root: string,
    private readonly single: boolean,
  ) {}

  get count(): number {
    return this.n;
  }

  /** Adds an entry named `name` in folder `parent` (-1: the pushed folder); returns its position. */
  add(name: string, parent: number, st: Stats, target?: string): number {
    const kind: InputKind = st.isSymbolicLink() ? "symlink" : st.isDirectory() ? "dir" : "file";
    const i = this.n;
    if (i === this.parents.length) this.grow();
    this.addName(i, name);
    this.n++;
    if (kind === "dir") this.folderPaths.set(i, parent < 0 ? name : `${this.folderPaths.get(parent)!}/${name}`);
    this.flags[i] = KIND_CODE[kind] | (kind === "file" && (st.mode & 0o111) !== 0 ? 4 : 0);
    this.setStat(i, { size: kind === "file" ? st.size : 0, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino });
    this.parents[i] = parent;
    if (target !== undefined) this.targets.set(i, target);
    return i;
  }

  private addName(i: number, name: string): void {
    const added = appendUtf8(this.nameBytes, i === 0 ? 0 : this.nameEnds[i - 1]!, name);
    if (added === undefined) throw new StrataError("too many names to push at once (more than 4 GiB of them)", "usage");
    this.nameBytes = added.column;
    this.nameEnds[i] = added.end;
  }

  private grow(): void {
    const n = this.parents.length * 2;
    this.nameEnds = grown(this.nameEnds, n);
    this.flags = grown(this.flags, n);
    this.stats = grown(this.stats, 4 * n);
    this.parents = grown(this.parents, n);
  }

  /** '/'-separated, relative to the pushed folder. */
  path(i: number): string {
    const parent = this.parents[i]!;
    return parent < 0 ? this.name(i) : `${this.folderPaths.get(parent)!}/${this.name(i)}`;
  }

  /** The last component of the path. */
  name(i: number): string {
    return this.nameBytes.toString("utf8", i === 0 ? 0 : this.nameEnds[i - 1]!, this.nameEnds[i]!);
  }

  /** Absolute path on disk. */
  abs(i: number): string {
    return this.single ? this.root : `${this.root}${this.root.endsWith("/") ? "" : "/"}${this.path(i)}`;
  }

  kind(i: number): InputKind {
    return KINDS[this.flags[i]! & 3]!;
  }

  /** Regular files: any execute bit set (recorded as git does: regular or executable). */
  executable(i: number): boolean {
    return (this.flags[i]! & 4) !== 0;
  }

  /** File bytes; 0 for folders and symlinks. */
  size(i: number): number {
    return this.stats[4 * i]!;
  }

  stat(i: number): FileStat {
    const at = 4 * i;
    return { size: this.stats[at]!, mtimeMs: this.stats[at + 1]!, ctimeMs: this.stats[at + 2]!, ino: this.stats[at + 3]! };
  }

  /** Record what a later look at the file saw. */
  setStat(i: number, st: FileStat): void {
    const at = 4 * i;
    this.stats[at] = st.size;
    this.stats[at + 1] = st.mtimeMs;
    this.stats[at + 2] = st.ctimeMs;
    this.stats[at + 3] = st.ino;
  }

  parent(i: number): number {
    return this.parents[i]!;
  }

  /** Symlinks: the target as read. */
  target(i: number): string | undefined {
    return this.targets.get(i);
  }
}

/**
 * The files, symlinks and folders under `root` (a folder, or a single file pushed under
 * its own name); folders come before what they hold. Synchronous calls: a walk is one
 * metadata call per file, and the thread-pool round trip of the async ones costs more
 * than the call itself.
 */
export function walkInput(root: string): InputList {
  let st: Stats;
  try {
    st = statSync(root);
  } catch (e) {
    throw inputError(root, e);
  }
  if (st.isFile()) {
    const one = new InputList(root, true);
    one.add(basename(root), -1, st);
    return one;
  }
  if (!st.isDirectory()) throw new StrataError(`${root} is neither a file nor a folder`, "usage");
  const out = new InputList(root, false);
  walkFolder(root, "", -1, out);
  return out;
}

function walkFolder(abs: string, rel: string, parent: number, out: InputList): void {
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
    if (!d.isDirectory() && !d.isFile() && !d.isSymbolicLink())
      throw new StrataError(`${childAbs} is not a regular file, folder or symlink (sockets, pipes and devices cannot be pushed)`, "usage");
    let st: Stats;
    try {
      st = lstatSync(childAbs);
    } catch (e) {
      throw inputError(childAbs, e);
    }
    if (d.isDirectory()) {
      const i = out.add(name, parent, st);
      walkFolder(childAbs, rel === "" ? name : `${rel}/${name}`, i, out);
    } else {
      out.add(name, parent, st, st.isSymbolicLink() ? readlinkSync(childAbs) : undefined);
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
