// Damaged data fails a checkout loudly, naming the file, and leaves the folder as it was.

import { createHash, randomBytes } from "node:crypto";
import { open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";

import t from "tap";

import { cat, checkout, folderId, readState } from "../../loader/checkout/index.js";
import { packKey } from "../../loader/store/index.js";
import type { Strata } from "../../loader/strata.js";
import { fixture, seedVersion, walk } from "../helpers/seed.js";

const sha = (b: Buffer): Buffer => createHash("sha256").update(b).digest();

async function chunkAt(strata: Strata, content: Buffer, seq: number): Promise<{ pack: string; offset: number }> {
  const rows = await strata.query<{ pack: Buffer; pack_offset: number }>(
    "select pack, pack_offset from strata.blob_chunks(array[$1::bytea]) where seq = $2",
    [sha(content), seq],
  );
  return { pack: rows[0]!.pack.toString("hex"), offset: rows[0]!.pack_offset };
}

async function flipByte(path: string, offset: number): Promise<void> {
  const fh = await open(path, "r+");
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, offset);
    b[0] = b[0]! ^ 0xff;
    await fh.write(b, 0, 1, offset);
  } finally {
    await fh.close();
  }
}

t.test("a corrupt chunk in a pack fails the checkout naming the file; the folder is untouched", async (t) => {
  const f = await fixture(t, "file");
  const other = randomBytes(100_000);
  await seedVersion(f.strata, f.store, "ds", { "a.txt": "aaa", "train/victim.bin": randomBytes(200_000), "other.bin": other });
  const victim2 = randomBytes(200_000);
  await seedVersion(f.strata, f.store, "ds", { "a.txt": "AAA changed", "train/victim.bin": victim2, "other.bin": other });
  const dir = join(f.tmp, "out");
  await checkout(f.strata.session.withStore(f.store), { dataset: "ds", tag: "v1" }, dir);
  const v1Victim = await readFile(join(dir, "train/victim.bin"));
  const listing = await walk(dir);

  const at = await chunkAt(f.strata, victim2, 3);
  await flipByte(join(f.storeRoot!, packKey(at.pack)), at.offset + 10);

  const message = "chunk 3 of train/victim.bin does not match its hash (the store returned corrupt data)";
  await t.rejects(checkout(f.strata.session.withStore(f.store), { dataset: "ds", tag: "v2" }, dir), {
    name: "StrataError",
    kind: "corrupt",
    message,
  });
  t.same(await walk(dir), listing, "no temp files, nothing added or removed");
  t.equal(await readFile(join(dir, "a.txt"), "utf8"), "aaa", "a changed file was not replaced");
  t.ok((await readFile(join(dir, "train/victim.bin"))).equals(v1Victim), "the damaged file keeps its old bytes");
  t.equal((await readState(f.strata.home, await folderId(dir)))?.tag, "v1", "the state still says v1");

  const fresh = join(f.tmp, "fresh");
  await t.rejects(checkout(f.strata.session.withStore(f.store), { dataset: "ds", tag: "v2" }, fresh), { kind: "corrupt", message });
  t.same(await walk(fresh), [], "a failed first checkout leaves an empty folder");

  await t.rejects(cat(f.strata.session.withStore(f.store), { dataset: "ds", tag: "v2" }, "train/victim.bin", new PassThrough()), {
    kind: "corrupt",
    message,
  });
  const ok = await checkout(f.strata.session.withStore(f.store), { dataset: "ds", tag: "v1" }, join(f.tmp, "v1-again"));
  t.equal(ok.filesWritten, 3, "other versions still check out");
});

t.test("contents that do not match the file hash: checkout fails, cat writes then fails", async (t) => {
  const f = await fixture(t, "file");
  const data = randomBytes(150_000);
  await seedVersion(f.strata, f.store, "ds", { "good.txt": "fine", "x.bin": data }, { badHash: ["x.bin"] });
  const dir = join(f.tmp, "out");
  await t.rejects(checkout(f.strata.session.withStore(f.store), { dataset: "ds" }, dir), {
    kind: "corrupt",
    message: /^x\.bin does not match its hash/,
  });
  t.same(await walk(dir), [], "nothing written, not even the good file");

  const out = new PassThrough();
  const parts: Buffer[] = [];
  out.on("data", (d: Buffer) => parts.push(d));
  await t.rejects(cat(f.strata.session.withStore(f.store), { dataset: "ds" }, "x.bin", out), {
    kind: "corrupt",
    message: /^x\.bin does not match its hash/,
  });
  t.ok(Buffer.concat(parts).equals(data), "cat wrote the bytes before the whole-file check failed");
});

t.test("a pack missing from the store is named", async (t) => {
  const f = await fixture(t, "file");
  const { pack } = await seedVersion(f.strata, f.store, "ds", { "d/x.bin": randomBytes(1000) });
  await rm(join(f.storeRoot!, packKey(pack!)));
  await t.rejects(checkout(f.strata.session.withStore(f.store), { dataset: "ds" }, join(f.tmp, "out")), {
    kind: "corrupt",
    message: /^pack packs\/.* holding chunk 1 of d\/x\.bin is missing from file:/,
  });
});
