// A push chunks into recycled memory (ChunkOptions.recycle): each chunk's release is
// called once its bytes are no longer read. Released too early, a later chunk would
// overwrite bytes not yet stored; so the packer releases a raw chunk only after its
// pack's put resolved (a compressed one once its frame is made), and dedup releases
// the chunks it does not pack (known to the database, or already packed by this push).

import { createHash } from "node:crypto";
import t from "tap";
import { ChunkDedup, type KnownChunk } from "../../loader/push/dedup.js";
import { Packer } from "../../loader/push/packer.js";
import type { ObjectStore } from "../../loader/store/index.js";
import type { PackVerifier } from "../../loader/push/verify.js";
import { pseudoRandomBytes } from "../helpers/prng.js";

const sha = (b: Uint8Array): Buffer => createHash("sha256").update(b).digest();

interface Tracked {
  hash: Buffer;
  data: Buffer;
  released: number;
  release: () => void;
}

function tracked(data: Buffer): Tracked {
  const c: Tracked = { hash: sha(data), data, released: 0, release: () => c.released++ };
  return c;
}

t.test("packer: a raw chunk is released only after its pack is stored, every chunk once", async (t) => {
  const chunks: Tracked[] = [];
  for (let i = 0; i < 12; i++) chunks.push(tracked(i % 3 === 0 ? Buffer.alloc(3000, i) : pseudoRandomBytes(3000, i)));
  const early: string[] = [];
  let stored = 0;
  const store = {
    put: async (_key: string, body: Buffer | readonly Buffer[]) => {
      const parts = Buffer.isBuffer(body) ? [body] : body;
      await new Promise((r) => setTimeout(r, 5));
      // Still unreleased while the put runs: the bytes being stored are the chunk's.
      for (const c of chunks) if (parts.includes(c.data) && c.released > 0) early.push(c.hash.toString("hex"));
      stored++;
      return true;
    },
  } as unknown as ObjectStore;
  const packer = new Packer(store, { registerPack: async () => {} }, { salt: "test", packSize: 7000, inFlight: 2, compression: 3 });
  for (const c of chunks) await packer.add(c.hash, c.data, c.release);
  await packer.flush();
  t.ok(stored >= 3, `several packs (${stored})`);
  t.same(early, [], "no raw chunk released before its pack was stored");
  t.same(
    chunks.map((c) => c.released),
    chunks.map(() => 1),
    "each chunk released once",
  );
  t.equal(packer.stats.rawBytes, 12 * 3000);
  t.ok(packer.stats.bytes < packer.stats.rawBytes, "the runs of one byte were compressed");
});

t.test("dedup: chunks not packed (known, or packed already) are released; packed ones go with their release", async (t) => {
  const a = tracked(pseudoRandomBytes(100, 1));
  const b = tracked(pseudoRandomBytes(100, 2));
  const b2 = tracked(Buffer.from(b.data));
  const known = tracked(pseudoRandomBytes(100, 3));
  const packed: { hash: Buffer; release: (() => void) | undefined }[] = [];
  const packer = {
    add: async (hash: Buffer, _d: Buffer, release?: () => void) => void packed.push({ hash, release }),
  } as unknown as Packer;
  const dedup = new ChunkDedup(
    {
      knownChunks: async (hashes) =>
        hashes.filter((h) => h.equals(known.hash)).map((h): KnownChunk => ({ chunk: h, pack: sha(Buffer.from("p")), packSize: 1 })),
      markDamaged: async () => {},
    },
    packer,
    { damaged: async () => [] } as unknown as PackVerifier,
  );
  for (const c of [a, b, b2, known]) await dedup.add(c.hash, c.data, c.release);
  await dedup.drain();
  t.same(
    packed.map((p) => p.hash.toString("hex")),
    [a.hash.toString("hex"), b.hash.toString("hex")],
    "the new chunks, once each",
  );
  t.equal(packed[0]!.release, a.release, "a packed chunk's release goes to the packer");
  t.same([a.released, b.released, b2.released, known.released], [0, 0, 1, 1], "the duplicate and the known chunk are released");
  await dedup.add(a.hash, Buffer.from(a.data), a.release);
  await dedup.drain();
  t.equal(a.released, 1, "a chunk this push packed already is released when it comes again");
});
