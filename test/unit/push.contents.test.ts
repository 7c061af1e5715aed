// Contents are put while a push reads: never one whose chunks the database does not yet
// have (its dedup batch unchecked, or its pack not yet registered), every one once, in
// batches of bounded size.

import { createHash } from "node:crypto";
import t from "tap";
import { ContentSink } from "../../loader/push/contents.js";
import { ChunkDedup, type KnownChunk } from "../../loader/push/dedup.js";
import type { Packer } from "../../loader/push/packer.js";
import type { BlobRecord } from "../../loader/push/protocol.js";
import type { PackVerifier } from "../../loader/push/verify.js";
import { Prng } from "../helpers/prng.js";

const sha = (s: string) => createHash("sha256").update(s).digest();

t.test("a content is put only once its chunks are in the database, and each once", async (t) => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const rng = new Prng(seed);
    /** Chunks the database has (hex): some from the start, the rest once their pack is registered. */
    const db = new Set<string>();
    for (let k = 0; k < 40; k++) if (rng.int(0, 2) === 0) db.add(sha(`chunk ${k}`).toString("hex"));
    /** Chunks packed, in packs not yet registered. */
    let packs: Buffer[][] = [[]];
    const packer = {
      add: async (hash: Buffer) => {
        packs[packs.length - 1]!.push(hash);
        if (rng.int(0, 3) === 0) packs.push([]);
      },
    } as unknown as Packer;
    const verifier = { damaged: async () => [] } as unknown as PackVerifier;
    const dedup = new ChunkDedup(
      {
        knownChunks: async (hashes) =>
          hashes.filter((h) => db.has(h.toString("hex"))).map((h): KnownChunk => ({ chunk: h, pack: sha("p"), packSize: 1 })),
        markDamaged: async () => {},
      },
      packer,
      verifier,
      4,
    );
    const put: string[] = [];
    let early = 0;
    let oversized = 0;
    const files: { hash: Buffer; size: number }[] = [];
    const stored: number[] = [];
    let unput = 0;
    const sink = new ContentSink(
      dedup,
      (i) => files[i]!.hash,
      (i) => files[i]!.size,
      async (blobs: BlobRecord[]) => {
        if (blobs.length > 3) oversized++;
        for (const b of blobs) {
          for (let at = 0; at < b.chunks.length; at += 32) if (!db.has(b.chunks.toString("hex", at, at + 32))) early++;
          put.push(b.hash.toString("hex"));
        }
        await new Promise((r) => setImmediate(r));
      },
      (positions) => {
        for (const i of positions) {
          if (!put.includes(files[i]!.hash.toString("hex"))) unput++;
          stored.push(i);
        }
      },
      3,
    );
    /** Register some of the packs, in any order. */
    const register = (all: boolean): void => {
      const keep: Buffer[][] = [];
      for (const p of packs)
        if (all || rng.int(0, 1) === 0) {
          for (const h of p) db.add(h.toString("hex"));
          dedup.registered(p);
        } else keep.push(p);
      packs = keep.length > 0 ? keep : [[]];
    };
    const expected: string[] = [];
    for (let f = 0; f < 3000; f++) {
      const n = rng.int(0, 3);
      const chunks = Array.from({ length: n }, () => sha(`chunk ${rng.int(0, 60)}`));
      for (const c of chunks) await dedup.add(c, Buffer.alloc(1));
      const hash = n === 1 ? chunks[0]! : sha(`file ${f}`);
      files.push({ hash, size: n });
      sink.add(f, chunks);
      expected.push(hash.toString("hex"));
      if (rng.int(0, 4) === 0) register(false);
      await new Promise((r) => setImmediate(r));
    }
    await dedup.drain();
    register(true);
    await sink.finish();
    t.equal(early, 0, `seed ${seed}: no content put before its chunks`);
    t.same(put.sort(), expected.sort(), `seed ${seed}: every content put once`);
    t.equal(oversized, 0, `seed ${seed}: no batch larger than asked, the last ones too`);
    t.equal(unput, 0, `seed ${seed}: no position told stored before its content is put`);
    t.same(
      stored.sort((a, b) => a - b),
      files.map((_, i) => i),
      `seed ${seed}: every position told stored once`,
    );
  }
});
