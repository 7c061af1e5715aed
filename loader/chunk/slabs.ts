/**
 * Recycled memory for chunk bytes (ChunkOptions.recycle). Giving every chunk an
 * ArrayBuffer of its own costs more than the copy into it: fresh pages fault in,
 * and each buffer freed is external memory the main thread's GC must find (a 2 GiB
 * push ran ~75 full GCs and ~2 CPU-s of GC and freeing). Instead chunks are carved
 * in order from SharedArrayBuffer slabs that the chunk worker can write into; a
 * slab is reused once every chunk in it was released and it is no longer the one
 * being carved. Chunks are released roughly in the order they were carved (as
 * their pack is stored), so a few slabs cycle.
 */

export interface Slab {
  readonly sab: SharedArrayBuffer;
  /** Bytes carved so far. */
  used: number;
  /** Chunks not yet released, plus one while it is the slab being carved. */
  refs: number;
}

export class SlabPool {
  private current: Slab | null = null;
  private readonly free: Slab[] = [];

  /**
   * @param slabSize bytes per slab (a chunk larger than this gets a slab of its own, not reused)
   * @param keep free slabs kept for reuse; beyond that a released slab is left to the GC
   */
  constructor(
    readonly slabSize: number,
    readonly keep: number,
  ) {}

  /** Room for `length` bytes: the slab and offset, and a release that may be called any number of times. */
  take(length: number): { slab: Slab; offset: number; release: () => void } {
    let slab: Slab;
    let offset = 0;
    if (length > this.slabSize) {
      slab = { sab: new SharedArrayBuffer(length), used: length, refs: 1 };
    } else {
      if (this.current === null || this.current.used + length > this.slabSize) {
        if (this.current !== null) this.unref(this.current);
        this.current = this.free.pop() ?? { sab: new SharedArrayBuffer(this.slabSize), used: 0, refs: 0 };
        this.current.used = 0;
        this.current.refs = 1;
      }
      slab = this.current;
      offset = slab.used;
      slab.used += length;
      slab.refs++;
    }
    let done = false;
    const release = (): void => {
      if (done) return;
      done = true;
      this.unref(slab);
    };
    return { slab, offset, release };
  }

  private unref(slab: Slab): void {
    if (--slab.refs > 0) return;
    if (slab.sab.byteLength === this.slabSize && this.free.length < this.keep) this.free.push(slab);
  }

  /** Slabs kept free (for tests). */
  get freeCount(): number {
    return this.free.length;
  }
}
