// loader/push/small-files.ts: small files read and hashed in worker threads, in order,
// across batches; a file that differs from what the walk saw is read again and reported.

import { createHash } from "node:crypto";
import { lstatSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { readSmallFiles, type SmallFile, type SmallResult } from "../../loader/push/small-files.js";
import { tempDir } from "../helpers/strata.js";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest();

function walked(abs: string): SmallFile {
  const st = lstatSync(abs);
  return { abs, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
}

async function readAll(files: SmallFile[], limit: number): Promise<SmallResult[]> {
  const out: SmallResult[] = [];
  for await (const r of readSmallFiles(files.length, (k) => files[k]!, limit)) out.push(r);
  return out;
}

t.test("many files, several batches: each file's bytes and hash, in order", async (t) => {
  const dir = tempDir(t, "strata-small-");
  const files: SmallFile[] = [];
  const contents: Buffer[] = [];
  for (let i = 0; i < 700; i++) {
    const data = Buffer.from(`file ${i} `.repeat(i % 50));
    writeFileSync(join(dir, `f${i}`), data);
    files.push(walked(join(dir, `f${i}`)));
    contents.push(data);
  }
  const got = await readAll(files, 4096);
  t.equal(got.length, 700);
  let good = 0;
  for (const [i, r] of got.entries())
    if (r.kind === "read" && r.data.equals(contents[i]!) && r.hash.equals(sha(contents[i]!)) && r.stat === undefined) good++;
  t.equal(good, 700, "every file read whole, hashed, unchanged");
});

t.test("a file that changed since the walk is read as it is now, and its new metadata reported", async (t) => {
  const dir = tempDir(t, "strata-small-");
  const abs = join(dir, "a");
  writeFileSync(abs, "abc");
  const before = walked(abs);
  writeFileSync(abs, "abcdefg"); // grew, still small
  const r = (await readAll([before], 100))[0]!;
  t.equal(r.kind, "read");
  if (r.kind !== "read") return;
  t.equal(r.data.toString(), "abcdefg");
  t.ok(r.hash.equals(sha(Buffer.from("abcdefg"))));
  t.equal(r.stat?.size, 7, "the size now");
  t.equal(r.stat?.ino, lstatSync(abs).ino);

  const shrunk = join(dir, "b");
  writeFileSync(shrunk, "0123456789");
  const seen = walked(shrunk);
  writeFileSync(shrunk, "01");
  const [s] = await readAll([seen], 100);
  t.match(s, { kind: "read", stat: { size: 2 } });
  t.equal(s?.kind === "read" && s.data.toString(), "01");
});

t.test("a file grown past the limit is handed back; a missing one is an error", async (t) => {
  const dir = tempDir(t, "strata-small-");
  const big = join(dir, "big");
  writeFileSync(big, "abc");
  const seen = walked(big);
  writeFileSync(big, "x".repeat(500));
  const gone = join(dir, "gone");
  writeFileSync(gone, "x");
  const goneSeen = walked(gone);
  rmSync(gone);
  const ok = join(dir, "ok");
  writeFileSync(ok, "fine");
  const got = await readAll([seen, goneSeen, walked(ok)], 100);
  t.match(got[0], { kind: "grew", stat: { size: 500 } });
  t.match(got[1], { kind: "error", error: { code: "ENOENT", syscall: "open" } });
  t.equal(got[2]!.kind === "read" && got[2]!.data.toString(), "fine", "the files after are still read");
});

t.test("stopping early stops the readers", async (t) => {
  const dir = tempDir(t, "strata-small-");
  const files: SmallFile[] = [];
  for (let i = 0; i < 2000; i++) {
    writeFileSync(join(dir, `f${i}`), String(i));
    files.push(walked(join(dir, `f${i}`)));
  }
  let n = 0;
  for await (const _ of readSmallFiles(files.length, (k) => files[k]!, 100)) if (++n === 10) break;
  t.equal(n, 10);
  t.same(await readAll([], 100), [], "no files: nothing, no workers");
});
