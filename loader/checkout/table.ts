// The paths of a version (its listing) or of a checkout's state, kept as columns by
// position (0..count-1), not as an object per path: a million files take about 90 bytes
// each (the UTF-8 path, the hash, a size, flags and the stat when written), almost none
// of it on the JS heap, whose collector would otherwise size itself by them. A version's
// listing becomes the new state of the folder: planning and applying fill in the stat of
// each file as it is kept or written.

import { appendUtf8, grown } from "../columns.js";

export type PathKind = "file" | "symlink" | "dir";

/** A file, symlink or empty folder of a version (folders that hold something are implied by their paths). */
export interface Entry {
  /** '/'-separated, relative to the version root. */
  path: string;
  kind: PathKind;
  /** Files: the executable bit. */
  executable: boolean;
  size: number;
  /** SHA-256 of the file (of the target text for a symlink), hex. */
  hash: string;
  target?: string | undefined;
}

export interface FileRecord {
  kind: "file";
  /** SHA-256 of the contents, hex. */
  hash: string;
  size: number;
  executable: boolean;
  /** From lstat with bigint precision, as decimal strings. */
  mtimeNs: string;
  ctimeNs: string;
  ino: string;
}

export interface LinkRecord {
  kind: "symlink";
  target: string;
}

/** An empty folder of the version. */
export interface DirRecord {
  kind: "dir";
}

/** What a checkout's state records of a path. */
export type PathRecord = FileRecord | LinkRecord | DirRecord;

const KIND_CODE = { file: 0, symlink: 1, dir: 2 } as const;
const KINDS: readonly PathKind[] = ["file", "symlink", "dir"];
const EXECUTABLE = 4;
/** The stat columns hold this file's stat. */
const HAS_STAT = 8;
/** A state of an earlier release recorded no ctime. */
const NO_CTIME = 16;

/** One path's fields as added. */
export interface PathRow {
  kind: PathKind;
  executable: boolean;
  size: number;
  /** SHA-256, 32 bytes (of the target for a symlink, of nothing for an empty folder). */
  hash: Uint8Array;
  target?: string | undefined;
}

export class PathTable {
  private n = 0;
  /** Paths, UTF-8 back to back; path i ends at ends[i]. */
  private names = Buffer.allocUnsafe(64 * 1024);
  private ends = new Uint32Array(1024);
  private flags = new Uint8Array(1024);
  private sizes = new Float64Array(1024);
  private hashes = Buffer.allocUnsafe(32 * 1024);
  /** mtime, ctime (ns) and inode of each file with HAS_STAT, three apiece. */
  private stats = new BigInt64Array(3 * 1024);
  private readonly targets = new Map<number, string>();
  /** Open-addressing index from a path to its position, built on the first lookup. */
  private index: Int32Array | undefined;
  private scratch = Buffer.allocUnsafe(4096);
  private folders: Set<string> | undefined;

  get count(): number {
    return this.n;
  }

  add(path: string, row: PathRow): number {
    const i = this.n;
    if (i === this.flags.length) this.grow();
    const added = appendUtf8(this.names, i === 0 ? 0 : this.ends[i - 1]!, path);
    if (added === undefined) throw new RangeError("more than 4 GiB of paths");
    this.names = added.column;
    this.ends[i] = added.end;
    this.flags[i] = KIND_CODE[row.kind] | (row.executable ? EXECUTABLE : 0);
    this.sizes[i] = row.size;
    this.hashes.set(row.hash.subarray(0, 32), 32 * i);
    if (row.target !== undefined) this.targets.set(i, row.target);
    this.n++;
    this.folders = undefined;
    if (this.index !== undefined) {
      if (2 * this.n > this.index.length) this.index = undefined;
      else this.insert(this.index, i);
    }
    return i;
  }

  private grow(): void {
    const cap = 2 * this.flags.length;
    this.ends = grown(this.ends, cap);
    this.flags = grown(this.flags, cap);
    this.sizes = grown(this.sizes, cap);
    const hashes = Buffer.allocUnsafe(32 * cap);
    this.hashes.copy(hashes);
    this.hashes = hashes;
    this.stats = grown(this.stats, 3 * cap);
  }

  path(i: number): string {
    return this.names.toString("utf8", i === 0 ? 0 : this.ends[i - 1]!, this.ends[i]!);
  }

  kind(i: number): PathKind {
    return KINDS[this.flags[i]! & 3]!;
  }

  executable(i: number): boolean {
    return (this.flags[i]! & EXECUTABLE) !== 0;
  }

  size(i: number): number {
    return this.sizes[i]!;
  }

  /** The hash, hex. */
  hash(i: number): string {
    return this.hashes.toString("hex", 32 * i, 32 * i + 32);
  }

  /** The hash's 32 bytes (a view: valid until the next add). */
  hashBytes(i: number): Buffer {
    return this.hashes.subarray(32 * i, 32 * i + 32);
  }

  /** Whether path i here and path j of `other` have the same hash. */
  sameHash(i: number, other: PathTable, j: number): boolean {
    const a = this.hashes;
    const b = other.hashes;
    for (let k = 0; k < 32; k++) if (a[32 * i + k] !== b[32 * j + k]) return false;
    return true;
  }

  target(i: number): string | undefined {
    return this.targets.get(i);
  }

  /** Records a file's stat (lstat'ed when written or found unchanged). */
  setStat(i: number, st: { mtimeNs: string; ctimeNs: string; ino: string }): void {
    this.stats[3 * i] = BigInt(st.mtimeNs);
    this.stats[3 * i + 1] = st.ctimeNs === "" ? 0n : BigInt(st.ctimeNs);
    this.stats[3 * i + 2] = BigInt.asIntN(64, BigInt(st.ino));
    this.flags[i] = (this.flags[i]! & 7) | HAS_STAT | (st.ctimeNs === "" ? NO_CTIME : 0);
  }

  entry(i: number): Entry {
    const e: Entry = { path: this.path(i), kind: this.kind(i), executable: this.executable(i), size: this.size(i), hash: this.hash(i) };
    if (e.kind === "symlink") e.target = this.target(i);
    return e;
  }

  /** What the state records of path i (a file without a stat has empty stat fields). */
  record(i: number): PathRecord {
    const kind = this.kind(i);
    if (kind === "dir") return { kind };
    if (kind === "symlink") return { kind, target: this.target(i) ?? "" };
    const f = this.flags[i]!;
    const has = (f & HAS_STAT) !== 0;
    return {
      kind,
      hash: this.hash(i),
      size: this.size(i),
      executable: (f & EXECUTABLE) !== 0,
      mtimeNs: has ? this.stats[3 * i]!.toString() : "",
      ctimeNs: has && (f & NO_CTIME) === 0 ? this.stats[3 * i + 1]!.toString() : "",
      ino: has ? BigInt.asUintN(64, this.stats[3 * i + 2]!).toString() : "",
    };
  }

  /** The position of `path`, or -1. */
  find(path: string): number {
    let index = this.index;
    if (index === undefined) {
      let cap = 1024;
      while (cap < 2 * this.n) cap *= 2;
      index = new Int32Array(cap).fill(-1);
      for (let i = 0; i < this.n; i++) this.insert(index, i);
      this.index = index;
    }
    const len = Buffer.byteLength(path, "utf8");
    if (len > this.scratch.length) this.scratch = Buffer.allocUnsafe(2 * len);
    const key = this.scratch;
    key.write(path, 0, "utf8");
    const mask = index.length - 1;
    for (let slot = fnv(key, 0, len) & mask; ; slot = (slot + 1) & mask) {
      const i = index[slot]!;
      if (i < 0) return -1;
      const start = i === 0 ? 0 : this.ends[i - 1]!;
      if (this.ends[i]! - start === len && this.names.compare(key, 0, len, start, start + len) === 0) return i;
    }
  }

  private insert(index: Int32Array, i: number): void {
    const start = i === 0 ? 0 : this.ends[i - 1]!;
    const mask = index.length - 1;
    let slot = fnv(this.names, start, this.ends[i]!) & mask;
    while (index[slot]! >= 0) slot = (slot + 1) & mask;
    index[slot] = i;
  }

  has(path: string): boolean {
    return this.find(path) >= 0;
  }

  /** The record of `path`, or undefined. */
  get(path: string): PathRecord | undefined {
    const i = this.find(path);
    return i < 0 ? undefined : this.record(i);
  }

  *keys(): IterableIterator<string> {
    for (let i = 0; i < this.n; i++) yield this.path(i);
  }

  /** Every folder the paths imply, and the empty folders listed, never "" (computed once). */
  dirs(): ReadonlySet<string> {
    if (this.folders !== undefined) return this.folders;
    const dirs = new Set<string>();
    for (let i = 0; i < this.n; i++) {
      const p = this.path(i);
      for (let d = (this.flags[i]! & 3) === KIND_CODE.dir ? p : parentOf(p); d !== "" && !dirs.has(d); d = parentOf(d)) dirs.add(d);
    }
    this.folders = dirs;
    return dirs;
  }
}

/** The folder part of a '/'-separated relative path ("" at the top). */
export function parentOf(rel: string): string {
  const i = rel.lastIndexOf("/");
  return i < 0 ? "" : rel.slice(0, i);
}

/** FNV-1a over bytes [start, end) of `b`. */
function fnv(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let k = start; k < end; k++) h = Math.imul(h ^ b[k]!, 0x01000193);
  return h >>> 0;
}

/** 0, 1, ..., n - 1: the positions of a table, to run over in parallel. */
export function positions(n: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}
