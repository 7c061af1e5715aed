/**
 * Chunking many files in one ordered stream. Small files (at most minSize
 * bytes: one chunk, one SHA-256) are opened, read and hashed several at a
 * time, since their cost is mostly system calls; larger files go through the
 * pipeline one after another.
 */
import { openForChunking, type Opened } from "./fsio.js";
import { resolveParams, type ChunkParams, type ResolvedParams } from "./params.js";
import { checkOptions, runJob } from "./stream.js";
import type { ChunkEvent, ChunkOptions } from "./types.js";

/** A chunkFile record, tagged with the file it belongs to. */
export type FileChunkEvent = ChunkEvent & { path: string };

export interface ChunkFilesOptions extends ChunkOptions {
  /** Files opened ahead of the one being yielded (small ones are also read and hashed). Default 16. */
  concurrency?: number;
}

type Prepared = Opened & { path: string };

/**
 * Chunks each file of `paths` in turn: for every file its chunk records, then
 * its `end` record, each with `path` added. Parameters are validated at the
 * call; the first failing file ends the iteration with its error.
 */
export function chunkFiles(
  paths: Iterable<string> | AsyncIterable<string>,
  params: Partial<ChunkParams> = {},
  opts: ChunkFilesOptions = {},
): AsyncGenerator<FileChunkEvent, void, undefined> {
  const p = resolveParams(params);
  const k = opts.concurrency ?? 16;
  if (!Number.isSafeInteger(k) || k < 1) throw new RangeError(`concurrency must be a positive integer, got ${k}`);
  return chunkFilesGen(paths, p, checkOptions(opts), k);
}

async function prepare(path: string, p: ResolvedParams): Promise<Prepared> {
  return { ...(await openForChunking(path, p)), path };
}

function asyncIterator(paths: Iterable<string> | AsyncIterable<string>): AsyncIterator<string> {
  if (Symbol.asyncIterator in paths) return paths[Symbol.asyncIterator]();
  const it = paths[Symbol.iterator]();
  return { next: async () => it.next() };
}

async function* chunkFilesGen(
  paths: Iterable<string> | AsyncIterable<string>,
  p: ResolvedParams,
  opts: ChunkOptions,
  k: number,
): AsyncGenerator<FileChunkEvent, void, undefined> {
  const it = asyncIterator(paths);
  const window: Promise<Prepared>[] = [];
  let exhausted = false;
  const fill = async (): Promise<void> => {
    while (!exhausted && window.length < k) {
      const r = await it.next();
      if (r.done === true) {
        exhausted = true;
        break;
      }
      const pr = prepare(r.value, p);
      pr.catch(() => {}); // seen when its turn comes; until then not "unhandled"
      window.push(pr);
    }
  };
  try {
    for (;;) {
      opts.signal?.throwIfAborted();
      await fill();
      const next = window.shift();
      if (next === undefined) return;
      const prep = await next;
      if (prep.kind === "small") {
        for (const ev of prep.events) yield { ...ev, path: prep.path };
      } else {
        for await (const ev of runJob(prep.source, p, opts)) yield { ...ev, path: prep.path };
      }
    }
  } finally {
    // Files opened ahead but never reached.
    for (const pr of window) pr.then((x) => (x.kind === "large" ? x.source.close() : undefined)).catch(() => {});
    window.length = 0;
    if (!exhausted) await it.return?.();
  }
}
