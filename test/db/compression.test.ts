// Chunks stored compressed: a compressible file's chunks are kept as zstd frames (codec 1,
// stored_size < size), incompressible ones raw, and both come back byte for byte through
// checkout and cat on the folder store and the S3 API; a corrupt frame is refused; with
// STRATA_COMPRESSION=off every chunk is raw.

import { createHash } from "node:crypto";
import { open, readFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import t from "tap";
import { packKey } from "../../loader/store/index.js";
import type { Strata } from "../../loader/strata.js";
import { bytes, csvText, openTestStrata, tempDir, writeTree } from "../helpers/strata.js";

const sha = (b: Buffer): Buffer => createHash("sha256").update(b).digest();

interface ChunkForm {
  seq: number;
  size: number;
  stored_size: number;
  codec: number;
  pack: Buffer;
  pack_offset: number;
}

async function chunksOf(s: Strata, content: Buffer): Promise<ChunkForm[]> {
  return s.query<ChunkForm>(
    "select seq, size, stored_size, codec, pack, pack_offset from strata.blob_chunks(array[$1::bytea]) order by seq",
    [sha(content)],
  );
}

async function catToBuffer(s: Strata, path: string): Promise<Buffer> {
  const out = new PassThrough();
  const parts: Buffer[] = [];
  out.on("data", (d: Buffer) => parts.push(d));
  await s.cat({ dataset: "ds" }, path, out);
  return Buffer.concat(parts);
}

const files = {
  "table.csv": csvText(3_000_000, 1),
  "small/notes.txt": csvText(6_000, 2),
  "random.bin": bytes(1_500_000, 3),
  "small/random.bin": bytes(5_000, 4),
  "tiny.txt": "hi\n",
};

for (const kind of ["file", "s3"] as const) {
  t.test(`${kind} store: compressible chunks are stored compressed, and everything reads back`, async (t) => {
    const s = await openTestStrata(t, kind);
    const dir = tempDir(t);
    writeTree(dir, files);
    const pushed = await s.push(dir, { dataset: "ds" });

    const [counted] = await s.query<{ new_bytes: string; stored: string; raw: string }>(
      "select v.new_bytes, sum(c.stored_size) as stored, sum(c.size) as raw from strata.v_versions v, strata.chunks c group by v.new_bytes",
    );
    t.equal(Number(counted!.new_bytes), Number(counted!.stored), "the version's new bytes are the stored bytes");
    t.equal(pushed.newBytes, Number(counted!.stored), "and so is the push's count");
    t.ok(Number(counted!.stored) < Number(counted!.raw) * 0.6);

    const table = await chunksOf(s, files["table.csv"]);
    t.ok(table.length >= 2, `the table is cut into ${table.length} chunks`);
    for (const c of table) {
      t.equal(c.codec, 1, `table chunk ${c.seq} is zstd`);
      t.ok(c.stored_size < c.size / 3, `table chunk ${c.seq}: ${c.stored_size} stored of ${c.size}`);
    }
    const [notes] = await chunksOf(s, files["small/notes.txt"]);
    t.match(notes, { codec: 1 }, "a small text file too");
    t.ok(notes!.stored_size < notes!.size, `${notes!.stored_size} stored of ${notes!.size}`);
    for (const name of ["random.bin", "small/random.bin"] as const)
      for (const c of await chunksOf(s, files[name])) t.match(c, { codec: 0, stored_size: c.size }, `${name} chunk ${c.seq} is raw`);
    const [packBytes] = await s.query<{ stored: number; raw: number }>(
      "select sum(size)::bigint as stored, (select sum(c.size) from strata.chunks c)::bigint as raw from strata.packs",
    );
    t.ok(Number(packBytes!.stored) < Number(packBytes!.raw) * 0.6, `packs hold ${packBytes!.stored} bytes for ${packBytes!.raw} raw`);

    const out = join(tempDir(t), "out");
    const r = await s.checkout({ dataset: "ds" }, out, { cacheDir: undefined });
    t.equal(r.filesWritten, 5);
    for (const [path, data] of Object.entries(files))
      t.ok((await readFile(join(out, path))).equals(Buffer.from(data)), `${path} checks out`);
    for (const path of ["table.csv", "small/notes.txt", "random.bin"] as const)
      t.ok((await catToBuffer(s, path)).equals(files[path]), `cat ${path}`);
  });
}

t.test("a corrupt zstd frame fails checkout and cat naming the file", async (t) => {
  const s = await openTestStrata(t);
  const dir = tempDir(t);
  writeTree(dir, { "table.csv": files["table.csv"] });
  await s.push(dir, { dataset: "ds" });
  const second = (await chunksOf(s, files["table.csv"]))[1]!;
  t.equal(second.codec, 1);
  const fh = await open(join(s.env.STRATA_STORE!.slice("file://".length), packKey(second.pack.toString("hex"))), "r+");
  const at = second.pack_offset + Math.floor(second.stored_size / 2);
  const b = Buffer.alloc(1);
  await fh.read(b, 0, 1, at);
  b[0] = b[0]! ^ 0x5a;
  await fh.write(b, 0, 1, at);
  await fh.close();

  const message = "chunk 2 of table.csv does not match its hash (the store returned corrupt data)";
  await t.rejects(s.checkout({ dataset: "ds" }, join(tempDir(t), "out"), { cacheDir: undefined }), { kind: "corrupt", message });
  await t.rejects(s.cat({ dataset: "ds" }, "table.csv", new PassThrough()), { kind: "corrupt", message });
});

t.test("STRATA_COMPRESSION=off stores every chunk raw; a bad value is a usage error", async (t) => {
  const s = await openTestStrata(t);
  const dir = tempDir(t);
  writeTree(dir, { "table.csv": files["table.csv"] });
  const was = process.env.STRATA_COMPRESSION;
  t.teardown(() => {
    if (was === undefined) delete process.env.STRATA_COMPRESSION;
    else process.env.STRATA_COMPRESSION = was;
  });
  process.env.STRATA_COMPRESSION = "fast";
  await t.rejects(s.push(dir, { dataset: "ds" }), { kind: "usage", message: /STRATA_COMPRESSION/ });
  process.env.STRATA_COMPRESSION = "off";
  await s.push(dir, { dataset: "ds" });
  for (const c of await chunksOf(s, files["table.csv"])) t.match(c, { codec: 0, stored_size: c.size }, `chunk ${c.seq} is raw`);
  const out = join(tempDir(t), "out");
  await s.checkout({ dataset: "ds" }, out, { cacheDir: undefined });
  t.ok((await readFile(join(out, "table.csv"))).equals(files["table.csv"]));
});
