// What the gc tests share (test/db/gc.test.ts, test/db/gc.concurrent.test.ts): four
// versions that share files with their neighbours, and a checkout through the CLI
// compared byte for byte.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Test } from "tap";
import { type CliSession, strata } from "./cli.js";
import { bytes, type openTestStrata, tempDir, writeTree } from "./strata.js";

export type S = Awaited<ReturnType<typeof openTestStrata>>;

export const PACK = 256 * 1024;

/** Four versions: each has a file of its own and shares one with its neighbour. */
export async function fourVersions(t: Test, s: S): Promise<{ dir: string; contents: Map<string, Record<string, Buffer>> }> {
  const dir = tempDir(t);
  const contents = new Map<string, Record<string, Buffer>>();
  for (let v = 1; v <= 4; v++) {
    const files = { [`own-${v}.bin`]: bytes(300_000, 100 + v), [`shared-${v}.bin`]: bytes(200_000, 200 + v) };
    if (v > 1) files[`shared-${v - 1}.bin`] = bytes(200_000, 200 + v - 1);
    const d = join(dir, `v${v}`);
    writeTree(d, files);
    await s.push(d, { dataset: "ds", packSize: PACK });
    contents.set(`v${v}`, files);
  }
  return { dir, contents };
}

/** Checks out `tag` with the CLI (by default a process of its own) and compares every file. */
export async function checksOut(t: Test, s: S, tag: string, files: Record<string, Buffer>, cli: CliSession = strata): Promise<void> {
  const out = tempDir(t);
  const r = await cli(["checkout", `ds@${tag}`, out], s.env);
  t.equal(r.code, 0, `ds@${tag} checks out ${r.stderr}`);
  for (const [path, data] of Object.entries(files)) t.ok(readFileSync(join(out, path)).equals(data), `${tag} ${path} byte for byte`);
}
