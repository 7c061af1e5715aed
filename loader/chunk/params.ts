/**
 * Chunking parameters: defaults, validation and the two FastCDC masks.
 *
 * Changing any default or the mask rule changes every chunk boundary and so
 * every chunk hash already stored: treat them as part of the storage format.
 */

export interface ChunkParams {
  /** No boundary is placed before this many bytes of a chunk (the last chunk of a file may be shorter). */
  minSize: number;
  /** Target size: the cut-over point from the harder mask to the easier one. */
  avgSize: number;
  /** A chunk is cut here when no content boundary was found earlier. */
  maxSize: number;
}

export const DEFAULT_CHUNK_PARAMS: Readonly<ChunkParams> = Object.freeze({
  minSize: 256 * 1024,
  avgSize: 1024 * 1024,
  maxSize: 4 * 1024 * 1024,
});

/** Smallest minSize accepted: below it the 32-byte gear window is not yet full at the first test. */
export const MIN_MIN_SIZE = 64;
/** Largest maxSize accepted: a chunk is held in memory whole, so keep it well under a buffer's limit. */
export const MAX_MAX_SIZE = 1024 * 1024 * 1024;
/** Normalization level: mask bits added before avgSize and removed after it (FastCDC's NC level). */
export const NORMALIZATION_LEVEL = 2;

/** Parameters after validation, with the masks derived from avgSize. */
export interface ResolvedParams extends ChunkParams {
  /** Harder mask (more bits), used while the chunk is shorter than avgSize. */
  maskS: number;
  /** Easier mask (fewer bits), used from avgSize up to maxSize. */
  maskL: number;
}

function checkSize(name: keyof ChunkParams, value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw new RangeError(`chunk parameter ${name} must be an integer number of bytes, got ${String(value)}`);
  }
  return value;
}

/**
 * A mask of `bits` one-bits in the top of a 32-bit word, as a signed int32.
 * The top bits of a left-shifting gear hash depend on the last 32 bytes, the
 * low bits only on the last few, so the top bits give the widest window.
 */
export function topMask(bits: number): number {
  return bits <= 0 ? 0 : (0xffffffff << (32 - bits)) | 0;
}

/**
 * Validates parameters (missing ones take the defaults) and derives the masks.
 * avgSize need not be a power of two: the mask uses round(log2(avgSize)) bits
 * and the cut-over still happens at avgSize exactly.
 * @throws RangeError naming the offending parameter.
 */
export function resolveParams(p: Partial<ChunkParams> = {}): ResolvedParams {
  const minSize = checkSize("minSize", p.minSize ?? DEFAULT_CHUNK_PARAMS.minSize);
  const avgSize = checkSize("avgSize", p.avgSize ?? DEFAULT_CHUNK_PARAMS.avgSize);
  const maxSize = checkSize("maxSize", p.maxSize ?? DEFAULT_CHUNK_PARAMS.maxSize);
  if (minSize < MIN_MIN_SIZE) {
    throw new RangeError(`chunk parameter minSize must be at least ${MIN_MIN_SIZE} bytes, got ${minSize}`);
  }
  if (avgSize <= minSize) {
    throw new RangeError(`chunk parameter avgSize must be greater than minSize (${minSize}), got ${avgSize}`);
  }
  if (maxSize <= avgSize) {
    throw new RangeError(`chunk parameter maxSize must be greater than avgSize (${avgSize}), got ${maxSize}`);
  }
  if (maxSize > MAX_MAX_SIZE) {
    throw new RangeError(`chunk parameter maxSize must be at most ${MAX_MAX_SIZE} bytes, got ${maxSize}`);
  }
  const bits = Math.round(Math.log2(avgSize));
  return {
    minSize,
    avgSize,
    maxSize,
    maskS: topMask(Math.min(31, bits + NORMALIZATION_LEVEL)),
    maskL: topMask(Math.max(1, bits - NORMALIZATION_LEVEL)),
  };
}
