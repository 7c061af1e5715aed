/**
 * Chunking a file or a byte stream: each chunk's offset, length, SHA-256 and
 * bytes, in order, then one `end` record with the whole content's SHA-256 and
 * size. Reading, boundary finding and hashing overlap across threads (see
 * pipeline.ts); the consumer pulls, and nothing is read far ahead of it.
 */
import { openForChunking } from "./fsio.js";
import { ChunkJob, DEFAULT_READ_AHEAD } from "./job.js";
import { resolveParams, type ChunkParams, type ResolvedParams } from "./params.js";
import { defaultPipeline } from "./pipeline.js";
import { IterableSource } from "./sources.js";
import type { ByteSource, ChunkEvent, ChunkOptions } from "./types.js";

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
  const opened = await openForChunking(path, p);
  if (opened.kind === "small") yield* opened.events;
  else yield* runJob(opened.source, p, opts);
}

/** Runs a source through the pipeline; the source is closed whatever happens. */
export async function* runJob(source: ByteSource, p: ResolvedParams, opts: ChunkOptions): AsyncGenerator<ChunkEvent, void, undefined> {
  let job: ChunkJob;
  try {
    job = new ChunkJob(
      opts.pipeline ?? defaultPipeline(),
      p,
      source,
      opts.readAhead ?? DEFAULT_READ_AHEAD,
      opts.signal,
      opts.recycle === true,
    );
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
