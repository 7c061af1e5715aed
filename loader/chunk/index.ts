/**
 * Content-defined chunking for push: FastCDC boundaries, per-chunk and
 * whole-file SHA-256, computed in one pass over the bytes.
 */
export { chunkFile, chunkStream } from "./stream.js";
export { chunkFiles, type ChunkFilesOptions, type FileChunkEvent } from "./files.js";
export type { Chunk, ChunkEvent, ChunkOptions, FileEnd } from "./types.js";
export { ChunkPipeline, defaultPipeline, type PipelineOptions } from "./pipeline.js";
export { FastCdc, chunkLengths } from "./fastcdc.js";
export { DEFAULT_CHUNK_PARAMS, resolveParams, type ChunkParams } from "./params.js";
