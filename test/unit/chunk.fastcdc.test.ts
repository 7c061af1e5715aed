import t, { type Test } from "tap";
import { createHash } from "node:crypto";
import { FastCdc, chunkLengths } from "../../loader/chunk/fastcdc.js";
import { GEAR } from "../../loader/chunk/gear.js";
import { DEFAULT_CHUNK_PARAMS, resolveParams, type ChunkParams } from "../../loader/chunk/params.js";
import { Prng, pseudoRandomBytes } from "../helpers/prng.js";

const SMALL: ChunkParams = { minSize: 4096, avgSize: 16384, maxSize: 65536 };

/** The algorithm as the module comment states it, byte by byte, with no speed tricks. */
function reference(data: Uint8Array, params: Partial<ChunkParams>): number[] {
  const p = resolveParams(params);
  const out: number[] = [];
  for (let start = 0; start < data.length; ) {
    let len = Math.min(p.maxSize, data.length - start);
    let h = 0;
    for (let q = p.minSize; q < len; q++) {
      h = ((h << 1) + GEAR[data[start + q]!]!) | 0;
      if ((h & (q < p.avgSize ? p.maskS : p.maskL)) === 0) {
        len = q + 1;
        break;
      }
    }
    out.push(len);
    start += len;
  }
  return out;
}

function sha(s: string | Uint8Array): string {
  return createHash("sha256").update(s).digest("hex");
}

function streamed(t: Test, data: Uint8Array, params: Partial<ChunkParams>, pieces: number[]): number[] {
  const cdc = new FastCdc(params);
  const cuts: number[] = [];
  let at = 0;
  for (const size of pieces) {
    for (const c of cdc.push(data.subarray(at, at + size))) cuts.push(at + c);
    at += size;
  }
  t.equal(at, data.length, "pieces cover the data");
  const lengths: number[] = [];
  let prev = 0;
  for (const c of cuts) {
    lengths.push(c - prev);
    prev = c;
  }
  const last = cdc.finish();
  if (last > 0) lengths.push(last);
  t.equal(prev + last, data.length);
  return lengths;
}

t.test("the gear table follows its documented rule and is pinned", async (t) => {
  t.equal(GEAR.length, 256);
  for (const i of [0, 1, 77, 255]) {
    const d = createHash("sha256").update(`strata/fastcdc/gear/v1/${i}`).digest();
    t.equal(GEAR[i], d.readInt32BE(0), `GEAR[${i}]`);
  }
  const bytes = Buffer.alloc(1024);
  for (let i = 0; i < 256; i++) bytes.writeInt32BE(GEAR[i]!, i * 4);
  t.equal(sha(bytes), "c0e6c0ffc646a21816e7515a3e572b130b217a6059c701ce647b1973d925ef02");
});

t.test("the test PRNG is pinned", async (t) => {
  const d = pseudoRandomBytes(4 << 20, 42);
  t.equal(d.subarray(0, 16).toString("hex"), "2cea053884d95cebcbaa27133d44bac5");
  t.equal(sha(d), "f5ae29c9597c864380afcac5437990017324a2c418b297a96c1f7248b934e0a4");
  t.same(pseudoRandomBytes(1000, 42), d.subarray(0, 1000), "same seed, same bytes");
  t.not(pseudoRandomBytes(16, 43).toString("hex"), d.subarray(0, 16).toString("hex"), "another seed, other bytes");
});

t.test("golden vectors: small parameters", async (t) => {
  const lengths = chunkLengths(pseudoRandomBytes(4 << 20, 42), SMALL);
  t.equal(lengths.length, 227);
  t.same(lengths.slice(0, 12), [17665, 23405, 16652, 17749, 27115, 19103, 10899, 22308, 19496, 23096, 17432, 12564]);
  t.equal(sha(lengths.join(",")), "520e251cd3cc70418b6549a2bbac7c9434e9cb804a6979e10b7be72cfafec2d2");
});

t.test("golden vectors: default parameters", async (t) => {
  t.same(DEFAULT_CHUNK_PARAMS, { minSize: 256 * 1024, avgSize: 1024 * 1024, maxSize: 4 * 1024 * 1024 });
  const lengths = chunkLengths(pseudoRandomBytes(24 << 20, 7));
  t.same(
    lengths,
    [
      1288271, 1157232, 1280905, 1146804, 1072290, 1101021, 790668, 1699187, 1110755, 1611854, 1769953, 389014, 1305255, 1217862, 1376009,
      1476986, 1346763, 1338908, 1124265, 1196788, 365034,
    ],
  );
});

t.test("the fast scanner matches the byte-by-byte reference", async (t) => {
  const data = pseudoRandomBytes(6 << 20, 3);
  const cases: Partial<ChunkParams>[] = [
    SMALL,
    { minSize: 64, avgSize: 256, maxSize: 1024 },
    { minSize: 1000, avgSize: 5000, maxSize: 9999 }, // avgSize not a power of two
    { minSize: 2048, avgSize: 8192, maxSize: 8193 },
    {},
  ];
  for (const params of cases) {
    // Offsets 0..3 put the word reads at every alignment.
    for (const skew of [0, 1, 2, 3]) {
      const view = data.subarray(skew);
      t.same(chunkLengths(view, params), reference(view, params), `${JSON.stringify(params)} skew ${skew}`);
    }
  }
});

t.test("chunks respect min and max, and average near avgSize", async (t) => {
  for (const params of [SMALL, DEFAULT_CHUNK_PARAMS]) {
    const size = params === SMALL ? 16 << 20 : 64 << 20;
    const lengths = chunkLengths(pseudoRandomBytes(size, 11), params);
    const body = lengths.slice(0, -1);
    t.ok(
      body.every((n) => n >= params.minSize && n <= params.maxSize),
      "all but the last within [min, max]",
    );
    t.ok(lengths.at(-1)! <= params.maxSize && lengths.at(-1)! > 0);
    t.equal(
      lengths.reduce((a, b) => a + b, 0),
      size,
    );
    const mean = size / lengths.length;
    // Normalized chunking puts the mean a little above avgSize (minSize is skipped, then the hard mask).
    t.ok(mean > params.avgSize * 0.9 && mean < params.avgSize * 1.4, `mean ${mean.toFixed(0)} near ${params.avgSize}`);
    // Normalization narrows the spread: few chunks hit maxSize.
    t.ok(body.filter((n) => n === params.maxSize).length <= body.length * 0.02, "few forced cuts");
  }
});

t.test("streaming in random pieces gives the same boundaries as one buffer", async (t) => {
  const data = pseudoRandomBytes(5 << 20, 5);
  for (const params of [SMALL, {}]) {
    const whole = chunkLengths(data, params);
    for (const seed of [1, 2, 3]) {
      const rng = new Prng(seed);
      const pieces: number[] = [];
      for (let left = data.length; left > 0; ) {
        const kind = rng.int(0, 9);
        const n = Math.min(left, kind === 0 ? 0 : kind === 1 ? 1 : kind < 5 ? rng.int(2, 300) : rng.int(301, 200_000));
        pieces.push(n);
        left -= n;
      }
      t.same(streamed(t, data, params, pieces), whole, `seed ${seed}`);
    }
    t.same(
      streamed(
        t,
        data,
        params,
        Array.from({ length: 5 << 10 }, () => 1024),
      ),
      whole,
      "1 KiB pieces",
    );
  }
});

t.test("an insertion changes only the chunks around it", async (t) => {
  const base = pseudoRandomBytes(32 << 20, 21);
  const mid = 16 << 20;
  const edited = Buffer.concat([base.subarray(0, mid), pseudoRandomBytes(5000, 99), base.subarray(mid)]);
  for (const params of [SMALL, {}]) {
    const hashes = (data: Buffer): string[] => {
      const out: string[] = [];
      let at = 0;
      for (const n of chunkLengths(data, params)) {
        out.push(sha(data.subarray(at, at + n)));
        at += n;
      }
      return out;
    };
    const a = hashes(base);
    const b = hashes(edited);
    const inA = new Set(a);
    const onlyA = a.filter((h) => !new Set(b).has(h)).length;
    const onlyB = b.filter((h) => !inA.has(h)).length;
    t.ok(a.length > 20, `${a.length} chunks`);
    t.ok(onlyA <= 3 && onlyB <= 3, `changed chunks: ${onlyA} before, ${onlyB} after (of ${a.length})`);
  }
});

t.test("sizes at the edges", async (t) => {
  const p = SMALL;
  const zeros = (n: number): Uint8Array => new Uint8Array(n);
  // Zeros never match a mask (checked against the reference), so only maxSize cuts them.
  t.same(reference(zeros(3 * p.maxSize), p), [p.maxSize, p.maxSize, p.maxSize]);
  t.same(chunkLengths(zeros(0), p), []);
  t.same(chunkLengths(zeros(1), p), [1]);
  t.same(chunkLengths(zeros(p.minSize), p), [p.minSize]);
  t.same(chunkLengths(zeros(p.maxSize), p), [p.maxSize]);
  t.same(chunkLengths(zeros(p.maxSize + 1), p), [p.maxSize, 1]);
  const rnd = pseudoRandomBytes(p.minSize, 1);
  t.same(chunkLengths(rnd, p), [p.minSize], "no cut inside the first minSize bytes");
});

t.test("pending and finish", async (t) => {
  const cdc = new FastCdc(SMALL);
  t.same(cdc.push(new Uint8Array(100)), []);
  t.equal(cdc.pending, 100);
  t.same(cdc.push(new Uint8Array(0)), []);
  t.equal(cdc.finish(), 100);
  t.equal(cdc.pending, 0);
  t.equal(cdc.finish(), 0, "finish resets");
});

t.test("bad parameters throw a RangeError naming the parameter", async (t) => {
  const bad: [Partial<ChunkParams>, string][] = [
    [{ minSize: 32 }, "minSize"],
    [{ minSize: 1.5 }, "minSize"],
    [{ minSize: Number.NaN }, "minSize"],
    [{ minSize: "4096" as unknown as number }, "minSize"],
    [{ avgSize: 256 * 1024 }, "avgSize"],
    [{ minSize: 4096, avgSize: 1000, maxSize: 65536 }, "avgSize"],
    [{ avgSize: -1 }, "avgSize"],
    [{ maxSize: 1024 * 1024 }, "maxSize"],
    [{ maxSize: 2 ** 31 }, "maxSize"],
    [{ maxSize: Infinity }, "maxSize"],
  ];
  for (const [params, name] of bad) {
    t.throws(() => new FastCdc(params), { name: "RangeError", message: new RegExp(`\\b${name}\\b`) }, JSON.stringify(params));
  }
  t.doesNotThrow(() => resolveParams({ minSize: 64, avgSize: 65, maxSize: 66 }));
  const r = resolveParams();
  t.equal(r.maskS >>> 0, 0xfffffc00, "default maskS: 22 top bits");
  t.equal(r.maskL >>> 0, 0xffffc000, "default maskL: 18 top bits");
});
