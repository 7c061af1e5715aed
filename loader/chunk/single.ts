/** Records for content shorter than minSize, produced without the pipeline. */
import { createHash } from "node:crypto";
import type { ChunkEvent } from "./types.js";

/**
 * One chunk (none if empty) whose digest is the file digest: such content is
 * hashed once, on the calling thread, which for small files costs less than a
 * round trip to a worker.
 */
export function singleChunkEvents(data: Buffer): ChunkEvent[] {
  const sha256 = createHash("sha256").update(data).digest();
  const end: ChunkEvent = { kind: "end", sha256, size: data.length, chunkCount: data.length > 0 ? 1 : 0 };
  if (data.length === 0) return [end];
  return [{ kind: "chunk", index: 0, offset: 0, length: data.length, sha256, data }, end];
}
