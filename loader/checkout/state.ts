// What Strata remembers of a checkout folder, kept in the Strata home (never in the
// folder: training code reads folders whole, hidden ones included): which version it
// holds and, per path it wrote, the content hash, executable bit and the stat when
// written. A later checkout or status trusts a file whose size, mtime, ctime and inode
// still match (as git's index does), so it reads only what may have changed.
//
// The state is keyed by the folder's identity (device and inode), not its path, so a
// folder that is moved or renamed keeps its state; its birth time guards against an
// inode reused by a new folder. JSON lines (a header, then one line per path), replaced
// atomically (temp, fsync, rename): a crash leaves the old or the new state.

import { randomBytes } from "node:crypto";
import { type BigIntStats, createReadStream, lstatSync } from "node:fs";
import { lstat, mkdir, open, readdir, rename, rm, rmdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { StrataError } from "../errors.js";
import { type FileRecord, type PathRecord, PathTable } from "./table.js";

const FORMAT = 2;

export type { DirRecord, FileRecord, LinkRecord, PathRecord } from "./table.js";

/** The header line. */
export interface StateHeader {
  format: typeof FORMAT;
  dataset: string;
  tag: string;
  versionId: number;
  /** A model version (dataset: the model, tag: its number). */
  model?: boolean;
  /** Root tree hash of the version, hex. */
  contentHash: string;
  /** Where the folder was when the state was written (it may have moved since). */
  root: string;
  /** The folder's birth time (ns), telling a reused inode from the folder itself. */
  birthNs: string;
  /** When the checkout finished, ISO 8601. */
  updatedAt: string;
  /** Lines that follow: a shorter file was cut off and is not trusted. */
  count: number;
}

export interface CheckoutState extends StateHeader {
  files: PathTable;
}

/** A folder's identity: the key of its state in the home. */
export interface FolderId {
  key: string;
  birthNs: string;
}

/** The identity of the checkout folder `root`, which must exist and be a folder. */
export async function folderId(root: string): Promise<FolderId> {
  let st: Awaited<ReturnType<typeof lstat>> & { birthtimeNs: bigint; dev: bigint; ino: bigint };
  try {
    st = await lstat(root, { bigint: true });
  } catch (e) {
    throw new StrataError(`${root} does not exist`, "usage", { cause: e });
  }
  if (!st.isDirectory()) throw new StrataError(`${root} is not a folder`, "usage");
  return { key: `${st.dev}-${st.ino}`, birthNs: st.birthtimeNs.toString() };
}

function stateFile(home: string, id: FolderId): string {
  return join(home, "checkouts", `${id.key}.jsonl`);
}

/** The journal of a checkout in progress: its temp files, to clean up after a crash (stage.ts). */
export function journalFile(home: string, id: FolderId): string {
  return join(home, "checkouts", `${id.key}.pending`);
}

/** The state of an earlier checkout of the folder, or undefined (none, unreadable, or another folder's). */
export async function readState(home: string, id: FolderId): Promise<CheckoutState | undefined> {
  const state = await readStateFile(stateFile(home, id));
  return state !== undefined && state.birthNs === id.birthNs ? state : undefined;
}

/**
 * Checkouts of earlier releases kept their state in the folder itself, in
 * <dir>/.strata/checkout.jsonl (format 1: no ctime, no executable bits). Read once to
 * know which files are Strata's (their hashes are checked, since there is no ctime),
 * then removed by the checkout that replaces it.
 */
export const LEGACY_DIR = ".strata";

export async function readLegacyState(root: string): Promise<CheckoutState | undefined> {
  if (!(await isRealFolder(join(root, LEGACY_DIR)))) return undefined;
  return readStateFile(join(root, LEGACY_DIR, "checkout.jsonl"), 1);
}

/** Removes an earlier release's state and staging folders from the checkout folder (never through a symlink). */
export async function removeLegacyState(root: string): Promise<void> {
  const dir = join(root, LEGACY_DIR);
  if (!(await isRealFolder(dir))) return;
  await unlink(join(dir, "checkout.jsonl")).catch(() => {});
  for (const name of await readdir(dir).catch(() => [] as string[]))
    if (/^tmp-\d+-[0-9a-f]+$/.test(name)) await rm(join(dir, name), { recursive: true, force: true });
  await rmdir(dir).catch(() => {}); // only when empty
}

async function isRealFolder(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined))?.isDirectory() === true;
}

async function readStateFile(path: string, format: number = FORMAT): Promise<CheckoutState | undefined> {
  const input = createReadStream(path, "utf8");
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let state: CheckoutState | undefined;
  let read = 0;
  try {
    for await (const line of lines) {
      if (state === undefined) {
        const h = JSON.parse(line) as StateHeader;
        if (h.format !== format || typeof h.count !== "number") return undefined;
        state = { ...h, files: new PathTable() };
        continue;
      }
      const r = JSON.parse(line) as PathRecord & { path: string };
      read++;
      // A hand-edited state must not steer deletions outside the folder.
      if (!safePath(r.path)) continue;
      addRecord(state.files, r.path, r);
    }
  } catch {
    return undefined;
  } finally {
    lines.close();
    input.destroy();
  }
  return state !== undefined && read === state.count ? state : undefined;
}

const NO_HASH = Buffer.alloc(32);

function addRecord(files: PathTable, path: string, r: PathRecord): void {
  if (r.kind === "symlink") {
    files.add(path, { kind: "symlink", executable: false, size: 0, hash: NO_HASH, target: String(r.target) });
    return;
  }
  if (r.kind === "dir") {
    files.add(path, { kind: "dir", executable: false, size: 0, hash: NO_HASH });
    return;
  }
  const hash = typeof r.hash === "string" && /^[0-9a-f]{64}$/.test(r.hash) ? Buffer.from(r.hash, "hex") : NO_HASH;
  const i = files.add(path, { kind: "file", executable: r.executable === true, size: Number(r.size), hash });
  // A stat that does not parse is no stat: the file's contents are read when it matters.
  const st = { mtimeNs: String(r.mtimeNs), ctimeNs: String(r.ctimeNs ?? ""), ino: String(r.ino) };
  if (/^-?\d+$/.test(st.mtimeNs) && /^(-?\d+)?$/.test(st.ctimeNs) && /^\d+$/.test(st.ino)) files.setStat(i, st);
}

function safePath(path: unknown): path is string {
  if (typeof path !== "string") return false;
  return path.split("/").every((p) => p !== "" && p !== "." && p !== ".." && !p.includes("\0"));
}

/** Writes the state: a header, then one line per path of `files` (files with the stat set for them). */
export async function writeState(
  home: string,
  id: FolderId,
  header: Omit<StateHeader, "format" | "count" | "birthNs">,
  files: PathTable,
): Promise<void> {
  const path = stateFile(home, id);
  await mkdir(join(path, ".."), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${randomBytes(6).toString("hex")}`;
  try {
    const fh = await open(tmp, "w", 0o600);
    try {
      const head: StateHeader = { format: FORMAT, ...header, birthNs: id.birthNs, count: files.count };
      let buf = `${JSON.stringify(head)}\n`;
      for (let i = 0; i < files.count; i++) {
        buf += `${JSON.stringify({ path: files.path(i), ...files.record(i) })}\n`;
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
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}

export interface FileStat {
  kind: "file" | "symlink" | "dir" | "other";
  size: number;
  executable: boolean;
  mtimeNs: string;
  ctimeNs: string;
  ino: string;
}

/** lstat (symlinks not followed), or undefined when nothing is there. */
export async function statPath(path: string): Promise<FileStat | undefined> {
  try {
    return fileStat(await lstat(path, { bigint: true }));
  } catch (e) {
    return absent(e);
  }
}

/** statPath with a synchronous call, for many small files in a row (apply.ts). */
export function statPathSync(path: string): FileStat | undefined {
  try {
    return fileStat(lstatSync(path, { bigint: true }));
  } catch (e) {
    return absent(e);
  }
}

function fileStat(s: BigIntStats): FileStat {
  const kind = s.isFile() ? "file" : s.isSymbolicLink() ? "symlink" : s.isDirectory() ? "dir" : "other";
  return {
    kind,
    size: Number(s.size),
    executable: (Number(s.mode) & 0o111) !== 0,
    mtimeNs: s.mtimeNs.toString(),
    ctimeNs: s.ctimeNs.toString(),
    ino: s.ino.toString(),
  };
}

function absent(e: unknown): undefined {
  if ((e as { code?: string }).code === "ENOENT" || (e as { code?: string }).code === "ENOTDIR") return undefined;
  throw e;
}

/** True when the file on disk is, by its stat, still the one the record describes. */
export function unchangedSince(record: FileRecord, st: FileStat | undefined): boolean {
  return (
    st !== undefined &&
    st.kind === "file" &&
    st.size === record.size &&
    st.executable === record.executable &&
    st.mtimeNs === record.mtimeNs &&
    st.ctimeNs === record.ctimeNs &&
    st.ino === record.ino
  );
}
