// Recycled chunk memory (loader/chunk/slabs.ts, ChunkOptions.recycle): chunks are carved
// in order from slabs, a slab is reused only once every chunk in it was released, and a
// chunk's bytes stay put until it is released.

import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { chunkLengths } from "../../loader/chunk/fastcdc.js";
import type { ChunkParams } from "../../loader/chunk/params.js";
import { ChunkPipeline } from "../../loader/chunk/pipeline.js";
import { SlabPool } from "../../loader/chunk/slabs.js";
import { chunkFile } from "../../loader/chunk/stream.js";
import type { Chunk } from "../../loader/chunk/types.js";
import { pseudoRandomBytes } from "../helpers/prng.js";

const SMALL: ChunkParams = { minSize: 4096, avgSize: 16384, maxSize: 65536 };
const sha = (b: Uint8Array): Buffer => createHash("sha256").update(b).digest();

const dir = await mkdtemp(join(tmpdir(), "strata-slabs-"));
t.teardown(() => rm(dir, { recursive: true, force: true }));

t.test("SlabPool: carves in order, reuses a slab once all of it is released, a release counts once", async (t) => {
  const pool = new SlabPool(100, 2);
  const a = pool.take(40);
  const b = pool.take(40);
  t.equal(a.slab, b.slab, "two chunks that fit share a slab");
  t.same([a.offset, b.offset], [0, 40]);
  const c = pool.take(40);
  t.not(c.slab, a.slab, "a chunk that does not fit starts the next slab");
  a.release();
  a.release();
  t.equal(pool.freeCount, 0, "a second release of the same chunk does not free its neighbour's slab");
  b.release();
  t.equal(pool.freeCount, 1, "free once every chunk in it is released and it is no longer carved");
  const big = pool.take(500);
  t.equal(big.slab.sab.byteLength, 500, "a chunk larger than a slab gets room of its own");
  big.release();
  t.equal(pool.freeCount, 1, "and that room is not kept");
  const d = pool.take(70);
  t.equal(d.slab, a.slab, "the freed slab is reused");
  t.equal(d.offset, 0);
  c.release();
  d.release();
});

// Blocks of 4 KiB: every chunk spans blocks and is copied into a slab. Blocks of 256 KiB:
// most chunks lie within one and are handed out as views into it, the block leased.
for (const blockSize of [4096, 256 * 1024])
  t.test(`recycle, ${blockSize}-byte blocks: the same chunks and hashes; bytes stay put until released; memory is reused`, async (t) => {
    const pipeline = new ChunkPipeline({ blockSize, slabSize: 256 * 1024 });
    t.teardown(() => pipeline.close());
    const data = pseudoRandomBytes(6 << 20, 21);
    const path = join(dir, `six-${blockSize}`);
    await writeFile(path, data);
    const lengths = chunkLengths(data, SMALL);

    // Held, never released: nothing is reused, so every chunk is intact at the end.
    const held: Chunk[] = [];
    for await (const ev of chunkFile(path, SMALL, { pipeline, recycle: true })) if (ev.kind === "chunk") held.push(ev);
    t.same(
      held.map((c) => c.length),
      lengths,
      "boundaries",
    );
    t.ok(
      held.every((c) => typeof c.release === "function"),
      "every chunk has a release",
    );
    let off = 0;
    let bad = 0;
    for (const c of held) {
      const want = data.subarray(off, off + c.length);
      if (!c.data.equals(want) || !c.sha256.equals(sha(want))) bad++;
      off += c.length;
    }
    t.equal(bad, 0, "bytes and hashes of chunks held to the end");
    for (const c of held) c.release!();

    // Released as they come: each right when it arrives, and the slabs cycle.
    const buffers = new Set<ArrayBufferLike>();
    off = 0;
    bad = 0;
    let count = 0;
    for await (const ev of chunkFile(path, SMALL, { pipeline, recycle: true })) {
      if (ev.kind !== "chunk") {
        t.ok(ev.sha256.equals(sha(data)), "file hash");
        continue;
      }
      const want = data.subarray(off, off + ev.length);
      if (!ev.data.equals(want) || !ev.sha256.equals(sha(want))) bad++;
      off += ev.length;
      count++;
      buffers.add(ev.data.buffer);
      ev.release!();
    }
    t.equal(count, lengths.length);
    t.equal(bad, 0, "bytes and hashes of chunks released as they come");
    t.ok(buffers.size <= 24, `a few slabs and blocks serve 6 MiB (${buffers.size})`);

    // Stopping early releases what was carved and not handed out; the pipeline goes on.
    let seen = 0;
    for await (const ev of chunkFile(path, SMALL, { pipeline, recycle: true })) {
      if (ev.kind === "chunk") {
        ev.release!();
        if (++seen === 5) break;
      }
    }
    const again: Chunk[] = [];
    for await (const ev of chunkFile(path, SMALL, { pipeline, recycle: true })) if (ev.kind === "chunk") again.push(ev);
    t.ok(
      again.every((c, i) => c.sha256.equals(held[i]!.sha256) && c.data.equals(data.subarray(c.offset, c.offset + c.length))),
      "a run after an early stop",
    );
    t.equal(pipeline.pool.inUse, 0, "every read block released");
  });
