// fsck: what the database cannot see, checked against the store. Every registered pack
// must exist with its recorded size, which one listing of the store tells (not one
// request per pack); --full also reads every pack and hashes every chunk. Damaged packs
// are marked in the database, so the next push of the same content uploads their chunks
// again and the versions that use them become readable again; the report names those
// versions and paths (strata.damage_report).

import { createHash } from "node:crypto";
import { decodeChunk } from "../codec.js";
import { eachLimited } from "../parallel.js";
import type { Session } from "../session.js";
import { packKey } from "../store/index.js";
import { mergePacks, type PackRow } from "../packs.js";

export interface FsckOptions {
  /** Also read every pack and hash every chunk. */
  full?: boolean;
  /** Packs read at once with --full (default 4). */
  concurrency?: number;
}

export interface DamagedPack {
  /** Hex name. */
  pack: string;
  why: string;
}

export interface FsckResult {
  /** Packs the database records that hold chunks, and those checked. */
  packs: number;
  /** Packs found damaged now (and marked), and those marked before that still hold chunks. */
  damaged: DamagedPack[];
  /** Files made unreadable by damaged packs. */
  affected: { dataset: string; tag: string; path: string }[];
  /** Objects under packs/ that no pack row knows (a killed push's; gc removes them). */
  unknownObjects: number;
  /** Bytes read from the store (with --full). */
  bytesRead: number;
}

export async function fsck(s: Session, opts: FsckOptions = {}): Promise<FsckResult> {
  await s.checkStore();
  let unknownObjects = 0;
  const damaged: DamagedPack[] = [];
  const sound: PackRow[] = [];
  let packs = 0;
  for await (const { object, row: p } of mergePacks(s)) {
    if (p === undefined) {
      unknownObjects++;
      continue;
    }
    if (p.chunk_count === 0 || p.dying) continue; // nothing uses it: its chunks moved, or gc is deleting it
    const hex = p.hash.toString("hex");
    packs++;
    if (p.damaged) damaged.push({ pack: hex, why: "marked damaged before" });
    else if (object === undefined) damaged.push({ pack: hex, why: "missing from the store" });
    else if (object.size !== p.size) damaged.push({ pack: hex, why: `${object.size} bytes in the store, ${p.size} recorded` });
    else sound.push(p);
  }
  let bytesRead = 0;
  if (opts.full) {
    await eachLimited(sound, opts.concurrency ?? 4, async (p) => {
      const body = await s.store.get(packKey(p.hash.toString("hex")));
      bytesRead += body.length;
      const chunks = await s.query<{ chunk: Buffer; pack_offset: number; size: number; stored_size: number; codec: number }>(
        "select * from strata.pack_chunks($1)",
        [p.hash],
      );
      let bad: (typeof chunks)[number] | undefined;
      for (const c of chunks) {
        const raw = await decodeChunk(body.subarray(c.pack_offset, c.pack_offset + c.stored_size), c.codec, c.size);
        if (raw === undefined || !createHash("sha256").update(raw).digest().equals(c.chunk)) {
          bad = c;
          break;
        }
      }
      if (bad !== undefined)
        damaged.push({ pack: p.hash.toString("hex"), why: `chunk ${bad.chunk.toString("hex")} does not match its hash` });
    });
  }
  const fresh = damaged.filter((d) => d.why !== "marked damaged before");
  if (fresh.length > 0)
    await s.query("select strata.mark_damaged_packs($1::bytea[], $2)", [
      fresh.map((d) => Buffer.from(d.pack, "hex")),
      `fsck: ${fresh[0]!.why}${fresh.length > 1 ? ` (and ${fresh.length - 1} more)` : ""}`,
    ]);
  const affected =
    damaged.length === 0 ? [] : await s.query<{ dataset: string; tag: string; path: string }>("select * from strata.damage_report()");
  damaged.sort((a, b) => (a.pack < b.pack ? -1 : 1));
  return { packs, damaged, affected, unknownObjects, bytesRead };
}
