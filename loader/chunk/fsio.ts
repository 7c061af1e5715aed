/**
 * File access for chunking, on plain file descriptors: fs's callback API
 * (promisified) costs about half what FileHandle's promises do per call,
 * which is most of the cost of a small file.
 */
import { close, fstat, open, read } from "node:fs";
import { promisify } from "node:util";
import type { ResolvedParams } from "./params.js";
import { singleChunkEvents } from "./single.js";
import type { ByteSource, ChunkEvent } from "./types.js";

const openP = promisify(open);
const fstatP = promisify(fstat);
const readP = promisify(read);
const closeP = promisify(close);

async function readAt(fd: number, dst: Uint8Array, off: number, len: number, pos: number | null): Promise<number> {
  const { bytesRead } = await readP(fd, dst, off, len, pos);
  return bytesRead;
}

/** Reads a file straight into the caller's (shared) buffer: no intermediate copy. */
export class FdSource implements ByteSource {
  private pos = 0;
  private closed = false;

  /** positional: pread from offset 0 (regular files); otherwise read at the current position (pipes). */
  constructor(
    private readonly fd: number,
    private readonly positional: boolean,
  ) {}

  async read(dst: Uint8Array): Promise<number> {
    let filled = 0;
    // Pipes return small pieces: fill the block so the workers get few, large messages.
    while (filled < dst.length) {
      const n = await readAt(this.fd, dst, filled, dst.length - filled, this.positional ? this.pos : null);
      if (n === 0) break;
      filled += n;
      this.pos += n;
      if (this.positional) break; // a regular file reads short only at its end
    }
    return filled;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await closeP(this.fd);
  }
}

/**
 * Reads a file believed to hold `size` bytes; null if it turns out longer (it
 * grew since fstat), in which case the caller takes the general path.
 */
async function readSmall(fd: number, size: number): Promise<Buffer | null> {
  const buf = Buffer.allocUnsafe(size + 1); // one spare byte detects growth
  let filled = 0;
  while (filled < buf.length) {
    const n = await readAt(fd, buf, filled, buf.length - filled, filled);
    if (n === 0) break;
    filled += n;
  }
  return filled > size ? null : buf.subarray(0, filled);
}

export type Opened =
  /** At most minSize bytes: already read and hashed (one chunk, one SHA-256), file closed. */
  | { kind: "small"; events: ChunkEvent[] }
  /** Larger, or not a regular file: open, not read yet. */
  | { kind: "large"; source: FdSource };

/** Opens a file and, when it is small, reads and hashes it whole. */
export async function openForChunking(path: string, p: ResolvedParams): Promise<Opened> {
  const fd = await openP(path, "r");
  let whole: Buffer | null = null;
  let isFile: boolean;
  try {
    const st = await fstatP(fd);
    isFile = st.isFile();
    if (isFile && st.size <= p.minSize) whole = await readSmall(fd, st.size);
  } catch (err) {
    await closeP(fd).catch(() => {});
    throw err;
  }
  if (whole === null) return { kind: "large", source: new FdSource(fd, isFile) };
  await closeP(fd);
  return { kind: "small", events: singleChunkEvents(whole) };
}
