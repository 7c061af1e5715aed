/** Records produced by chunkFile / chunkStream / chunkFiles. */
import type { ChunkPipeline } from "./pipeline.js";

/** One chunk of a file, in file order. */
export interface Chunk {
  kind: "chunk";
  /** 0-based position of the chunk in the file. */
  index: number;
  /** Byte offset of the chunk in the file. */
  offset: number;
  length: number;
  /** SHA-256 of the chunk's bytes (32 bytes). */
  sha256: Buffer;
  /**
   * The chunk's bytes; the caller owns this buffer (nothing else writes to it), unless
   * `release` is set.
   */
  data: Buffer;
  /**
   * Set when chunking with `recycle`: `data` lies in memory that is reused once this is
   * called, so call it when done with the bytes and never touch `data` after. Calling it
   * again does nothing; never calling it only keeps that memory from being reused.
   */
  release?: () => void;
}

/** The last record of a file: its whole-content digest and size. */
export interface FileEnd {
  kind: "end";
  /** SHA-256 of the whole file (32 bytes); of the empty string for an empty file. */
  sha256: Buffer;
  size: number;
  /** Number of chunk records before this one (0 for an empty file). */
  chunkCount: number;
}

export type ChunkEvent = Chunk | FileEnd;

export interface ChunkOptions {
  /** Workers and buffers to use; default: the process-wide shared pipeline. */
  pipeline?: ChunkPipeline;
  /**
   * At most this many bytes are read ahead of the consumer (default 64 MiB;
   * raised to maxSize plus two blocks if lower, so a chunk can always finish).
   */
  readAhead?: number;
  /** Aborts the read; the iterator then throws the signal's reason. */
  signal?: AbortSignal;
  /**
   * Put chunk bytes in recycled memory and give each chunk a `release` (slabs.ts): no
   * buffer allocated, faulted in and collected per chunk. Default false.
   */
  recycle?: boolean;
}

/** Where the bytes come from; read() fills dst from its start and returns 0 at the end. */
export interface ByteSource {
  read(dst: Uint8Array): Promise<number>;
  close(): Promise<void>;
}
