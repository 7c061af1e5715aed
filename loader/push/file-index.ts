// The local index of a pushed folder: path -> (size, mtime, ctime, inode, content hash).
// A re-push takes the hash of a file whose size, mtime, ctime and inode are unchanged
// without reading it, as git does: ctime catches contents rewritten with the mtime put
// back (which only the kernel can set). Kept per dataset and folder under
// STRATA_HOME/index; written (temp + rename) only after a successful commit.

import { createHash } from "node:crypto";
import { mkdir, open, readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import type { InputList } from "./walk.js";

type Row = [size: number, mtimeMs: number, ctimeMs: number, ino: number, hashHex: string];
/** Indexes of another format (format 1 had no ctime) are not trusted: every file is read once. */
const FORMAT = 2;

/** Characters of index text written at once when it is saved. */
const WRITE_PIECE = 1 << 20;

export class FileIndex {
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

  /** The recorded content hash (hex) when file `i` of the walk looks unchanged. */
  lookup(list: InputList, i: number): string | undefined {
    const r = this.rows.get(list.path(i));
    if (r === undefined) return undefined;
    const st = list.stat(i);
    if (r[0] !== st.size || r[1] !== st.mtimeMs || r[2] !== st.ctimeMs || r[3] !== st.ino) return undefined;
    return r[4];
  }

  /**
   * Replace the index with the regular files of `list` and their hashes, as this push
   * saw them. Written piece by piece: the text of a million files is not built whole.
   */
  async save(list: InputList, hashOf: (i: number) => Buffer): Promise<void> {
    this.rows.clear(); // the old rows are not needed any more
    await mkdir(join(this.file, ".."), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    const out = await open(tmp, "w", 0o600);
    try {
      let text = `{"version":${FORMAT},"files":{`;
      let first = true;
      for (let i = 0; i < list.count; i++) {
        if (list.kind(i) !== "file") continue;
        const st = list.stat(i);
        const row: Row = [st.size, st.mtimeMs, st.ctimeMs, st.ino, hashOf(i).toString("hex")];
        text += `${first ? "" : ","}${JSON.stringify(list.path(i))}:${JSON.stringify(row)}`;
        first = false;
        if (text.length >= WRITE_PIECE) {
          await out.write(text);
          text = "";
        }
      }
      await out.write(`${text}}}`);
    } finally {
      await out.close();
    }
    await rename(tmp, this.file);
  }
}
