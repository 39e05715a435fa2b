import { compareUtf8 } from './utf8-order.ts';
import type { RangeOptions } from './storage.ts';

/**
 * How many new keys a range folds in one by one (binary search + splice, O(n) each) before it
 * switches to sorting the new keys and merging them in one O(n + k log k) pass. Splicing keeps
 * interleaved "write one key, scan a few" patterns cheap; merging keeps bulk loads of ~100k keys
 * from costing 100k splices.
 */
const spliceKeysMax = 32;

/** Deleted keys left in the sorted index before it is compacted (they are skipped until then). */
const staleKeysMin = 1024;

/**
 * One table of the memory engine (and of the LMDB engine's overlay of pending writes, whose
 * values are lists of ops): a Map for point reads plus a key index kept in UTF-8 order, brought
 * up to date lazily by the next range so that writes stay O(1).
 */
export class MemoryTable<V = Uint8Array> {
  private readonly entries = new Map<string, V>();
  /** Every live key in UTF-8 order, plus the keys in `stale`. Excludes the keys in `added`. */
  private sorted: string[] = [];
  /** Live keys not yet in `sorted`. */
  private readonly added = new Set<string>();
  /** Keys still in `sorted` that were deleted since. */
  private readonly stale = new Set<string>();

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  set(key: string, value: V): void {
    if (!this.entries.has(key) && !this.stale.delete(key)) this.added.add(key);
    this.entries.set(key, value);
  }

  delete(key: string): void {
    if (!this.entries.delete(key)) return;
    if (!this.added.delete(key)) this.stale.add(key);
  }

  /** A snapshot of the entries in [gte, lt), ascending, at most `limit`. */
  range(options: RangeOptions): [string, V][] {
    const index = this.index();
    const out: [string, V][] = [];
    const limit = options.limit ?? Infinity;
    let i = options.gte === undefined ? 0 : lowerBound(index, options.gte);
    for (; i < index.length && out.length < limit; i++) {
      const key = index[i]!;
      if (options.lt !== undefined && compareUtf8(key, options.lt) >= 0) break;
      const value = this.entries.get(key);
      if (value !== undefined) out.push([key, value]);
    }
    return out;
  }

  private index(): string[] {
    if (this.stale.size > Math.max(staleKeysMin, this.sorted.length >> 2)) {
      this.sorted = this.sorted.filter((k) => this.entries.has(k));
      this.stale.clear();
    }
    if (this.added.size === 0) return this.sorted;
    if (this.added.size <= spliceKeysMax) {
      for (const key of this.added) this.sorted.splice(lowerBound(this.sorted, key), 0, key);
    } else {
      this.sorted = merge(this.sorted, [...this.added].sort(compareUtf8));
    }
    this.added.clear();
    return this.sorted;
  }
}

/** The first index whose key is >= `key`. */
function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareUtf8(keys[mid]!, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function merge(a: readonly string[], b: readonly string[]): string[] {
  const out = new Array<string>(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = compareUtf8(a[i]!, b[j]!) <= 0 ? a[i++]! : b[j++]!;
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}
