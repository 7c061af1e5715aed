// The checkout's hashing threads: the same digests as hashing in place, for many small
// buffers, large ones and running hashes fed in pieces; idle threads never keep the
// process alive (this file would time out).

import { createHash } from "node:crypto";
import t from "tap";
import { HashPool, OFFLOAD_BYTES } from "../../loader/checkout/hashpool.js";

const hex = (b: Buffer): string => createHash("sha256").update(b).digest("hex");
const filled = (n: number, seed: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));

t.test("hashAll and running hashes match node:crypto in place", async (t) => {
  const pool = new HashPool(2);
  const small = Array.from({ length: 300 }, (_, i) => filled(100 + i * 7, i));
  t.same(await pool.hashAll(small), small.map(hex), "small buffers (hashed in place)");
  const big = Array.from({ length: 40 }, (_, i) => filled(200_000 + i * 1000, i));
  t.ok(big.reduce((n, b) => n + b.length, 0) > OFFLOAD_BYTES);
  t.same(await pool.hashAll(big), big.map(hex), "large buffers (hashed in threads), in order");
  // slices of one larger buffer: only each slice's bytes are hashed
  const whole = filled(3_000_000, 9);
  const slices = [whole.subarray(0, 1_000_000), whole.subarray(1_000_000, 1_000_001), whole.subarray(1_000_001)];
  t.same(await pool.hashAll(slices), slices.map(hex), "slices");

  const running = pool.running(whole.length);
  for (const s of slices) running.update(s);
  t.equal(await running.digest(), hex(whole), "a running hash in a thread");
  const inPlace = pool.running(10);
  inPlace.update(Buffer.from("abc"));
  t.equal(await inPlace.digest(), hex(Buffer.from("abc")), "a small running hash");
  const [a, b] = [pool.running(OFFLOAD_BYTES), pool.running(OFFLOAD_BYTES)];
  a.update(slices[0]!);
  b.update(slices[2]!);
  a.update(slices[2]!);
  t.same(await Promise.all([a.digest(), b.digest()]), [hex(Buffer.concat([slices[0]!, slices[2]!])), hex(slices[2]!)], "two at once");
});

t.test("a pool of no threads hashes in place", async (t) => {
  const pool = new HashPool(0);
  const big = [filled(OFFLOAD_BYTES * 2, 3), filled(10, 4)];
  t.same(await pool.hashAll(big), big.map(hex));
  const r = pool.running(OFFLOAD_BYTES * 2);
  r.update(big[0]!);
  t.equal(await r.digest(), hex(big[0]!));
});
