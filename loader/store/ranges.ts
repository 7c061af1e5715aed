// Merging of ranged reads. Checkout reads many chunks out of one pack; one request
// per chunk would cost a round trip each, so ranges that overlap or lie within
// `gap` bytes of each other are read together and sliced apart afterwards. The
// gap trades a few wasted bytes for fewer requests.

import { StoreError } from "./errors.js";
import { mapLimited } from "../parallel.js";
import type { ByteRange, GetRangesOptions } from "./store.js";

export const DEFAULT_RANGE_GAP = 256 * 1024;
export const DEFAULT_MAX_SPAN = 32 * 1024 * 1024;

export interface RangeGroup extends ByteRange {
  /** Indexes into the caller's ranges that this read covers. */
  members: number[];
}

export function checkRange(offset: number, length: number, key: string, store: string): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new StoreError("bad_range", `invalid range offset=${offset} length=${length} of '${key}' in ${store}`, { key, store });
  }
}

/** Groups the non-empty ranges into as few reads as the gap and span limits allow. */
export function planRanges(ranges: readonly ByteRange[], options: GetRangesOptions = {}): RangeGroup[] {
  const gap = options.gap ?? DEFAULT_RANGE_GAP;
  const maxSpan = options.maxSpan ?? DEFAULT_MAX_SPAN;
  const order = ranges
    .map((r, i) => ({ ...r, i }))
    .filter((r) => r.length > 0)
    .sort((a, b) => a.offset - b.offset || a.length - b.length);

  const groups: RangeGroup[] = [];
  let current: RangeGroup | undefined;
  for (const r of order) {
    const end = r.offset + r.length;
    if (current) {
      const currentEnd = current.offset + current.length;
      const mergedEnd = Math.max(currentEnd, end);
      if (r.offset <= currentEnd + gap && mergedEnd - current.offset <= maxSpan) {
        current.length = mergedEnd - current.offset;
        current.members.push(r.i);
        continue;
      }
    }
    current = { offset: r.offset, length: r.length, members: [r.i] };
    groups.push(current);
  }
  return groups;
}

/**
 * Reads `ranges` through `read` (one call per merged group, at most `parallel` at
 * once) and returns one Buffer per input range, in input order.
 */
export async function readRanges(
  ranges: readonly ByteRange[],
  read: (offset: number, length: number) => Promise<Buffer>,
  parallel: number,
  options?: GetRangesOptions,
): Promise<Buffer[]> {
  const out: Buffer[] = ranges.map(() => Buffer.alloc(0));
  const groups = planRanges(ranges, options);
  await mapLimited(groups, parallel, async (group) => {
    const data = await read(group.offset, group.length);
    for (const i of group.members) {
      const r = ranges[i]!;
      const start = r.offset - group.offset;
      out[i] = data.subarray(start, start + r.length);
    }
  });
  return out;
}
