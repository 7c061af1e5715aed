/**
 * Read buffers in SharedArrayBuffer, so the hashing workers see the bytes the
 * main thread read without a copy. Blocks are reference-counted (one ref per
 * user: the whole-file hash and each chunk touching the block) and recycled:
 * fresh SharedArrayBuffers are zero-filled and page-faulted on first use,
 * which costs more than reusing a warm one.
 */

export interface Block {
  readonly id: number;
  readonly sab: SharedArrayBuffer;
  readonly bytes: Uint8Array;
  /** Users still reading this block. */
  refs: number;
  /** Chunks handed out as views into this block (ChunkOptions.recycle), not yet released. */
  leases: number;
  /** Called once when refs drops to zero, just before the block is recycled. */
  onFree: (() => void) | null;
}

export class BlockPool {
  readonly blockSize: number;
  /** Free blocks kept for reuse; more are allocated on demand and dropped on release. */
  readonly keep: number;
  private readonly free: Block[] = [];
  private readonly byId = new Map<number, Block>();
  private nextId = 1;

  constructor(blockSize: number, keep: number) {
    this.blockSize = blockSize;
    this.keep = keep;
  }

  /** A block with one ref held by the caller. Never waits: callers bound how many they hold. */
  acquire(onFree: () => void): Block {
    let b = this.free.pop();
    if (b === undefined) {
      const sab = new SharedArrayBuffer(this.blockSize);
      b = { id: this.nextId++, sab, bytes: new Uint8Array(sab), refs: 0, leases: 0, onFree: null };
    }
    b.refs = 1;
    b.leases = 0;
    b.onFree = onFree;
    this.byId.set(b.id, b);
    return b;
  }

  /** The live block with this id (ids travel through worker messages). */
  get(id: number): Block {
    const b = this.byId.get(id);
    if (b === undefined) throw new Error(`chunk pipeline: unknown block ${id}`);
    return b;
  }

  ref(b: Block): void {
    b.refs++;
  }

  /** Drops a user; at none, onFree runs (the reader may read more) and the block is recycled unless leased. */
  unref(b: Block): void {
    if (b.refs <= 0) throw new Error(`chunk pipeline: block ${b.id} released twice`);
    if (--b.refs > 0) return;
    const cb = b.onFree;
    b.onFree = null;
    this.byId.delete(b.id);
    if (b.leases === 0) this.recycle(b);
    cb?.();
  }

  /** A chunk handed out as a view into `b`: the block is not reused until unlease. Take it before the last unref. */
  lease(b: Block): void {
    b.leases++;
  }

  unlease(b: Block): void {
    if (b.leases <= 0) throw new Error(`chunk pipeline: block ${b.id} lease released twice`);
    if (--b.leases === 0 && b.refs === 0) this.recycle(b);
  }

  private recycle(b: Block): void {
    if (this.free.length < this.keep) this.free.push(b);
  }

  /** Blocks allocated and currently in use. */
  get inUse(): number {
    return this.byId.size;
  }
}
