/**
 * Figures for the report (printed, not asserted): bytes per exchange at 100k keys and the cost of
 * incremental updates. The only assertions check that each run found what it should, so a
 * figure is never printed for a wrong answer.
 */
import { describe, expect, it } from 'vitest';
import { MerkleTree, segmentOf, type SegmentEntry } from '../../../src/core/merkle/merkle-tree.ts';
import { lookupBySegment, runExchange } from '../../../src/core/merkle/run-exchange.ts';

const keysTotal = 100_000;
const partitions = 64;
const depth = 10;

function digestOf(i: number, generation: number): string {
  return ((i * 2654435761 + generation * 40503) >>> 0).toString(16).padStart(16, '0');
}

const base: SegmentEntry[] = Array.from({ length: keysTotal }, (_, i) => ({
  key: `key-${i}`,
  digest: digestOf(i, 0),
}));

/** B = A with `differing` keys changed: a third new versions, a third missing on B, a third only on B. */
function diverge(differing: number): { a: SegmentEntry[]; b: SegmentEntry[]; recordBytes: number } {
  const a = [...base];
  const b = [...base];
  let recordBytes = 0;
  const stride = Math.floor(keysTotal / differing);
  for (let n = 0; n < differing; n++) {
    const i = n * stride;
    const kind = n % 3;
    if (kind === 0) b[i] = { key: base[i]!.key, digest: digestOf(i, 1) };
    if (kind === 1) b[i] = undefined as unknown as SegmentEntry;
    if (kind === 2) a[i] = undefined as unknown as SegmentEntry;
    // A minimal record: its key, an 8-byte value and a 16-byte clock; real records are larger.
    recordBytes += base[i]!.key.length + 24;
  }
  return { a: a.filter(Boolean), b: b.filter(Boolean), recordBytes };
}

/** Keys of a partition: the ring's hash is not ours to use, so split by a key-number residue. */
function split(entries: readonly SegmentEntry[]): SegmentEntry[][] {
  const out: SegmentEntry[][] = Array.from({ length: partitions }, () => []);
  for (const e of entries) out[Number(e.key.slice(4)) % partitions]!.push(e);
  return out;
}

function exchangeAll(a: readonly SegmentEntry[][], b: readonly SegmentEntry[][]) {
  let bytes = 0;
  let differing = 0;
  let roundTripsMax = 0;
  let maxPartitionBytes = 0;
  const started = performance.now();
  const trees = a.map((list, p) => {
    const bl = b[p]!;
    return [
      MerkleTree.fromEntries(list, depth),
      lookupBySegment(list, depth),
      MerkleTree.fromEntries(bl, depth),
      lookupBySegment(bl, depth),
    ] as const;
  });
  const built = performance.now();
  trees.forEach(([ta, la, tb, lb], p) => {
    const r = runExchange(ta, la, tb, lb, { partition: p });
    bytes += r.bytes;
    maxPartitionBytes = Math.max(maxPartitionBytes, r.bytes);
    differing += new Set([...r.keysToSend, ...r.keysToFetch]).size;
    roundTripsMax = Math.max(roundTripsMax, r.roundTrips);
  });
  return {
    bytes,
    differing,
    roundTripsMax,
    maxPartitionBytes,
    buildMs: built - started,
    exchangeMs: performance.now() - built,
  };
}

const kib = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;

describe('measurements (printed)', () => {
  it('bytes with no differences: one partition of 100k keys, and 64 partitions of ~1,563', () => {
    const tree = MerkleTree.fromEntries(base, depth);
    const one = runExchange(
      tree,
      lookupBySegment(base, depth),
      MerkleTree.fromEntries(base, depth),
      lookupBySegment(base, depth),
    );
    expect(one.keysToSend.length + one.keysToFetch.length).toBe(0);
    const all = exchangeAll(split(base), split(base));
    expect(all.differing).toBe(0);
    console.log(
      `[measure] no differences: 1 partition × 100k keys: ${one.bytes} B in ${one.roundTrips} round trip; ` +
        `64 partitions × ~1,563 keys: ${all.bytes} B total, ${all.maxPartitionBytes} B max per partition`,
    );
  });

  for (const differing of [10, 1_000, 10_000]) {
    it(`bytes with ${differing} differing keys among 100k`, () => {
      const { a, b, recordBytes } = diverge(differing);
      const bound = 3 * recordBytes + 64 * 1024;

      const single = [depth, 14].map((d) => {
        const t0 = performance.now();
        const ta = MerkleTree.fromEntries(a, d);
        const tb = MerkleTree.fromEntries(b, d);
        const t1 = performance.now();
        const la = lookupBySegment(a, d);
        const lb = lookupBySegment(b, d);
        const tl = performance.now();
        const r = runExchange(ta, la, tb, lb);
        const t2 = performance.now();
        expect(new Set([...r.keysToSend, ...r.keysToFetch]).size).toBe(differing);
        return (
          `1 partition, depth ${d}: ${kib(r.bytes)} (${(r.bytes / bound).toFixed(2)} of bound), ` +
          `${r.roundTrips} round trips, ${r.segmentsDiffering} segments, exchange ${(t2 - tl).toFixed(0)} ms ` +
          `(trees built in ${(t1 - t0).toFixed(0)} ms)`
        );
      });
      const all = exchangeAll(split(a), split(b));
      expect(all.differing).toBe(differing);
      console.log(
        `[measure] ${differing} differing among 100k; bound 3×records+64KiB with minimal records ` +
          `(${recordBytes} B): ${kib(bound)} | 64 partitions × ~1,563 keys (depth ${depth}): ${kib(all.bytes)} ` +
          `(${(all.bytes / bound).toFixed(2)} of bound), ≤${all.roundTripsMax} round trips each, ` +
          `exchanges ${all.exchangeMs.toFixed(0)} ms | ${single.join(' | ')}`,
      );
    });
  }

  it('time to update one tree 100,000 times', () => {
    const tree = new MerkleTree(depth);
    const t0 = performance.now();
    for (const e of base) tree.update(e.key, undefined, e.digest);
    const t1 = performance.now();
    for (let i = 0; i < keysTotal; i++) tree.update(base[i]!.key, base[i]!.digest, digestOf(i, 1));
    const t2 = performance.now();
    const t3 = performance.now();
    let s = 0;
    for (const e of base) s += segmentOf(e.key, depth);
    const t4 = performance.now();
    expect(s).toBeGreaterThan(0);
    console.log(
      `[measure] 100k inserts: ${(t1 - t0).toFixed(0)} ms (${(((t1 - t0) * 1000) / keysTotal).toFixed(2)} µs each); ` +
        `100k version updates (two entry hashes each): ${(t2 - t1).toFixed(0)} ms; 100k segmentOf: ${(t4 - t3).toFixed(0)} ms`,
    );
  });
});
