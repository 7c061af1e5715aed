/**
 * The bench's own data: deterministic pseudo-random bytes (xorshift128, about
 * 1.5 GB/s in V8, so generating gigabytes costs seconds, not minutes) and the
 * trees the rows work on. The same seed gives the same bytes on every run.
 * Not for anything secret.
 */
import { createHash } from "node:crypto";
import { type Dirent, mkdirSync, statfsSync } from "node:fs";
import { mkdir, open, readdir, readFile, rm, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** xorshift128 (Marsaglia), seeded through splitmix32 so nearby seeds give unrelated streams. */
export class Rand {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const mix = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) | 0;
    };
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = mix() | 1; // never all zero
  }

  next(): number {
    const t = this.a ^ (this.a << 11);
    this.a = this.b;
    this.b = this.c;
    this.c = this.d;
    this.d = this.d ^ (this.d >>> 19) ^ (t ^ (t >>> 8));
    return this.d >>> 0;
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor((this.next() / 2 ** 32) * (hi - lo + 1));
  }

  /** Fills `buf` with the next bytes of the stream. */
  fill(buf: Uint8Array): Uint8Array {
    const head = (4 - (buf.byteOffset & 3)) & 3;
    let i = 0;
    for (; i < head && i < buf.length; i++) buf[i] = this.next() & 255;
    const words = (buf.length - i) >>> 2;
    const u = new Uint32Array(buf.buffer, buf.byteOffset + i, words);
    let a = this.a;
    let b = this.b;
    let c = this.c;
    let d = this.d;
    for (let k = 0; k < words; k++) {
      const t = a ^ (a << 11);
      a = b;
      b = c;
      c = d;
      d = d ^ (d >>> 19) ^ (t ^ (t >>> 8));
      u[k] = d;
    }
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
    for (i += words * 4; i < buf.length; i++) buf[i] = this.next() & 255;
    return buf;
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafeSlow(n);
    this.fill(b);
    return b;
  }

  /** k distinct indexes out of [0, n), in random order. */
  pick(n: number, k: number): number[] {
    const idx = Array.from({ length: n }, (_, i) => i);
    k = Math.min(k, n);
    for (let i = 0; i < k; i++) {
      const j = this.int(i, n - 1);
      [idx[i], idx[j]] = [idx[j]!, idx[i]!];
    }
    return idx.slice(0, k);
  }
}

const BLOCK = 64 * MiB;
let scratch: Buffer | null = null;

/** Writes `size` pseudo-random bytes of stream `seed` to `path`, in blocks of up to 64 MiB. */
export async function writeRandomFile(path: string, size: number, seed: number): Promise<void> {
  scratch ??= Buffer.allocUnsafeSlow(BLOCK);
  const rand = new Rand(seed);
  const fh = await open(path, "w");
  try {
    for (let left = size; left > 0; ) {
      const n = Math.min(left, BLOCK);
      const part = scratch.subarray(0, n);
      rand.fill(part);
      await fh.write(part, 0, n);
      left -= n;
    }
  } finally {
    await fh.close();
  }
}

export function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Bytes free for an unprivileged writer on the file system holding `dir`. */
export function freeBytes(dir: string): number {
  mkdirSync(dir, { recursive: true });
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

/** Sum of file sizes (apparent bytes) under `dir`, recursively; 0 when it does not exist. */
export async function treeBytes(dir: string, filter: (name: string) => boolean = () => true): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  const walk = async (d: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && filter(e.name)) {
        bytes += (await stat(p)).size;
        files++;
      }
    }
  };
  await walk(dir);
  return { bytes, files };
}

export interface TreeInfo {
  dir: string;
  files: string[];
  bytes: number;
}

/** `count` files of `size` bytes each, flat in `dir`. */
export async function makeFlatTree(dir: string, count: number, size: number, seed: number): Promise<TreeInfo> {
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const p = join(dir, `part-${String(i).padStart(4, "0")}.bin`);
    await writeRandomFile(p, size, seed * 100_003 + i);
    files.push(p);
  }
  return { dir, files, bytes: count * size };
}

/**
 * `count` files in `folders` folders, sizes drawn from [minSize, maxSize], their bytes cut
 * from one pseudo-random stream (so no two files share content). Returns each file's path,
 * size and SHA-256 when `hash` is set.
 */
export async function makeSpreadTree(
  dir: string,
  opts: { count: number; folders: number; minSize: number; maxSize: number; seed: number; hash?: boolean },
): Promise<TreeInfo & { hashes: Map<string, { hash: string; size: number }> }> {
  const rand = new Rand(opts.seed);
  const stream = new Rand(opts.seed ^ 0x5eed);
  let buf = Buffer.allocUnsafeSlow(Math.max(BLOCK, opts.maxSize));
  let pos = buf.length;
  const take = (n: number): Buffer => {
    if (pos + n > buf.length) {
      buf = Buffer.allocUnsafeSlow(buf.length); // the old one may still be referenced by a pending write
      stream.fill(buf);
      pos = 0;
    }
    const out = buf.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const files: string[] = [];
  const hashes = new Map<string, { hash: string; size: number }>();
  let bytes = 0;
  for (let f = 0; f < opts.folders; f++) await mkdir(join(dir, `d${String(f).padStart(3, "0")}`), { recursive: true });
  const pending: Promise<void>[] = [];
  for (let i = 0; i < opts.count; i++) {
    const size = rand.int(opts.minSize, opts.maxSize);
    const data = take(size);
    const p = join(dir, `d${String(i % opts.folders).padStart(3, "0")}`, `f${String(i).padStart(6, "0")}.bin`);
    if (opts.hash) hashes.set(p, { hash: sha256(data), size });
    pending.push(writeFile(p, data));
    if (pending.length >= 64) await Promise.all(pending.splice(0));
    files.push(p);
    bytes += size;
  }
  await Promise.all(pending);
  return { dir, files, bytes, hashes };
}

/** Overwrites `length` bytes in the middle of a file with new pseudo-random bytes (size unchanged). */
export async function overwriteMiddle(path: string, length: number, seed: number): Promise<void> {
  const size = (await stat(path)).size;
  const fh = await open(path, "r+");
  try {
    const n = Math.min(length, size);
    await fh.write(new Rand(seed).bytes(n), 0, n, Math.floor((size - n) / 2));
  } finally {
    await fh.close();
  }
}

/** Inserts `length` new bytes into the middle of a file; returns the new content's SHA-256 and size. */
export async function insertMiddle(path: string, length: number, seed: number): Promise<{ hash: string; size: number }> {
  const old = await readFile(path);
  const mid = Math.floor(old.length / 2);
  const data = Buffer.concat([old.subarray(0, mid), new Rand(seed).bytes(length), old.subarray(mid)]);
  await writeFile(path, data);
  return { hash: sha256(data), size: data.length };
}

export async function writeNew(path: string, size: number, seed: number): Promise<{ hash: string; size: number }> {
  const data = new Rand(seed).bytes(size);
  await writeFile(path, data);
  return { hash: sha256(data), size };
}

export async function remove(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true, maxRetries: 3 });
}

export async function removeFile(path: string): Promise<void> {
  await unlink(path);
}
