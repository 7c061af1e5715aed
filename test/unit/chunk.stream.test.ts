import t, { type Test } from "tap";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chunkLengths } from "../../loader/chunk/fastcdc.js";
import { chunkFiles } from "../../loader/chunk/files.js";
import type { ChunkParams } from "../../loader/chunk/params.js";
import { ChunkPipeline } from "../../loader/chunk/pipeline.js";
import { Prng, pseudoRandomBytes } from "../helpers/prng.js";
import { chunkFile, chunkStream } from "../../loader/chunk/stream.js";
import type { Chunk, ChunkEvent, FileEnd } from "../../loader/chunk/types.js";

const SMALL: ChunkParams = { minSize: 4096, avgSize: 16384, maxSize: 65536 };
const DEF: ChunkParams = { minSize: 256 * 1024, avgSize: 1024 * 1024, maxSize: 4 * 1024 * 1024 };
const sha = (b: Uint8Array): Buffer => createHash("sha256").update(b).digest();

const dir = await mkdtemp(join(tmpdir(), "strata-chunk-"));
t.teardown(() => rm(dir, { recursive: true, force: true }));
let fileNo = 0;
async function tempFile(data: Uint8Array): Promise<string> {
  const path = join(dir, `f${fileNo++}`);
  await writeFile(path, data);
  return path;
}

async function collect(events: AsyncIterable<ChunkEvent>): Promise<{ chunks: Chunk[]; end: FileEnd }> {
  const chunks: Chunk[] = [];
  let end: FileEnd | null = null;
  for await (const ev of events) {
    if (end !== null) throw new Error("record after the end record");
    if (ev.kind === "chunk") chunks.push(ev);
    else end = ev;
  }
  if (end === null) throw new Error("no end record");
  return { chunks, end };
}

/** Everything a consumer may rely on, checked against node:crypto and the pure chunker. */
function verify(t: Test, data: Buffer, params: ChunkParams, got: { chunks: Chunk[]; end: FileEnd }, what: string): void {
  const lengths = chunkLengths(data, params);
  t.same(
    got.chunks.map((c) => c.length),
    lengths,
    `${what}: boundaries`,
  );
  let off = 0;
  let ok = true;
  got.chunks.forEach((c, i) => {
    const want = data.subarray(off, off + c.length);
    if (c.index !== i || c.offset !== off || !Buffer.isBuffer(c.data) || !c.data.equals(want) || !c.sha256.equals(sha(want))) {
      ok = false;
      t.fail(`${what}: chunk ${i} (offset ${c.offset}, length ${c.length}) is wrong`);
    }
    off += c.length;
  });
  t.ok(ok, `${what}: chunk offsets, bytes and hashes`);
  t.equal(got.end.size, data.length, `${what}: size`);
  t.equal(got.end.chunkCount, lengths.length, `${what}: chunk count`);
  t.equal(got.end.sha256.toString("hex"), sha(data).toString("hex"), `${what}: file hash`);
}

t.test("chunkFile: hashes, bytes and boundaries at every edge size", async (t) => {
  const sizes = [0, 1, 100, SMALL.minSize, SMALL.minSize + 1, SMALL.maxSize, SMALL.maxSize + 1, 300_000, 5 << 20];
  for (const size of sizes) {
    const data = pseudoRandomBytes(size, size + 1);
    verify(t, data, SMALL, await collect(chunkFile(await tempFile(data), SMALL)), `small params, ${size} bytes`);
  }
  for (const size of [0, DEF.minSize, DEF.minSize + 1, DEF.maxSize, DEF.maxSize + 1, 21 << 20]) {
    const data = size === DEF.maxSize || size === DEF.maxSize + 1 ? Buffer.alloc(size) : pseudoRandomBytes(size, size);
    verify(t, data, DEF, await collect(chunkFile(await tempFile(data))), `default params, ${size} bytes`);
  }
});

t.test("empty file: no chunks, hash of the empty string", async (t) => {
  const { chunks, end } = await collect(chunkFile(await tempFile(Buffer.alloc(0))));
  t.equal(chunks.length, 0);
  t.same(end, { kind: "end", sha256: sha(Buffer.alloc(0)), size: 0, chunkCount: 0 });
  t.equal(end.sha256.toString("hex"), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
});

t.test("a file that is one chunk has chunk hash == file hash", async (t) => {
  // Longer than minSize, so it takes the pipeline rather than the small-file path.
  const data = pseudoRandomBytes(300_000, 12);
  t.equal(chunkLengths(data, DEF).length, 1, "premise: one chunk");
  const { chunks, end } = await collect(chunkFile(await tempFile(data)));
  t.equal(chunks.length, 1);
  t.ok(chunks[0]!.sha256.equals(end.sha256));
  t.ok(end.sha256.equals(sha(data)));
});

t.test("chunkStream: Readable and uneven generators give the same records as chunkFile", async (t) => {
  const data = pseudoRandomBytes(3 << 20, 77);
  const path = await tempFile(data);
  verify(t, data, SMALL, await collect(chunkStream(createReadStream(path, { highWaterMark: 10_000 }), SMALL)), "Readable");
  async function* pieces(seed: number): AsyncGenerator<Uint8Array> {
    const rng = new Prng(seed);
    for (let at = 0; at < data.length; ) {
      const n = rng.int(0, 3) === 0 ? rng.int(0, 10) : rng.int(1, 400_000);
      yield data.subarray(at, at + n);
      at += n;
    }
  }
  for (const seed of [1, 2]) verify(t, data, SMALL, await collect(chunkStream(pieces(seed), SMALL)), `pieces ${seed}`);
  verify(t, data, DEF, await collect(chunkStream(pieces(3))), "default params");
  await t.rejects(
    collect(
      chunkStream(
        (async function* () {
          yield "text" as unknown as Uint8Array;
        })(),
      ),
    ),
    TypeError,
  );
});

t.test("chunks spanning many blocks, several chunk workers", async (t) => {
  const pipeline = new ChunkPipeline({ chunkWorkers: 2, blockSize: 4096 });
  t.teardown(() => pipeline.close());
  const data = pseudoRandomBytes(2 << 20, 8);
  const path = await tempFile(data);
  verify(t, data, SMALL, await collect(chunkFile(path, SMALL, { pipeline })), "tiny blocks");
  const [a, b] = await Promise.all([collect(chunkFile(path, SMALL, { pipeline })), collect(chunkFile(path, SMALL, { pipeline }))]);
  verify(t, data, SMALL, a, "concurrent job 1");
  verify(t, data, SMALL, b, "concurrent job 2");
  t.equal(pipeline.pool.inUse, 0, "every block released");
});

/**
 * A controlled source: an endless run of one piece, counting what is pulled. The
 * consumer can wait until the source has been pulled to a given amount, and sees
 * when the source is closed and whether anything pulls after that.
 */
class CountingSource implements AsyncIterableIterator<Uint8Array> {
  pulled = 0;
  closed = false;
  pullsAfterClose = 0;
  /** The largest pulled - consumed seen at any pull, where `consumed` is what the test reports. */
  maxLead = 0;
  consumed = 0;
  private waiter: { bytes: number; resolve: () => void } | null = null;
  private onClose: () => void = () => {};
  readonly whenClosed = new Promise<void>((resolve) => {
    this.onClose = resolve;
  });

  constructor(private readonly piece: Buffer) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    if (this.closed) {
      this.pullsAfterClose++;
      return { done: true, value: undefined };
    }
    this.pulled += this.piece.length;
    this.maxLead = Math.max(this.maxLead, this.pulled - this.consumed);
    if (this.waiter !== null && this.pulled >= this.waiter.bytes) {
      this.waiter.resolve();
      this.waiter = null;
    }
    return { done: false, value: this.piece };
  }

  async return(): Promise<IteratorResult<Uint8Array>> {
    this.closed = true;
    this.onClose();
    return { done: true, value: undefined };
  }

  /** Resolves once `bytes` have been pulled in all. */
  pulledTo(bytes: number): Promise<void> {
    if (this.pulled >= bytes) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiter = { bytes, resolve };
    });
  }
}

t.test("back-pressure: the source is read only a bounded amount ahead of the consumer", { timeout: 60_000 }, async (t) => {
  const source = new CountingSource(pseudoRandomBytes(1 << 20, 5));
  const readAhead = 16 << 20;
  let n = 0;
  let pulledAtStop = 0;
  for await (const ev of chunkStream(source, DEF, { readAhead })) {
    if (ev.kind !== "chunk") break;
    source.consumed += ev.length;
    // A slow consumer: take the next chunk only once the reader has gone as far ahead
    // as readAhead allows (no clock involved; the test hangs, up to its timeout, if
    // the reader never gets that far).
    await source.pulledTo(source.consumed + readAhead);
    if (++n === 60) {
      pulledAtStop = source.pulled;
      break; // breaking out stops the reading
    }
  }
  t.ok(source.consumed > 40 << 20, `consumed ${source.consumed}`);
  // readAhead, plus one block being read, plus the open chunk and the piece being copied.
  t.ok(source.maxLead <= readAhead + (4 << 20) + DEF.maxSize + (1 << 20), `lead at most ${source.maxLead} bytes at any pull`);
  await source.whenClosed;
  t.ok(source.closed, "the source is closed once the consumer stopped");
  t.ok(
    source.pulled - pulledAtStop <= 4 << 20,
    `at most the block being read finished after the stop (${source.pulled - pulledAtStop} bytes)`,
  );
  t.equal(source.pullsAfterClose, 0, "no reading after the consumer stopped");
});

t.test("stopping early, errors and abort", async (t) => {
  const data = pseudoRandomBytes(6 << 20, 9);
  const path = await tempFile(data);
  let seen = 0;
  for await (const ev of chunkFile(path, SMALL)) {
    if (ev.kind === "chunk" && ++seen === 3) break;
  }
  t.equal(seen, 3);
  verify(t, data, SMALL, await collect(chunkFile(path, SMALL)), "works after an early stop");

  await t.rejects(collect(chunkFile(join(dir, "missing"))), { code: "ENOENT" });
  async function* failing(): AsyncGenerator<Uint8Array> {
    yield data.subarray(0, 1 << 20);
    throw new Error("disk on fire");
  }
  await t.rejects(collect(chunkStream(failing(), SMALL)), { message: "disk on fire" });

  const ac = new AbortController();
  const events = chunkFile(path, SMALL, { signal: ac.signal });
  await events.next();
  ac.abort(new Error("stop now"));
  await t.rejects(collect(events), { message: "stop now" });
  await t.rejects(collect(chunkFile(path, SMALL, { signal: AbortSignal.abort() })), { name: "AbortError" });

  t.throws(() => chunkFile(path, { minSize: 1 }), RangeError, "parameters are checked at the call");
  t.throws(() => chunkFile(path, {}, { readAhead: -1 }), RangeError);
  t.throws(() => chunkFiles([path], {}, { concurrency: 0 }), RangeError);
});

t.test("chunkFiles: small and large files in order, tagged with their path", async (t) => {
  const rng = new Prng(4);
  const files: { path: string; data: Buffer }[] = [];
  for (let i = 0; i < 40; i++) {
    const size = i % 10 === 9 ? rng.int(100_000, 400_000) : rng.int(0, SMALL.minSize);
    const data = pseudoRandomBytes(size, 1000 + i);
    files.push({ path: await tempFile(data), data });
  }
  const byPath = new Map<string, ChunkEvent[]>();
  const order: string[] = [];
  for await (const ev of chunkFiles(
    files.map((f) => f.path),
    SMALL,
    { concurrency: 4 },
  )) {
    if (order.at(-1) !== ev.path) order.push(ev.path);
    const list = byPath.get(ev.path) ?? [];
    list.push(ev);
    byPath.set(ev.path, list);
  }
  t.same(
    order,
    files.map((f) => f.path),
    "files in order, each contiguous",
  );
  for (const f of files) {
    const events = byPath.get(f.path) ?? [];
    const got = await collect(
      (async function* () {
        yield* events;
      })(),
    );
    verify(t, f.data, SMALL, got, `${f.data.length} bytes`);
    if (got.chunks.length === 1) t.ok(got.chunks[0]!.sha256.equals(got.end.sha256), "one chunk: same digest");
  }
  await t.rejects(collect(chunkFiles([files[0]!.path, join(dir, "nope")], SMALL)), { code: "ENOENT" });
});

t.test("an iterator abandoned mid-file does not keep the process alive", async (t) => {
  const data = pseudoRandomBytes(8 << 20, 10);
  const path = await tempFile(data);
  const script = join(dir, "abandon.mts");
  const mod = new URL("../../loader/chunk/stream.js", import.meta.url).href;
  // 'beforeExit' is emitted only when the event loop has nothing left to wait for: the
  // process ends by itself, not through process.exit or a signal.
  await writeFile(
    script,
    `import { chunkFile } from ${JSON.stringify(mod)};\n` +
      `process.on('beforeExit', () => console.log('event loop empty'));\n` +
      `const it = chunkFile(${JSON.stringify(path)}, { minSize: 4096, avgSize: 16384, maxSize: 65536 });\n` +
      `await it.next();\nconsole.log('pulled one');\n`,
  );
  const child = spawn(process.execPath, ["--import=tsx", script], { stdio: ["ignore", "pipe", "inherit"] });
  let stdout = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
  // Only a guard, so that a regression fails instead of hanging: nothing is measured.
  const guard = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once("close", (c, s) => resolve([c, s])));
  clearTimeout(guard);
  t.equal(stdout, "pulled one\nevent loop empty\n", "the event loop emptied after the first chunk");
  t.same([code, signal], [0, null], "exited by itself");
});
