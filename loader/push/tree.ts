// Merkle trees of a version, built in the loader and checked again by commit_version.
// A tree's hash is the SHA-256 of its entries sorted by name (bytewise), each encoded as
// kind byte ('f' regular file, 'x' executable file, 'd' dir, 'l' symlink) + UTF-8 name +
// 0x00 + 32-byte hash + 8-byte big-endian size. A symlink's hash is the SHA-256 of its
// target; an empty folder is the tree of no entries (the SHA-256 of nothing).

import { createHash } from "node:crypto";
import type { InputList } from "./walk.js";

export type EntryKind = "file" | "dir" | "symlink";

export interface TreeEntry {
  name: string;
  kind: EntryKind;
  /** Files only: the executable bit (part of the hash). */
  executable?: boolean;
  hash: Buffer;
  /** File bytes; subtree bytes for a dir; 0 for a symlink. */
  size: number;
  target?: string;
}

/** A tree without its entries. */
export interface TreeHead {
  hash: Buffer;
  /** Files and symlinks below, at any depth. */
  fileCount: number;
  /** Bytes of the files below. */
  size: number;
}

export interface Tree extends TreeHead {
  entries: TreeEntry[];
}

/** A tree to store whose entries are made again when sent (a million files are not held twice). */
export interface LazyTree extends TreeHead {
  entryCount: number;
  entries: () => TreeEntry[];
}

/** One file, symlink or folder of a version, by its '/'-separated path (a folder's hash and size are unused). */
export interface PushedPath {
  path: string;
  kind: EntryKind;
  executable?: boolean;
  hash: Buffer;
  size: number;
  target?: string;
}

const KIND_BYTE: Record<EntryKind, number> = { file: 0x66, dir: 0x64, symlink: 0x6c };
const EXECUTABLE_BYTE = 0x78;

export function hashTree(entries: TreeEntry[]): Buffer {
  const sorted = entries.map((e) => ({ e, name: Buffer.from(e.name, "utf8") })).sort((a, b) => Buffer.compare(a.name, b.name));
  const h = createHash("sha256");
  const size = Buffer.alloc(8);
  for (const { e, name } of sorted) {
    h.update(Buffer.of(e.kind === "file" && e.executable ? EXECUTABLE_BYTE : KIND_BYTE[e.kind]));
    h.update(name);
    h.update(Buffer.of(0));
    h.update(e.hash);
    size.writeBigUInt64BE(BigInt(e.size));
    h.update(size);
  }
  return h.digest();
}

export function symlinkHash(target: string): Buffer {
  return createHash("sha256").update(target, "utf8").digest();
}

interface Folder {
  folders: Map<string, Folder>;
  files: TreeEntry[];
}

/**
 * The distinct trees of the version (children before parents) and the root, from its
 * files. Equal folders (two copies of one package in a node_modules) are one tree.
 */
export function buildTrees(files: Iterable<PushedPath>): { root: Tree; trees: Tree[] } {
  const top: Folder = { folders: new Map(), files: [] };
  for (const f of files) {
    const parts = f.path.split("/");
    const name = f.kind === "dir" ? undefined : parts.pop()!;
    let folder = top;
    for (const p of parts) {
      let next = folder.folders.get(p);
      if (!next) {
        next = { folders: new Map(), files: [] };
        folder.folders.set(p, next);
      }
      folder = next;
    }
    if (name === undefined) continue; // a folder: made above, kept even when empty
    const entry: TreeEntry = { name, kind: f.kind, hash: f.hash, size: f.kind === "file" ? f.size : 0, target: f.target };
    if (f.executable) entry.executable = true;
    folder.files.push(entry);
  }
  const trees: Tree[] = [];
  const seen = new Set<string>();
  const build = (folder: Folder): Tree => {
    const entries = [...folder.files];
    let fileCount = folder.files.length;
    let size = folder.files.reduce((n, e) => n + e.size, 0);
    for (const [name, sub] of folder.folders) {
      const t = build(sub);
      entries.push({ name, kind: "dir", hash: t.hash, size: t.size });
      fileCount += t.fileCount;
      size += t.size;
    }
    const tree = { hash: hashTree(entries), entries, fileCount, size };
    const key = tree.hash.toString("hex");
    if (!seen.has(key)) {
      seen.add(key);
      trees.push(tree);
    }
    return tree;
  };
  const root = build(top);
  return { root, trees };
}

/**
 * The distinct trees of a pushed folder (children before parents) and its root, from
 * the walk and each file's or symlink's hash: the same trees as buildTrees, without an
 * object per file. Each tree's entries are made again from the walk when asked.
 */
export function buildInputTrees(list: InputList, hashOf: (i: number) => Buffer): { root: TreeHead; trees: LazyTree[] } {
  const t = new InputTrees(list, hashOf);
  for (let i = 0; i < list.count; i++) if (list.kind(i) !== "dir") t.stored(i);
  return { root: t.root!, trees: t.take() };
}

/**
 * The trees of a pushed folder, each made as soon as everything in it is stored: a push
 * puts a folder's tree while it still reads the rest (a folder's files come together in
 * the walk), instead of every tree after the read. Trees come out children before
 * parents, equal ones once; the pushed folder's is the last.
 */
export class InputTrees {
  /** The pushed folder's position (after every walk position). */
  private readonly top: number;
  /** Walk positions of folder f's entries: children[start[f], start[f + 1]). */
  private readonly start: Int32Array;
  private readonly children: Int32Array;
  /** Entries of each folder not stored yet (a folder counts once its tree is made). */
  private readonly pending: Int32Array;
  private readonly folders = new Map<number, TreeHead>();
  private readonly seen = new Set<string>();
  private ready: LazyTree[] = [];
  /** The pushed folder's tree, once everything is stored. */
  root: TreeHead | undefined;

  constructor(
    private readonly list: InputList,
    /** A file's or symlink's hash; asked only once it is stored. */
    private readonly hashOf: (i: number) => Buffer,
  ) {
    const n = list.count;
    this.top = n;
    const start = new Int32Array(n + 2);
    for (let i = 0; i < n; i++) start[this.folderOf(i) + 1]!++;
    for (let f = 1; f <= n + 1; f++) start[f]! += start[f - 1]!;
    const children = new Int32Array(n);
    const fill = start.slice(0, n + 1);
    for (let i = 0; i < n; i++) children[fill[this.folderOf(i)]!++] = i;
    this.start = start;
    this.children = children;
    this.pending = new Int32Array(n + 1);
    for (let f = 0; f <= n; f++) this.pending[f] = start[f + 1]! - start[f]!;
    // Empty folders are made now; backwards, so an inner one is made before its parent.
    for (let i = n - 1; i >= 0; i--) if (list.kind(i) === "dir" && this.pending[i] === 0 && !this.folders.has(i)) this.made(i);
    if (n === 0) this.made(this.top);
  }

  /** File or symlink `i` is stored (its contents in the database): the trees this completes are ready. */
  stored(i: number): void {
    const f = this.folderOf(i);
    if (--this.pending[f]! === 0) this.made(f);
  }

  /** The trees made since the last call, children before parents. */
  take(): LazyTree[] {
    const out = this.ready;
    this.ready = [];
    return out;
  }

  private folderOf(i: number): number {
    const p = this.list.parent(i);
    return p < 0 ? this.top : p;
  }

  /** Makes folder f's tree (everything in it is stored), then counts it stored in its own folder. */
  private made(folder: number): void {
    for (let f = folder; ; ) {
      const entries = this.entriesOf(f);
      let fileCount = 0;
      let size = 0;
      for (let c = this.start[f]!; c < this.start[f + 1]!; c++) {
        const i = this.children[c]!;
        const sub = this.list.kind(i) === "dir" ? this.folders.get(i)! : undefined;
        fileCount += sub === undefined ? 1 : sub.fileCount;
        size += sub === undefined ? this.list.size(i) : sub.size;
      }
      const head = { hash: hashTree(entries), fileCount, size };
      const key = head.hash.toString("hex");
      if (!this.seen.has(key)) {
        this.seen.add(key);
        const made = f; // f moves up below
        this.ready.push({ ...head, entryCount: entries.length, entries: () => this.entriesOf(made) });
      }
      if (f === this.top) {
        this.root = head;
        return;
      }
      this.folders.set(f, head);
      f = this.folderOf(f);
      if (--this.pending[f]! !== 0) return;
    }
  }

  private entriesOf(folder: number): TreeEntry[] {
    const list = this.list;
    const entries: TreeEntry[] = [];
    for (let c = this.start[folder]!; c < this.start[folder + 1]!; c++) {
      const i = this.children[c]!;
      const kind = list.kind(i);
      const name = list.name(i);
      if (kind === "dir") {
        const t = this.folders.get(i)!;
        entries.push({ name, kind, hash: t.hash, size: t.size });
      } else if (kind === "symlink") entries.push({ name, kind, hash: this.hashOf(i), size: 0, target: list.target(i) });
      else {
        const entry: TreeEntry = { name, kind, hash: this.hashOf(i), size: list.size(i) };
        if (list.executable(i)) entry.executable = true;
        entries.push(entry);
      }
    }
    return entries;
  }
}
