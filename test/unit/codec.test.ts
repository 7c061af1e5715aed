// loader/codec.ts: which chunks are worth compressing, and decoding that refuses what
// does not decode to the recorded size.

import { randomBytes } from "node:crypto";
import { Encoder } from "@toondepauw/node-zstd";
import t from "tap";
import { compressionLevel, decodeChunk, encodeChunk, frameBound, looksCompressible, RAW, ZSTD } from "../../loader/codec.js";

const text = Buffer.from(
  "id,label,value\n".concat(Array.from({ length: 2000 }, (_, i) => `${i},cat-${i % 7},${(i * 0.37).toFixed(3)}\n`).join("")),
);

t.test("the sample test tells text from random bytes", async (t) => {
  t.ok(looksCompressible(text));
  t.ok(looksCompressible(text.subarray(0, 500)), "a small chunk is looked at whole");
  for (const n of [600, 3000, 100_000, 1_000_000]) t.notOk(looksCompressible(randomBytes(n)), `${n} random bytes`);
});

t.test("encode keeps zstd only when it saves 5%; decode round-trips", async (t) => {
  const z = await encodeChunk(text, 3);
  t.equal(z.codec, ZSTD);
  t.ok(z.bytes.length < text.length / 3);
  t.ok((await decodeChunk(z.bytes, ZSTD, text.length))!.equals(text));
  const random = randomBytes(50_000);
  t.match(await encodeChunk(random, 3), { codec: RAW, bytes: random });
  t.match(await encodeChunk(text, 0), { codec: RAW, bytes: text }, "level 0: off");
  t.match(await encodeChunk(Buffer.from("tiny"), 3), { codec: RAW }, "too small to pay");
  // Compressible at a glance (the sampled slices are zeros) but saving about 2%: kept raw.
  const lowSaving = randomBytes(100_000);
  const step = Math.floor((lowSaving.length - 512) / 3);
  for (let k = 0; k < 4; k++) lowSaving.fill(0, k * step, k * step + 512);
  t.ok(looksCompressible(lowSaving));
  t.match(await encodeChunk(lowSaving, 3), { codec: RAW });
});

t.test("decode refuses garbage, a wrong size and unknown codecs", async (t) => {
  const frame = new Encoder(3).encodeSync(text);
  t.equal(await decodeChunk(frame, ZSTD, text.length - 1), undefined, "the recorded size is checked");
  const bad = Buffer.from(frame);
  bad[bad.length >> 1]! ^= 0xff;
  const got = await decodeChunk(bad, ZSTD, text.length);
  t.ok(got === undefined || !got.equals(text), "a flipped byte never decodes to the original");
  t.equal(await decodeChunk(randomBytes(100), ZSTD, 100), undefined, "not a frame");
  t.equal(await decodeChunk(text, 7, text.length), undefined, "unknown codec");
  t.equal(await decodeChunk(text, RAW, text.length + 1), undefined, "raw of the wrong length");
});

/** A zstd frame without a content size whose RLE blocks each regenerate `blockSize` bytes of 'A'. */
function rleFrame(blocks: number, blockSize: number): Buffer {
  const header = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38]); // no content size, 128 KiB window
  const body = Buffer.alloc(4 * blocks);
  for (let i = 0; i < blocks; i++) {
    body.writeUIntLE((i === blocks - 1 ? 1 : 0) | (1 << 1) | (blockSize << 3), 4 * i, 3);
    body[4 * i + 3] = 0x41;
  }
  return Buffer.concat([header, body]);
}

t.test("decode refuses a frame that could regenerate far more than the chunk", async (t) => {
  const small = rleFrame(4, 1000);
  t.equal(frameBound(small), 4000);
  t.ok((await decodeChunk(small, ZSTD, 4000))!.equals(Buffer.alloc(4000, 0x41)), "a well-formed RLE frame decodes");
  // 40 KB of headers that would decode to 5 GiB: refused from the headers, nothing allocated.
  const bomb = rleFrame(40_000, 128 * 1024);
  t.equal(frameBound(bomb), 40_000 * 128 * 1024);
  const before = process.memoryUsage().rss;
  t.equal(await decodeChunk(bomb, ZSTD, 1_000_000), undefined);
  t.ok(process.memoryUsage().rss - before < 64 * 1024 * 1024, "no large output was made");
  const frame = new Encoder(3).encodeSync(text);
  t.equal(frameBound(Buffer.concat([frame, frame])), undefined, "a second frame");
  t.equal(frameBound(Buffer.concat([frame, Buffer.from([0])])), undefined, "bytes after the frame");
  t.equal(frameBound(frame.subarray(0, frame.length - 1)), undefined, "a cut frame");
  const withDictionary = Buffer.from(frame);
  withDictionary[4]! |= 1;
  t.equal(frameBound(withDictionary), undefined, "a dictionary id");
});

t.test("frames zstd makes at every level pass the vetting", async (t) => {
  // A table of about 1 MiB, and repetitive text.
  const table = Buffer.from(Array.from({ length: 64_000 }, (_, i) => `${i},${(i * 7919) % 1000},lab-${i % 13}\n`).join(""));
  for (const data of [table, text])
    for (const level of [1, 3, 9, 19]) {
      const frame = new Encoder(level).encodeSync(data);
      const got = await decodeChunk(frame, ZSTD, data.length);
      t.ok(got?.equals(data), `${data.length} bytes at level ${level}`);
    }
});

t.test("STRATA_COMPRESSION", async (t) => {
  t.equal(compressionLevel({}), 3);
  t.equal(compressionLevel({ STRATA_COMPRESSION: "on" }), 3);
  t.equal(compressionLevel({ STRATA_COMPRESSION: "OFF" }), 0);
  t.equal(compressionLevel({ STRATA_COMPRESSION: "9" }), 9);
  for (const v of ["0", "20", "fast", "1.5"])
    t.throws(() => compressionLevel({ STRATA_COMPRESSION: v }), /STRATA_COMPRESSION must be on, off or a zstd level/, v);
});
