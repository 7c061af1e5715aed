// The file store: objects as files under one folder, key segments as sub-folders
// (`packs/ab/ab12...` -> ROOT/packs/ab/ab12...). Writes go to a temp file in
// ROOT/.tmp (on the same file system, so the rename is atomic), are fsynced, renamed
// over the final name, and the folder is fsynced so the rename survives a power cut.
// Dot-names are never valid keys (keys.ts), so a temp file a crash leaves behind is
// invisible to has/get/list; temp names say which host and process wrote them, and
// check() removes those of writers that are gone. The store is private to its owner:
// folders 0700, files 0600 (a stricter umask wins).
// Large objects (packs) are written with O_DIRECT: each is fsynced at once anyway, so the
// page cache buys nothing, and filling it cost far more (2 GiB of packs: 2 s of kernel
// time and 13-17 s to disk, against 0.2 s and 3-4 s direct, on the bench machine).

import { randomBytes } from "node:crypto";
import type { Dirent } from "node:fs";
import { access, constants, mkdir, open, readdir, readFile, rename, rm, stat, unlink, type FileHandle } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

import { faultPoint } from "../fault.js";
import { processAlive } from "../lock.js";
import { errorCode, StoreError, type StoreErrorKind } from "./errors.js";
import { validateKey, validatePrefix } from "./keys.js";
import { mapLimited } from "../parallel.js";
import { checkRange, readRanges } from "./ranges.js";
import {
  type ByteRange,
  emptyStats,
  type GetRangesOptions,
  type ListEntry,
  type ObjectStore,
  type PutOptions,
  type StoreStats,
} from "./store.js";

/** Where writes in progress live; its name can never be a key. */
const TEMP_DIR = ".tmp";
/** A temp file of another host is stale after this long (its writer cannot be asked). */
const FOREIGN_TEMP_MS = 24 * 3600 * 1000;
// Local reads and unlinks run on libuv's thread pool; more in flight only queues.
const FILE_PARALLEL = 8;

export class FileStore implements ObjectStore {
  readonly root: string;
  private readonly counts = emptyStats();

  constructor(root: string) {
    this.root = resolve(root);
  }

  describe(): string {
    return pathToFileURL(this.root).href;
  }

  stats(): StoreStats {
    return { ...this.counts };
  }

  async close(): Promise<void> {}

  async check(): Promise<void> {
    try {
      await mkdir(this.root, { recursive: true, mode: 0o700 });
      await access(this.root, constants.R_OK | constants.W_OK | constants.X_OK);
    } catch (err) {
      const code = errorCode(err);
      if (code === "EEXIST" || code === "ENOTDIR") {
        throw new StoreError("bad_config", `${this.describe()} is not a folder (fix STRATA_STORE)`, { cause: err, store: this.describe() });
      }
      throw this.fsError(err, "open the store folder", undefined);
    }
    await this.removeStaleTemps();
  }

  /** Temp files of writers that died (this host, process gone) or of another host, a day old. */
  private async removeStaleTemps(): Promise<void> {
    const dir = join(this.root, TEMP_DIR);
    const host = hostname();
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const m = /^(.*)-(\d+)-[0-9a-f]+$/.exec(name);
      const path = join(dir, name);
      const stale =
        m !== null && m[1] === host
          ? !processAlive(Number(m[2]))
          : Date.now() - ((await stat(path).catch(() => undefined))?.mtimeMs ?? Date.now()) > FOREIGN_TEMP_MS;
      if (stale) await rm(path, { force: true }).catch(() => undefined);
    }
  }

  async sweepTemps(before: Date, dryRun: boolean): Promise<{ files: number; bytes: number }> {
    const dir = join(this.root, TEMP_DIR);
    const swept = { files: 0, bytes: 0 };
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const m = /^(.*)-(\d+)-[0-9a-f]+$/.exec(name);
      if (m !== null && m[1] === hostname() && processAlive(Number(m[2]))) continue; // a write in progress
      const info = await stat(join(dir, name)).catch(() => undefined);
      if (info === undefined || !info.isFile() || info.mtime >= before) continue;
      if (!dryRun) await rm(join(dir, name), { force: true });
      swept.files++;
      swept.bytes += info.size;
    }
    return swept;
  }

  async put(key: string, body: Buffer | readonly Buffer[], options: PutOptions = {}): Promise<boolean> {
    const path = this.pathOf(key);
    const parts = Buffer.isBuffer(body) ? [body] : body;
    const size = parts.reduce((n, b) => n + b.length, 0);
    if (!options.replace) {
      this.counts.head++;
      if ((await this.statFile(path, key))?.size === size) return false;
    }
    this.counts.put++;
    const dir = dirname(path);
    const tmp = join(this.root, TEMP_DIR, `${hostname()}-${process.pid}-${randomBytes(8).toString("hex")}`);
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await mkdir(join(this.root, TEMP_DIR), { recursive: true, mode: 0o700 });
      try {
        if (size < DIRECT_MIN || !(await writeDirect(tmp, parts, size))) {
          const fh = await open(tmp, "wx", 0o600);
          try {
            await writeParts(fh, parts);
            await fh.sync();
          } finally {
            await fh.close();
          }
        }
        faultPoint("file-store.before-rename");
        await rename(tmp, path);
      } catch (err) {
        await rm(tmp, { force: true }).catch(() => undefined);
        throw err;
      }
      await syncFolder(dir);
    } catch (err) {
      throw this.fsError(err, "write", key);
    }
    return true;
  }

  async has(key: string): Promise<boolean> {
    return (await this.size(key)) !== undefined;
  }

  async size(key: string): Promise<number | undefined> {
    const path = this.pathOf(key);
    this.counts.head++;
    return (await this.statFile(path, key))?.size;
  }

  async get(key: string): Promise<Buffer> {
    const path = this.pathOf(key);
    this.counts.get++;
    try {
      return await readFile(path);
    } catch (err) {
      throw this.fsError(err, "read", key);
    }
  }

  async getRange(key: string, offset: number, length: number): Promise<Buffer> {
    checkRange(offset, length, key, this.describe());
    const [data] = await this.getRanges(key, [{ offset, length }], { gap: 0 });
    return data!;
  }

  async getRanges(key: string, ranges: readonly ByteRange[], options?: GetRangesOptions): Promise<Buffer[]> {
    const path = this.pathOf(key);
    for (const r of ranges) checkRange(r.offset, r.length, key, this.describe());
    let fh: FileHandle;
    try {
      fh = await open(path, "r");
    } catch (err) {
      throw this.fsError(err, "read", key);
    }
    try {
      return await readRanges(
        ranges,
        (offset, length) => {
          this.counts.get++;
          return this.readExactly(fh, key, offset, length, options?.alloc);
        },
        FILE_PARALLEL,
        options,
      );
    } finally {
      await fh.close();
    }
  }

  async *list(prefix = ""): AsyncIterable<ListEntry> {
    validatePrefix(prefix, this.describe());
    // Start at the deepest folder the prefix names in full; filter the rest by string.
    const folder = prefix.slice(0, prefix.lastIndexOf("/") + 1);
    yield* this.walk(folder, prefix);
  }

  async delete(keys: readonly string[]): Promise<void> {
    const paths = keys.map((k) => this.pathOf(k));
    await mapLimited(paths, FILE_PARALLEL, async (path, i) => {
      this.counts.delete++;
      try {
        await unlink(path);
      } catch (err) {
        if (errorCode(err) !== "ENOENT") throw this.fsError(err, "delete", keys[i]);
      }
    });
  }

  // Folders are not removed when they empty: a concurrent put may be about to
  // write into one, and there are at most 256 fan-out folders per key space.

  private async *walk(folderKey: string, prefix: string): AsyncGenerator<ListEntry> {
    let entries: Dirent[];
    this.counts.list++;
    try {
      entries = await readdir(join(this.root, folderKey), { withFileTypes: true });
    } catch (err) {
      const code = errorCode(err);
      if (code === "ENOENT" || code === "ENOTDIR") return;
      throw this.fsError(err, "list", folderKey);
    }
    // Sort as S3 does (by key bytes): a folder sorts as its name plus '/'.
    const items = entries
      .filter((e) => !e.name.startsWith(".") && (e.isFile() || e.isDirectory()))
      .map((e) => ({ name: e.name, folder: e.isDirectory(), sortKey: e.isDirectory() ? `${e.name}/` : e.name }))
      .sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
    for (const item of items) {
      const key = folderKey + item.name;
      if (item.folder) {
        const sub = `${key}/`;
        if (sub.startsWith(prefix) || prefix.startsWith(sub)) yield* this.walk(sub, prefix);
      } else if (key.startsWith(prefix)) {
        const info = await this.statFile(join(this.root, key), key);
        if (info) yield { key, size: info.size, modified: info.modified }; // skip one deleted meanwhile
      }
    }
  }

  private pathOf(key: string): string {
    validateKey(key, this.describe());
    return join(this.root, ...key.split("/"));
  }

  private async statFile(path: string, key: string): Promise<{ size: number; modified: Date } | undefined> {
    try {
      const info = await stat(path);
      return info.isFile() ? { size: info.size, modified: info.mtime } : undefined;
    } catch (err) {
      const code = errorCode(err);
      if (code === "ENOENT" || code === "ENOTDIR") return undefined;
      throw this.fsError(err, "stat", key);
    }
  }

  private async readExactly(
    fh: FileHandle,
    key: string,
    offset: number,
    length: number,
    alloc: (length: number) => Buffer = Buffer.allocUnsafe,
  ): Promise<Buffer> {
    const buf = alloc(length);
    let done = 0;
    while (done < length) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await fh.read(buf, done, length - done, offset + done));
      } catch (err) {
        throw this.fsError(err, "read", key);
      }
      if (bytesRead === 0) {
        throw new StoreError(
          "bad_range",
          `range ${offset}+${length} is past the end of '${key}' in ${this.describe()} (object has ${offset + done} bytes or fewer)`,
          {
            key,
            store: this.describe(),
          },
        );
      }
      done += bytesRead;
    }
    return buf;
  }

  private fsError(err: unknown, action: string, key: string | undefined): StoreError {
    const code = errorCode(err) ?? "unknown error";
    const what = key === undefined ? this.describe() : `'${key}' in ${this.describe()}`;
    let kind: StoreErrorKind = "io";
    let hint = "check the folder and the disk";
    if ((code === "ENOENT" || code === "EISDIR" || code === "ENOTDIR") && action === "read") {
      kind = "not_found";
      return new StoreError(kind, `object ${what} not found`, { cause: err, key, store: this.describe() });
    }
    if (code === "EACCES" || code === "EPERM" || code === "EROFS") {
      kind = "access_denied";
      hint = "check the folder permissions or choose another STRATA_STORE";
    } else if (code === "ENOSPC" || code === "EDQUOT") {
      hint = "the disk is full: free space or choose another STRATA_STORE";
    }
    return new StoreError(kind, `cannot ${action} ${what}: ${code} (${hint})`, { cause: err, key, store: this.describe() });
  }
}

/** fsync a folder so a rename in it is durable; not every platform allows it. */
async function syncFolder(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, "r");
    await fh.sync();
  } catch (err) {
    const code = errorCode(err);
    if (code !== "EISDIR" && code !== "EINVAL" && code !== "EPERM" && code !== "EBADF") throw err;
  } finally {
    await fh?.close();
  }
}

/** Objects at least this large are written around the page cache (writeDirect). */
const DIRECT_MIN = 1024 * 1024;
/** One direct write: a multiple of any block size O_DIRECT asks for. */
const DIRECT_PIECE = 4 * 1024 * 1024;
const DIRECT_ALIGN = 4096;
/** The one WebAssembly API used here (the project's type libraries do not declare it). */
declare const WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } };
/** Staging buffers kept for reuse (one per write in flight). */
const staging: Uint8Array[] = [];
/** False once the store's file system refused O_DIRECT: every write then goes through the page cache. */
let directWorks = true;

/**
 * Writes and fsyncs `tmp` with O_DIRECT, through a page-aligned staging buffer (a
 * WebAssembly memory: JS has no other way to get an aligned address). The last piece is
 * padded to the block size and the file truncated back. False, with nothing left at
 * `tmp`, when the file system does not take O_DIRECT (tmpfs; the caller writes normally).
 */
async function writeDirect(tmp: string, parts: readonly Buffer[], size: number): Promise<boolean> {
  if (!directWorks) return false;
  let fh: FileHandle;
  try {
    fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DIRECT, 0o600);
  } catch (err) {
    if (errorCode(err) !== "EINVAL") throw err;
    directWorks = false;
    return false;
  }
  let buf: Uint8Array;
  try {
    buf = staging.pop() ?? new Uint8Array(new WebAssembly.Memory({ initial: DIRECT_PIECE / 65536 }).buffer);
  } catch {
    // no address space for it (a ulimit -v, say): write through the page cache
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true }).catch(() => undefined);
    return false;
  }
  try {
    let pos = 0;
    let fill = 0;
    const flush = async (): Promise<void> => {
      const len = Math.ceil(fill / DIRECT_ALIGN) * DIRECT_ALIGN;
      buf.fill(0, fill, len);
      for (let at = 0; at < len; ) at += (await fh.write(buf, at, len - at, pos + at)).bytesWritten;
      pos += fill;
      fill = 0;
    };
    for (const part of parts) {
      for (let at = 0; at < part.length; ) {
        const n = Math.min(part.length - at, DIRECT_PIECE - fill);
        stage(buf, fill, part.subarray(at, at + n));
        fill += n;
        at += n;
        if (fill === DIRECT_PIECE) await flush();
      }
    }
    if (fill > 0) await flush();
    if (size % DIRECT_ALIGN !== 0) await fh.truncate(size);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true }).catch(() => undefined);
    if (errorCode(err) !== "EINVAL") throw err;
    directWorks = false;
    return false;
  } finally {
    if (staging.length < 4) staging.push(buf);
  }
  await fh.close();
  return true;
}

let bounce: Uint8Array | undefined;

/**
 * Copies src into buf at `at`. Out of shared memory (a push's chunks lie in the chunker's
 * SharedArrayBuffers), V8 copies byte by byte when source and target differ in alignment
 * (0.35 s per GiB against 0.08): such bytes go through a buffer placed at the source's
 * alignment, two fast copies. Synchronous, so writes in flight can share that buffer.
 */
function stage(buf: Uint8Array, at: number, src: Uint8Array): void {
  const shift = src.byteOffset & 7;
  if (!(src.buffer instanceof SharedArrayBuffer) || shift === (at & 7)) {
    buf.set(src, at);
    return;
  }
  bounce ??= new Uint8Array(DIRECT_PIECE + 8);
  bounce.set(src, shift);
  buf.set(bounce.subarray(shift, shift + src.length), at);
}

/** Write the parts back to back without joining them (writev, in groups under IOV_MAX). */
async function writeParts(fh: import("node:fs/promises").FileHandle, parts: readonly Buffer[]): Promise<void> {
  for (let i = 0; i < parts.length; i += 512) {
    let group = parts.slice(i, i + 512);
    let want = group.reduce((n, b) => n + b.length, 0);
    while (want > 0) {
      const { bytesWritten } = await fh.writev(group);
      want -= bytesWritten;
      if (want === 0) break;
      // a short write: drop what was written and go on with the rest
      let skip = bytesWritten;
      while (skip >= group[0]!.length) skip -= group.shift()!.length;
      group = [group[0]!.subarray(skip), ...group.slice(1)];
    }
  }
}
