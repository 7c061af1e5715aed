/** Byte sources for the chunk pipeline: an open file, or any async iterable of bytes. */
import type { FileHandle } from 'node:fs/promises';
import type { ByteSource } from './types.js';

/** Reads a file straight into the caller's (shared) buffer: no intermediate copy. */
export class FileSource implements ByteSource {
  private pos = 0;

  /** positional: use pread from offset 0 (regular files); otherwise read the current position (pipes). */
  constructor(private readonly fh: FileHandle, private readonly positional: boolean) {}

  async read(dst: Uint8Array): Promise<number> {
    let filled = 0;
    // Pipes return small pieces: fill the block so the workers get few, large messages.
    while (filled < dst.length) {
      const { bytesRead } = await this.fh.read(dst, filled, dst.length - filled, this.positional ? this.pos : null);
      if (bytesRead === 0) break;
      filled += bytesRead;
      this.pos += bytesRead;
      if (this.positional) break; // a regular file reads short only at its end
    }
    return filled;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

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
