/**
 * Chunking a file or a byte stream: each chunk's offset, length, SHA-256 and
 * bytes, in order, then one `end` record with the whole content's SHA-256 and
 * size. Reading, boundary finding and hashing overlap across threads (see
 * pipeline.ts); the consumer pulls, and nothing is read far ahead of it.
 */
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { ChunkJob, DEFAULT_READ_AHEAD } from './job.js';
import { resolveParams, type ChunkParams, type ResolvedParams } from './params.js';
import { defaultPipeline } from './pipeline.js';
import { FileSource, IterableSource } from './sources.js';
import type { ByteSource, ChunkEvent, ChunkOptions } from './types.js';

/**
 * Chunks the file at `path`. Yields its chunks in order, then a final
 * `{ kind: 'end', sha256, size, chunkCount }`. Parameters are validated at
 * the call (RangeError); I/O errors surface from the iterator. Breaking out of
 * the loop early stops reading and closes the file.
 */
export function chunkFile(
  path: string,
  params: Partial<ChunkParams> = {},
  opts: ChunkOptions = {},
): AsyncGenerator<ChunkEvent, void, undefined> {
  return chunkFileGen(path, resolveParams(params), checkOptions(opts));
}

/**
 * Chunks any async iterable of Buffers / Uint8Arrays (a Readable, a generator,
 * ...), with the same records as chunkFile. The bytes are copied once into
 * the pipeline's shared buffers; the source is ended if the consumer stops early.
 */
export function chunkStream(
  source: AsyncIterable<Uint8Array>,
  params: Partial<ChunkParams> = {},
  opts: ChunkOptions = {},
): AsyncGenerator<ChunkEvent, void, undefined> {
  return runJob(new IterableSource(source), resolveParams(params), checkOptions(opts));
}

/** @throws RangeError for a bad readAhead. */
export function checkOptions<T extends ChunkOptions>(opts: T): T {
  const ra = opts.readAhead;
  if (ra !== undefined && !(Number.isSafeInteger(ra) && ra >= 0)) {
    throw new RangeError(`readAhead must be a non-negative integer number of bytes, got ${String(ra)}`);
  }
  return opts;
}

async function* chunkFileGen(path: string, p: ResolvedParams, opts: ChunkOptions): AsyncGenerator<ChunkEvent, void, undefined> {
  opts.signal?.throwIfAborted();
  const fh = await open(path, 'r');
  let handedOver = false;
  try {
    const st = await fh.stat();
    if (st.isFile() && st.size <= p.minSize) {
      const whole = await readSmall(fh, st.size);
      if (whole !== null) {
        yield* singleChunkEvents(whole);
        return;
      }
    }
    handedOver = true;
    yield* runJob(new FileSource(fh, st.isFile()), p, opts);
  } finally {
    if (!handedOver) await fh.close();
  }
}

/**
 * Reads a file believed to hold `size` <= minSize bytes; null if it turns out
 * longer (it grew), in which case the caller takes the general path.
 */
export async function readSmall(fh: FileHandle, size: number): Promise<Buffer | null> {
  const buf = Buffer.allocUnsafe(size + 1); // one spare byte detects growth
  let filled = 0;
  while (filled < buf.length) {
    const { bytesRead } = await fh.read(buf, filled, buf.length - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled > size ? null : buf.subarray(0, filled);
}

/**
 * Records for content shorter than minSize: one chunk (none if empty) whose
 * digest is the file digest, so it is hashed once, on this thread.
 */
export function singleChunkEvents(data: Buffer): ChunkEvent[] {
  const sha256 = createHash('sha256').update(data).digest();
  const end: ChunkEvent = { kind: 'end', sha256, size: data.length, chunkCount: data.length > 0 ? 1 : 0 };
  if (data.length === 0) return [end];
  return [{ kind: 'chunk', index: 0, offset: 0, length: data.length, sha256, data }, end];
}

/** Runs a source through the pipeline; the source is closed whatever happens. */
export async function* runJob(source: ByteSource, p: ResolvedParams, opts: ChunkOptions): AsyncGenerator<ChunkEvent, void, undefined> {
  let job: ChunkJob;
  try {
    job = new ChunkJob(opts.pipeline ?? defaultPipeline(), p, source, opts.readAhead ?? DEFAULT_READ_AHEAD, opts.signal);
  } catch (err) {
    await source.close().catch(() => {});
    throw err;
  }
  try {
    for (;;) {
      const ev = await job.next();
      if (ev === null) return;
      yield ev;
    }
  } finally {
    job.cancel();
  }
}
