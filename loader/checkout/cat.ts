// cat: one file of a version, streamed in order to a writable stream. Chunks are
// fetched in windows (the next one while the current is written) and verified one
// by one; the whole-file hash can only be checked at the end, after the bytes went
// out, so a mismatch there still rejects (callers must not trust the output).

import { createHash } from "node:crypto";

import { StrataError } from "../errors.js";
import type { Session } from "../session.js";
import { version as findVersion, type VersionRef } from "../versions.js";
import { ChunkCache, chunkCacheDir } from "./cache.js";
import { ChunkFetcher, type ChunkNeed, locator } from "./fetch.js";
import { chunkLists, describeVersion, listEntries } from "./listing.js";

export interface CatOptions {
  cacheDir?: string | undefined;
  concurrency?: number | undefined;
  /** Chunk bytes fetched at once (default 16 MiB). */
  windowBytes?: number | undefined;
}

export interface CatResult {
  dataset: string;
  tag: string;
  bytes: number;
}

export async function cat(
  session: Session,
  ref: VersionRef,
  path: string,
  out: NodeJS.WritableStream,
  opts: CatOptions = {},
): Promise<CatResult> {
  await session.checkStore();
  const want = path.replace(/^(\.\/|\/)+/, "").replace(/\/+$/, "");
  const version = await findVersion(session, ref);
  const where = describeVersion(version);
  const found = await listEntries(session, version, want);
  const entry = found.find((e) => e.path === want);
  if (entry === undefined) {
    if (want === "" || found.some((e) => e.path.startsWith(`${want}/`)))
      throw new StrataError(
        `${want === "" ? "the version root" : want} is a folder in ${where}, not a file (use checkout for folders)`,
        "usage",
      );
    throw new StrataError(`no file ${want} in ${where}`, "notFound");
  }
  if (entry.kind === "symlink") throw new StrataError(`${want} is a symlink to ${entry.target} in ${where}, not a file`, "usage");
  if (entry.kind === "dir") throw new StrataError(`${want} is an empty folder in ${where}, not a file`, "usage");

  const chunks = (await chunkLists(session, [{ hash: entry.hash, size: entry.size, path: want }])).get(entry.hash)!;
  const cacheDir = "cacheDir" in opts ? opts.cacheDir : chunkCacheDir(session);
  const fetcher = new ChunkFetcher(
    session.store,
    cacheDir === undefined ? undefined : new ChunkCache(cacheDir),
    opts.concurrency ?? 8,
    locator(session),
  );
  const windows: ChunkNeed[][] = [];
  const windowBytes = opts.windowBytes ?? 16 * 1024 * 1024;
  let bytes = windowBytes;
  for (const c of chunks) {
    if (bytes >= windowBytes) {
      windows.push([]);
      bytes = 0;
    }
    windows[windows.length - 1]!.push({
      hash: c.hash,
      size: c.size,
      pack: c.pack,
      offset: c.offset,
      stored: c.stored,
      path: want,
      seq: c.seq,
    });
    bytes += c.size;
  }

  const hash = createHash("sha256");
  const sink = new Sink(out);
  try {
    let next = windows.length > 0 ? fetcher.fetch(windows[0]!) : undefined;
    for (let i = 0; i < windows.length; i++) {
      const data = await next!;
      next = i + 1 < windows.length ? fetcher.fetch(windows[i + 1]!) : undefined;
      next?.catch(() => {}); // awaited next round
      try {
        for (const need of windows[i]!) {
          const buf = data.get(need.hash)!;
          hash.update(buf);
          await sink.write(buf);
        }
      } catch (e) {
        await next?.catch(() => {});
        throw e;
      }
    }
  } finally {
    sink.release();
  }
  const got = hash.digest("hex");
  if (got !== entry.hash)
    throw new StrataError(
      `${want} does not match its hash (its verified chunks assemble to ${got}, ${where} says ${entry.hash}; the database is damaged)`,
      "corrupt",
    );
  return { dataset: version.dataset, tag: version.tag, bytes: entry.size };
}

/** Writes with backpressure, turning the stream's 'error' event into a rejection. */
class Sink {
  private failure: Error | undefined;
  private readonly onError = (e: Error): void => {
    this.failure ??= e;
  };

  constructor(private readonly out: NodeJS.WritableStream) {
    out.on("error", this.onError);
  }

  async write(buf: Buffer): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    if (this.out.write(buf)) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.out.off("drain", done);
        this.out.off("error", done);
        resolve();
      };
      this.out.on("drain", done);
      this.out.on("error", done);
    });
    if (this.failure !== undefined) throw this.failure;
  }

  release(): void {
    this.out.off("error", this.onError);
  }
}
