// The chunker's memory stays bounded on a stream far larger than the bound. Alone in its
// own file (so its own process): the peak RSS measured is this stream's, not that of the
// other chunker tests' files and buffers, and it runs beside them rather than after them.

import t from "tap";
import { chunkStream } from "../../loader/chunk/stream.js";
import type { FileEnd } from "../../loader/chunk/types.js";
import { pseudoRandomBytes } from "../helpers/prng.js";

t.test("memory stays bounded on a long stream", async (t) => {
  const piece = pseudoRandomBytes(4 << 20, 6);
  const total = 1024 << 20; // twice the bound: a stream kept whole could not pass
  async function* source(): AsyncGenerator<Uint8Array> {
    for (let sent = 0; sent < total; sent += piece.length) yield piece;
  }
  let bytes = 0;
  let end: FileEnd | null = null;
  for await (const ev of chunkStream(source())) {
    if (ev.kind === "chunk") bytes += ev.length;
    else end = ev;
  }
  t.equal(bytes, total);
  t.equal(end?.size, total);
  const rssMiB = process.resourceUsage().maxRSS / 1024;
  t.ok(rssMiB < 512, `peak RSS ${rssMiB.toFixed(0)} MiB`);
});
