// How a chunk's bytes are kept in its pack: raw (codec 0) or as one zstd frame (codec 1).
// The chunk's name stays the SHA-256 of its raw bytes; a reader decodes, then verifies.
// A push compresses a chunk only when that pays: a cheap look at a sample first (so
// random bytes, JPEG, Parquet or model weights cost a few microseconds, not a zstd pass),
// then zstd, whose result is kept only when it saves at least 5%. Encoding and
// decoding run on libuv's thread pool, beside the main thread's hashing and reading.

import type { Decoder, Encoder } from "@toondepauw/node-zstd";

import { StrataError } from "./errors.js";

export const RAW = 0;
export const ZSTD = 1;
export type Codec = typeof RAW | typeof ZSTD;

/** How a chunk is kept in its pack: the bytes it takes there, and their codec. */
export interface StoredForm {
  size: number;
  codec: number;
}

/** A chunk as it is kept in a pack. */
export interface Encoded {
  bytes: Buffer;
  codec: Codec;
}

/** zstd's own default: about restic's and borg's zstd ratio, hundreds of MB/s. */
const DEFAULT_LEVEL = 3;
/**
 * Keep the compressed form only when it is at most this share of the raw bytes: smooth
 * float32 signals save 8 to 10%, worth keeping; less is not worth a decode on every read.
 */
const KEEP_BELOW = 0.95;
/** Chunks this small are stored raw: little to save, and too few bytes to judge them by. */
const MIN_SIZE = 512;
/** Bytes of a chunk looked at before compressing it: a few slices spread over it. */
const SAMPLE_SLICES = 4;
const SLICE = 512;
/**
 * Bits per byte (order 0) above which a sample is taken as incompressible. Random bytes
 * measure about 7.9 to 8 (bias corrected); text and tables 4 to 6.
 */
const MAX_ENTROPY = 7.5;

/**
 * The zstd level chunks are compressed at, 0 for none: STRATA_COMPRESSION is `on` (the
 * default, level 3), `off`, or a level from 1 to 19.
 */
export function compressionLevel(env: NodeJS.ProcessEnv = process.env): number {
  const v = (env.STRATA_COMPRESSION ?? "").trim().toLowerCase();
  if (v === "" || v === "on") return DEFAULT_LEVEL;
  if (v === "off") return 0;
  const level = Number(v);
  if (!Number.isInteger(level) || level < 1 || level > 19)
    throw new StrataError(`STRATA_COMPRESSION must be on, off or a zstd level from 1 to 19, not ${JSON.stringify(v)}`, "usage");
  return level;
}

// The binding is loaded on first use: a push of incompressible data never pays for it.
type Zstd = typeof import("@toondepauw/node-zstd");
let zstd: Promise<Zstd> | undefined;
const binding = (): Promise<Zstd> => (zstd ??= import("@toondepauw/node-zstd"));
const encoders = new Map<number, Encoder>();
let decoder: Decoder | undefined;

/**
 * The form to keep `data` in: zstd when the sample looks compressible and the frame saves
 * at least 5%, else the raw bytes. Never rejects (a failure to compress keeps the chunk raw).
 */
export async function encodeChunk(data: Buffer, level: number): Promise<Encoded> {
  if (level === 0 || data.length < MIN_SIZE || !looksCompressible(data)) return { bytes: data, codec: RAW };
  try {
    let encoder = encoders.get(level);
    if (encoder === undefined) {
      encoder = new (await binding()).Encoder(level);
      encoders.set(level, encoder);
    }
    const frame = await encoder.encode(data);
    if (frame.length <= data.length * KEEP_BELOW) return { bytes: frame, codec: ZSTD };
  } catch {
    // kept raw
  }
  return { bytes: data, codec: RAW };
}

/**
 * The raw bytes of a chunk kept as `stored` under `codec`, or undefined when they do not
 * decode to exactly `size` bytes (the caller reports the chunk as corrupt, as it does when
 * the hash does not match).
 */
export async function decodeChunk(stored: Buffer, codec: number, size: number): Promise<Buffer | undefined> {
  if (codec === RAW) return stored.length === size ? stored : undefined;
  if (codec !== ZSTD) return undefined;
  const bound = frameBound(stored);
  if (bound === undefined || bound < size || bound > size * 8 + DECODE_SLACK) return undefined;
  decoder ??= new (await binding()).Decoder(); // a binding that cannot load is an error, not corrupt data
  try {
    const raw = await decoder.decode(stored);
    return raw.length === size ? raw : undefined;
  } catch {
    return undefined;
  }
}

/** zstd's largest block: a compressed block never regenerates more. */
const BLOCK_MAX = 128 * 1024;
/**
 * What a frame may regenerate beyond 8 times its chunk's size. The binding decodes without an
 * output limit, so a frame is vetted first: a few stored bytes of RLE blocks could otherwise
 * decode to gigabytes. At level 19, whose blocks zstd splits small, 400 files of this
 * machine's measured at most 10.5 times (size + one block).
 */
const DECODE_SLACK = 32 * 1024 * 1024;

/**
 * The most bytes `frame` can decode to, from its headers alone: undefined unless it is one
 * zstd frame (no dictionary, no second frame, nothing after it) whose blocks end where the
 * bytes do. Raw and RLE blocks state their size; a compressed block regenerates at most
 * one block's worth.
 */
export function frameBound(frame: Buffer): number | undefined {
  if (frame.length < 6 || frame.readUInt32LE(0) !== 0xfd2fb528) return undefined;
  const descriptor = frame[4]!;
  const fcsFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  if ((descriptor & 0b1011) !== 0) return undefined; // reserved bit or a dictionary id
  let p = 5 + (singleSegment ? 0 : 1) + [singleSegment, 2, 4, 8][fcsFlag]!;
  let bound = 0;
  for (;;) {
    if (p + 3 > frame.length) return undefined;
    const header = frame.readUIntLE(p, 3);
    p += 3;
    const type = (header >> 1) & 3;
    const blockSize = header >>> 3;
    if (type === 3) return undefined;
    p += type === 1 ? 1 : blockSize;
    bound += type === 2 ? BLOCK_MAX : blockSize;
    if (header & 1) break;
  }
  if ((descriptor >> 2) & 1) p += 4; // content checksum
  return p === frame.length ? bound : undefined;
}

/** c * log2(c) for every count a sample can hold: no logarithm per call. */
const C_LOG_C = Float64Array.from({ length: SAMPLE_SLICES * SLICE + 1 }, (_, c) => (c === 0 ? 0 : c * Math.log2(c)));
const counts = new Uint16Array(256);

/** Order-0 entropy of a few slices spread over the chunk, against MAX_ENTROPY. */
export function looksCompressible(data: Buffer): boolean {
  counts.fill(0);
  let n = 0;
  if (data.length <= SAMPLE_SLICES * SLICE) {
    for (let i = 0; i < data.length; i++) counts[data[i]!]!++;
    n = data.length;
  } else {
    const step = Math.floor((data.length - SLICE) / (SAMPLE_SLICES - 1));
    for (let s = 0; s < SAMPLE_SLICES; s++) {
      const start = s * step;
      for (let i = start; i < start + SLICE; i++) counts[data[i]!]!++;
    }
    n = SAMPLE_SLICES * SLICE;
  }
  // entropy = log2(n) - sum(c log2 c) / n
  let sum = 0;
  let seen = 0;
  for (let b = 0; b < 256; b++) {
    const c = counts[b]!;
    if (c > 0) {
      sum += C_LOG_C[c]!;
      seen++;
    }
  }
  // Miller-Madow: a small sample underestimates entropy by about (symbols - 1) / (2 n ln 2).
  return Math.log2(n) - sum / n + (seen - 1) / (2 * n * Math.LN2) <= MAX_ENTROPY;
}
