// Big tables hash in worker threads (loader/push/tabular.ts): the workers must give what
// hashing on the main thread gives, skip contents that changed since they were read, and
// fail a push when a file cannot be read.

import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { hashTabularFiles } from "../../loader/push/tabular.js";
import { hashRows } from "../../loader/tabular/rows.js";
import { tempDir } from "../helpers/strata.js";

const sha = (b: Buffer) => createHash("sha256").update(b).digest();

t.test("rows hashed in workers equal rows hashed inline, and both follow the file's bytes", async (t) => {
  const dir = tempDir(t);
  const csv = Buffer.from(`id,text\n${Array.from({ length: 5000 }, (_, i) => `${i},"row, ${i}"`).join("\n")}\n`);
  const jsonl = Buffer.from(`${Array.from({ length: 3000 }, (_, i) => `{"b":${i * 1.5},"a":"x${i}"}`).join("\n")}\n`);
  writeFileSync(join(dir, "a.csv"), csv);
  writeFileSync(join(dir, "b.jsonl"), jsonl);
  writeFileSync(join(dir, "c.csv"), "id\n1\n");
  const files = [
    { abs: join(dir, "a.csv"), path: "a.csv", size: csv.length, hash: sha(csv) },
    { abs: join(dir, "b.jsonl"), path: "b.jsonl", size: jsonl.length, hash: sha(jsonl) },
    { abs: join(dir, "c.csv"), path: "c.csv", size: 5, hash: Buffer.alloc(32) }, // changed since it was read
  ];
  const inWorkers = await hashTabularFiles(files, 0);
  const inline = await hashTabularFiles(files, Number.POSITIVE_INFINITY);
  const shape = (list: typeof inline) =>
    list
      .map((r) => ({ blob: r.blob.toString("hex"), count: r.rows.rowCount, hashes: [...r.rows.hashes].join(",") }))
      .sort((a, b) => a.blob.localeCompare(b.blob));
  t.equal(inWorkers.length, 2, "the file whose bytes changed gets no rows");
  t.same(shape(inWorkers), shape(inline));
  const expected = [(await hashRows(csv, "a.csv"))!, (await hashRows(jsonl, "b.jsonl"))!];
  t.same(
    shape(inWorkers).map((r) => r.hashes),
    shape(expected.map((rows, i) => ({ blob: files[i]!.hash, rows }))).map((r) => r.hashes),
  );
});

t.test("a file that cannot be read fails the hashing, in a worker as inline", async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, "folder.csv")); // replaced by a folder since it was read
  const bad = [{ abs: join(dir, "folder.csv"), path: "folder.csv", size: 10, hash: Buffer.alloc(32) }];
  await t.rejects(hashTabularFiles(bad, 0), { code: "EISDIR" });
  await t.rejects(hashTabularFiles(bad, Number.POSITIVE_INFINITY), { code: "EISDIR" });
});
