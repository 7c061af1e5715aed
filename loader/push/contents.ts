// The file contents a push reads, put to the database while it reads rather than listed
// until the commit. A content may be put once every chunk it names is in the database:
// its dedup batch checked, and the packs of its new chunks registered (dedup.ts). Contents
// wait in read order, as walk positions (a few bytes each, however far the database falls
// behind); those ready go in batches, one batch in flight beside the reading.

import type { ChunkDedup } from "./dedup.js";
import type { BlobRecord } from "./protocol.js";

/** Contents per batch put while reading. */
const SEND_BATCH = 20_000;

export class ContentSink {
  /** Walk positions waiting, at [head, tail), and the dedup mark each waits for. */
  private positions = new Int32Array(1024);
  private marks = new Float64Array(1024);
  private head = 0;
  private tail = 0;
  /** positions[head, ready) are in the database's reach (a chunk once registered stays so). */
  private ready = 0;
  /** Chunk lists of contents of other than one chunk (a one-chunk content's chunk is itself). */
  private readonly chunkLists = new Map<number, Buffer>();
  private sending: Promise<void> | undefined;
  private failure: unknown;

  constructor(
    private readonly dedup: ChunkDedup,
    /** The content hash and size of the file at a walk position. */
    private readonly hashOf: (i: number) => Buffer,
    private readonly sizeOf: (i: number) => number,
    /** Puts contents the database may lack (protocol.putBlobs). */
    private readonly put: (blobs: BlobRecord[]) => Promise<void>,
    /** Told the walk positions of each batch once it is put. */
    private readonly onStored: (positions: Int32Array) => void = () => {},
    private readonly batch = SEND_BATCH,
  ) {}

  /** File `i` was read (its hash is known): its contents are made of these chunks. */
  add(i: number, chunkHashes: Buffer[]): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.tail === this.positions.length) this.makeRoom();
    this.positions[this.tail] = i;
    this.marks[this.tail++] = this.dedup.added;
    if (chunkHashes.length !== 1) this.chunkLists.set(i, Buffer.concat(chunkHashes));
    if (this.sending === undefined && this.tail - this.head >= this.batch) this.sendReady();
  }

  /** Put every content left; call once every chunk added is registered (packer flushed). */
  async finish(): Promise<void> {
    await this.sending;
    if (this.failure !== undefined) throw this.failure;
    // Batch by batch: the records of a long backlog are not made all at once. Quarter
    // batches: the trees these complete are put while the next contents go.
    const step = Math.max(1, Math.ceil(this.batch / 4));
    while (this.head < this.tail) await this.putBatch(Math.min(this.tail, this.head + step));
  }

  private blobOf(i: number): BlobRecord {
    const hash = this.hashOf(i);
    return { hash, size: this.sizeOf(i), chunks: this.chunkLists.get(i) ?? hash };
  }

  private sendReady(): void {
    while (this.ready < this.tail) {
      const i = this.positions[this.ready]!;
      if (!this.dedup.inDatabase(this.chunkLists.get(i) ?? this.hashOf(i), this.marks[this.ready]!)) break;
      this.ready++;
    }
    if (this.ready - this.head < this.batch) return;
    this.sending = this.putBatch(this.head + this.batch).then(
      () => {
        this.sending = undefined;
      },
      (e: unknown) => {
        this.failure ??= e;
        this.sending = undefined;
      },
    );
  }

  /** Puts the contents waiting up to `end`, then tells their positions. */
  private async putBatch(end: number): Promise<void> {
    const positions = this.positions.slice(this.head, end);
    await this.put(this.take(end));
    this.onStored(positions);
  }

  /** The contents waiting up to `end`, no longer waiting. */
  private take(end: number): BlobRecord[] {
    const blobs: BlobRecord[] = [];
    for (let k = this.head; k < end; k++) {
      const i = this.positions[k]!;
      blobs.push(this.blobOf(i));
      this.chunkLists.delete(i);
    }
    this.head = end;
    this.ready = Math.max(this.ready, end);
    return blobs;
  }

  /** Moves the waiting positions to the front, or to larger columns when more than half full. */
  private makeRoom(): void {
    const n = this.tail - this.head;
    const size = n * 2 > this.positions.length ? this.positions.length * 2 : this.positions.length;
    const positions = new Int32Array(size);
    const marks = new Float64Array(size);
    positions.set(this.positions.subarray(this.head, this.tail));
    marks.set(this.marks.subarray(this.head, this.tail));
    this.positions = positions;
    this.marks = marks;
    this.ready -= this.head;
    this.tail = n;
    this.head = 0;
  }
}
