// The checkout's state file, <dir>/.strata/checkout.jsonl: which version the folder
// holds and, per path Strata wrote, the content hash and the file's stat when
// written. A later checkout trusts a file whose size, mtime and inode still match
// (as git's index does), so switching versions reads only what may have changed.
// JSON lines (a header, then one line per path) so a million-file checkout is
// written and read as a stream, never as one huge string. Replaced atomically
// (temp, fsync, rename): a crash leaves the old or the new state.

import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, mkdir, open, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";

import { STATE_DIR } from "./listing.js";

export const STATE_FILE = "checkout.jsonl";
const FORMAT = 1;

export interface FileRecord {
  kind: "file";
  /** SHA-256 of the contents, hex. */
  hash: string;
  size: number;
  /** From lstat with bigint precision, as decimal strings. */
  mtimeNs: string;
  ino: string;
}

export interface LinkRecord {
  kind: "symlink";
  target: string;
}

export type PathRecord = FileRecord | LinkRecord;

/** The header line. */
export interface StateHeader {
  format: typeof FORMAT;
  dataset: string;
  tag: string;
  versionId: number;
  /** Root tree hash of the version, hex. */
  contentHash: string;
  /** When the checkout finished, ISO 8601. */
  updatedAt: string;
  /** Lines that follow: a shorter file was cut off and is not trusted. */
  count: number;
}

export interface CheckoutState extends StateHeader {
  files: Map<string, PathRecord>;
}

export function statePath(dir: string): string {
  return join(dir, STATE_DIR, STATE_FILE);
}

/** The state of a previous checkout, or undefined (none, or unreadable: then every file counts as the user's). */
export async function readState(dir: string): Promise<CheckoutState | undefined> {
  const input = createReadStream(statePath(dir), "utf8");
  const lines = createInterface({ input, crlfDelay: Infinity });
  let state: CheckoutState | undefined;
  let read = 0;
  try {
    for await (const line of lines) {
      if (state === undefined) {
        const h = JSON.parse(line) as StateHeader;
        if (h.format !== FORMAT || typeof h.count !== "number") return undefined;
        state = { ...h, files: new Map() };
        continue;
      }
      const r = JSON.parse(line) as PathRecord & { path: string };
      read++;
      // A hand-edited state must not steer deletions outside the folder.
      if (!safePath(r.path)) continue;
      state.files.set(
        r.path,
        r.kind === "symlink"
          ? { kind: r.kind, target: r.target }
          : { kind: "file", hash: r.hash, size: r.size, mtimeNs: r.mtimeNs, ino: r.ino },
      );
    }
  } catch {
    return undefined;
  } finally {
    lines.close();
    input.destroy();
  }
  return state !== undefined && read === state.count ? state : undefined;
}

function safePath(path: unknown): path is string {
  if (typeof path !== "string") return false;
  const parts = path.split("/");
  return parts[0] !== STATE_DIR && parts.every((p) => p !== "" && p !== "." && p !== ".." && !p.includes("\0"));
}

export async function writeState(
  dir: string,
  header: Omit<StateHeader, "format" | "count">,
  files: ReadonlyMap<string, PathRecord>,
): Promise<void> {
  const folder = join(dir, STATE_DIR);
  await mkdir(folder, { recursive: true });
  const tmp = join(folder, `.${STATE_FILE}.tmp-${randomBytes(6).toString("hex")}`);
  try {
    const fh = await open(tmp, "w");
    try {
      const head: StateHeader = { format: FORMAT, ...header, count: files.size };
      let buf = `${JSON.stringify(head)}\n`;
      for (const [path, rec] of files) {
        buf += `${JSON.stringify({ path, ...rec })}\n`;
        if (buf.length >= 1 << 20) {
          await fh.writeFile(buf);
          buf = "";
        }
      }
      await fh.writeFile(buf);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, statePath(dir));
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}

export interface FileStat {
  kind: "file" | "symlink" | "dir" | "other";
  size: number;
  mtimeNs: string;
  ino: string;
}

/** lstat (symlinks not followed), or undefined when nothing is there. */
export async function statPath(path: string): Promise<FileStat | undefined> {
  try {
    const s = await lstat(path, { bigint: true });
    const kind = s.isFile() ? "file" : s.isSymbolicLink() ? "symlink" : s.isDirectory() ? "dir" : "other";
    return { kind, size: Number(s.size), mtimeNs: s.mtimeNs.toString(), ino: s.ino.toString() };
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT" || (e as { code?: string }).code === "ENOTDIR") return undefined;
    throw e;
  }
}

/** True when the file on disk is, by its stat, still the one the record describes. */
export function unchangedSince(record: FileRecord, st: FileStat | undefined): boolean {
  return st !== undefined && st.kind === "file" && st.size === record.size && st.mtimeNs === record.mtimeNs && st.ino === record.ino;
}

export function fileRecord(hash: string, st: FileStat): FileRecord {
  return { kind: "file", hash, size: st.size, mtimeNs: st.mtimeNs, ino: st.ino };
}
