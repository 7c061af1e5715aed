/**
 * A tiny deterministic pseudo-random byte generator for tests and benchmarks
 * (not for anything secret): a Weyl sequence (state += 0x9e3779b9) passed
 * through the MurmurHash3 32-bit finalizer, each output written as 4 bytes
 * little-endian. The same seed gives the same bytes on every machine.
 */

export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed | 0;
  }

  /** Next 32-bit value, unsigned. */
  next(): number {
    this.state = (this.state + 0x9e3779b9) | 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** An integer in [lo, hi], inclusive; hi - lo must be below 2^32. */
  int(lo: number, hi: number): number {
    return lo + (this.next() % (hi - lo + 1));
  }

  /** Fills buf with the next bytes of the sequence and returns it. */
  fill<T extends Uint8Array>(buf: T): T {
    const n = buf.length;
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const v = this.next();
      buf[i] = v & 255;
      buf[i + 1] = (v >>> 8) & 255;
      buf[i + 2] = (v >>> 16) & 255;
      buf[i + 3] = v >>> 24;
    }
    if (i < n) {
      let v = this.next();
      for (; i < n; i++, v >>>= 8) buf[i] = v & 255;
    }
    return buf;
  }
}

/** `size` pseudo-random bytes from `seed`. */
export function pseudoRandomBytes(size: number, seed: number): Buffer {
  return new Prng(seed).fill(Buffer.allocUnsafe(size));
}
