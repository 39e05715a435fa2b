/**
 * A segment's entries as the exchange compares them: sorted by entry hash H(key ‖ 0xFF ‖ digest),
 * the same hash the tree XORs (merkle-tree.ts), so set differences of hashes are exactly the
 * entries whose (key, version) one side lacks. Shared by initiator and responder.
 */
import type { Key } from '../types.ts';
import { Fnv64 } from './hash64.ts';
import type { SegmentEntry } from './merkle-tree.ts';
import type { AeCursor } from './messages.ts';

/** The entries this replica holds in one segment (extra keys of other segments are ignored). */
export type EntryLookup = (segment: number) => Iterable<SegmentEntry>;

/** The largest value of a hash's high half; `hiLast` of a whole segment. */
export const hiMax = 0xffffffff;

export interface HashedEntry {
  readonly hi: number;
  readonly lo: number;
  readonly key: Key;
}

export function compareHashed(a: HashedEntry, b: HashedEntry): number {
  return a.hi - b.hi || a.lo - b.lo;
}

export function compareCursor(a: AeCursor, b: AeCursor): number {
  return a.segment - b.segment || a.hi - b.hi || a.lo - b.lo;
}

/**
 * This replica's entries of `segment` whose hash's high half is in [hiFirst, hiLast], sorted by
 * hash, without repeats. Entries the lookup returns for other segments are dropped, so a
 * coarse lookup is safe.
 */
export function hashedEntries(
  segment: number,
  depth: number,
  hiFirst: number,
  hiLast: number,
  entries: EntryLookup,
): HashedEntry[] {
  const out: HashedEntry[] = [];
  for (const e of entries(segment)) {
    const prefix = new Fnv64().string(e.key);
    if (prefix.clone().finish().hi >>> (32 - depth) !== segment) continue;
    const h = prefix.byte(0xff).string(e.digest).finish();
    if (h.hi >= hiFirst && h.hi <= hiLast) out.push({ hi: h.hi, lo: h.lo, key: e.key });
  }
  out.sort(compareHashed);
  // A lookup that yields an entry twice must not make the hash list ambiguous.
  return out.filter((e, i) => i === 0 || compareHashed(out[i - 1]!, e) !== 0);
}

export function packHashes(list: readonly HashedEntry[]): Uint32Array {
  const out = new Uint32Array(2 * list.length);
  list.forEach((e, i) => {
    out[2 * i] = e.hi;
    out[2 * i + 1] = e.lo;
  });
  return out;
}
