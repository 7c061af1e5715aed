// The journal of a checkout in progress, kept in the home beside the folder's state: the
// run's id, the folders its temp files go to, and the folders it makes. Written before
// anything is created in the folder and removed when the checkout ends, so the temp files
// and folders of a checkout that crashed are found and removed by the next checkout or
// status of that folder, and nothing of the user's is touched.

import { mkdir, readdir, readFile, rmdir, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type FolderId, journalFile } from "./state.js";

export interface Journal {
  runId: string;
  /** Folders (relative) that get temp files. */
  tempDirs: string[];
  /** Folders (relative) this run makes, parents first. */
  made: string[];
}

/** Temp names of a run: `.strata-<run id>-<n>` (files) and `.strata-<run id>-l<n>` (symlinks). */
export function tempName(runId: string, n: number, link = false): string {
  return `.strata-${runId}-${link ? "l" : ""}${n}`;
}

export async function writeJournal(home: string, id: FolderId, j: Journal): Promise<void> {
  const path = journalFile(home, id);
  await mkdir(join(path, ".."), { recursive: true, mode: 0o700 });
  await writeFile(path, JSON.stringify(j), { mode: 0o600 });
}

export async function dropJournal(home: string, id: FolderId): Promise<void> {
  await unlink(journalFile(home, id)).catch(() => {});
}

/** Removes what a run left in `root`: its temp files, then the folders it made where empty. */
export async function undoRun(root: string, j: Journal): Promise<void> {
  const prefix = `.strata-${j.runId}-`;
  for (const rel of j.tempDirs) {
    const names = await readdir(join(root, rel)).catch(() => [] as string[]);
    for (const n of names) if (n.startsWith(prefix)) await unlink(join(root, rel, n)).catch(() => {});
  }
  for (const rel of [...j.made].reverse()) await rmdir(join(root, rel)).catch(() => {});
}

/** Cleans up after a checkout of this folder that did not finish (its process died). */
export async function recoverCrashedRun(home: string, id: FolderId, root: string): Promise<void> {
  let j: Journal;
  try {
    j = JSON.parse(await readFile(journalFile(home, id), "utf8")) as Journal;
  } catch {
    return;
  }
  if (typeof j.runId === "string" && /^[0-9a-f]+$/.test(j.runId) && Array.isArray(j.tempDirs) && Array.isArray(j.made))
    await undoRun(root, { runId: j.runId, tempDirs: j.tempDirs.filter(safeRel), made: j.made.filter(safeRel) });
  await dropJournal(home, id);
}

function safeRel(p: unknown): p is string {
  return typeof p === "string" && (p === "" || p.split("/").every((x) => x !== "" && x !== "." && x !== ".."));
}
