// Checkout's reused read buffers: a lease hands out buffers of the asked length, a
// released lease's buffers serve the next one, nothing is reused before its release,
// and the idle buffers kept stay within the pool's bound.

import t from "tap";
import { BufferPool } from "../../loader/checkout/bufferpool.js";

const MiB = 1024 * 1024;

t.test("buffers are reused only after their lease is released", async (t) => {
  const pool = new BufferPool(64 * MiB);
  const first = pool.lease();
  const a = first.alloc(16 * MiB + 5);
  const b = first.alloc(15 * MiB);
  t.equal(a.length, 16 * MiB + 5, "exactly the length asked");
  t.equal(b.length, 15 * MiB);
  const second = pool.lease();
  const c = second.alloc(16 * MiB);
  t.not(c.buffer, a.buffer, "a leased buffer is not handed out again");
  t.not(c.buffer, b.buffer);
  first.release();
  const third = pool.lease();
  const d = third.alloc(16 * MiB - 100); // same 4 MiB step as b
  const e = third.alloc(17 * MiB); // same step as a
  t.equal(d.buffer, b.buffer, "a released buffer of the same size class is reused");
  t.equal(e.buffer, a.buffer);
  t.equal(d.length, 16 * MiB - 100);
  const small = third.alloc(1000);
  t.equal(small.length, 1000, "small reads get a buffer too");
});

t.test("idle buffers are kept up to the bound only", async (t) => {
  const pool = new BufferPool(8 * MiB);
  const lease = pool.lease();
  const kept = lease.alloc(8 * MiB);
  const dropped = lease.alloc(8 * MiB);
  lease.release();
  const next = pool.lease();
  const x = next.alloc(8 * MiB);
  const y = next.alloc(8 * MiB);
  t.equal(x.buffer, kept.buffer, "the first one back is kept");
  t.not(y.buffer, dropped.buffer, "the one past the bound was let go");
});
