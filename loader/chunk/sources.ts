/** A byte source for the chunk pipeline over any async iterable of bytes (files: see fsio.ts). */
import type { ByteSource } from "./types.js";

/** Copies pieces of an async iterable (a Readable, a generator of Buffers, ...) into the caller's buffer. */
export class IterableSource implements ByteSource {
  private readonly it: AsyncIterator<unknown>;
  private rest: Uint8Array | null = null;
  private done = false;

  constructor(source: AsyncIterable<unknown>) {
    this.it = source[Symbol.asyncIterator]();
  }

  async read(dst: Uint8Array): Promise<number> {
    let filled = 0;
    while (filled < dst.length) {
      if (this.rest === null) {
        if (this.done) break;
        const r = await this.it.next();
        if (r.done === true) {
          this.done = true;
          break;
        }
        const v: unknown = r.value;
        if (!(v instanceof Uint8Array)) {
          throw new TypeError(`chunkStream: the source yielded ${typeof v}, expected Buffer or Uint8Array`);
        }
        if (v.length === 0) continue;
        this.rest = v;
      }
      const n = Math.min(this.rest.length, dst.length - filled);
      dst.set(this.rest.subarray(0, n), filled);
      filled += n;
      this.rest = n === this.rest.length ? null : this.rest.subarray(n);
    }
    return filled;
  }

  async close(): Promise<void> {
    // Ends a Readable (destroys it) or runs a generator's finally blocks.
    if (!this.done) {
      this.done = true;
      await this.it.return?.();
    }
  }
}
