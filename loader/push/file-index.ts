// The local index of a pushed folder: path -> (size, mtime, ctime, inode, content hash).
// A re-push takes the hash of a file whose size, mtime, ctime and inode are unchanged
// without reading it, as git does: ctime catches contents rewritten with the mtime put
// back (which only the kernel can set). Kept per dataset and folder under
// STRATA_HOME/index; written (temp + rename) only after a successful commit.

import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { InputFile } from "./walk.js";

type Row = [size: number, mtimeMs: number, ctimeMs: number, ino: number, hashHex: string];
/** Indexes of another format (format 1 had no ctime) are not trusted: every file is read once. */
const FORMAT = 2;

export class FileIndex {
  private next = new Map<string, Row>();

  private constructor(
    private readonly file: string,
    private readonly rows: Map<string, Row>,
  ) {}

  static async load(home: string, dataset: string, root: string): Promise<FileIndex> {
    const key = createHash("sha256").update(`${dataset}\0${root}`).digest("hex").slice(0, 32);
    const file = join(home, "index", `${key}.json`);
    let rows = new Map<string, Row>();
    try {
      const parsed = JSON.parse(await readFile(file, "utf8")) as { version?: number; files: Record<string, Row> };
      if (parsed.version === FORMAT) rows = new Map(Object.entries(parsed.files));
    } catch {
      // no index yet, or unreadable: every file is read
    }
    return new FileIndex(file, rows);
  }

  /** The recorded content hash when the file looks unchanged. */
  lookup(f: InputFile): Buffer | undefined {
    const r = this.rows.get(f.path);
    if (!r || r[0] !== f.size || r[1] !== f.mtimeMs || r[2] !== f.ctimeMs || r[3] !== f.ino) return undefined;
    return Buffer.from(r[4], "hex");
  }

  record(f: InputFile, hash: Buffer): void {
    this.next.set(f.path, [f.size, f.mtimeMs, f.ctimeMs, f.ino, hash.toString("hex")]);
  }

  /** Replace the index with what this push recorded. */
  async save(): Promise<void> {
    await mkdir(join(this.file, ".."), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify({ version: FORMAT, files: Object.fromEntries(this.next) }), { mode: 0o600 });
    await rename(tmp, this.file);
  }
}
