import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MerkleTree,
  entryHash,
  merkleDepthMax,
  segmentOf,
  type SegmentEntry,
} from '../../../src/core/merkle/merkle-tree.ts';

/** One write as the store sees it: a key gets a version digest, or is removed (undefined). */
const op = fc.record({
  key: fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }),
  digest: fc.option(fc.constantFrom('v1', 'v2', 'v3', 'tomb:v4'), { nil: undefined }),
});

/** Applies ops to a map and to the tree, passing the tree the digest it last saw. */
function replay(
  ops: readonly { key: string; digest: string | undefined }[],
  tree: MerkleTree,
): Map<string, string> {
  const store = new Map<string, string>();
  for (const { key, digest } of ops) {
    tree.update(key, store.get(key), digest);
    if (digest === undefined) store.delete(key);
    else store.set(key, digest);
  }
  return store;
}

function entriesOf(store: Map<string, string>): SegmentEntry[] {
  return [...store].map(([key, digest]) => ({ key, digest }));
}

describe('MerkleTree', () => {
  it('[AE1] incremental updates equal a rebuild from the final entries', () => {
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 200 }),
        fc.integer({ min: 1, max: 8 }),
        (ops, depth) => {
          const tree = new MerkleTree(depth);
          const store = replay(ops, tree);
          const rebuilt = MerkleTree.fromEntries(entriesOf(store), depth);
          expect(tree.equals(rebuilt)).toBe(true);
          expect(tree.levels(depth + 1)).toEqual(rebuilt.levels(depth + 1));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('[AE1] deleting everything returns the tree to all zeros', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 100 }), (ops) => {
        const tree = new MerkleTree(6);
        const store = replay(ops, tree);
        for (const [key, digest] of store) tree.update(key, digest, undefined);
        expect(tree.equals(new MerkleTree(6))).toBe(true);
        expect(tree.rootHex()).toBe('0'.repeat(16));
      }),
    );
  });

  it('[AE2] the tree does not depend on insertion order (XOR is commutative)', () => {
    const entries = fc.uniqueArray(
      fc.record({
        key: fc.string({ minLength: 1, maxLength: 10 }),
        digest: fc.string({ maxLength: 6 }),
      }),
      { selector: (e) => e.key, maxLength: 150 },
    );
    fc.assert(
      fc.property(entries, fc.integer({ min: 1, max: 10 }), fc.nat(), (list, depth, seed) => {
        const shuffled = [...list];
        // Deterministic Fisher–Yates driven by the generated seed.
        let s = seed;
        for (let i = shuffled.length - 1; i > 0; i--) {
          s = (Math.imul(s, 1103515245) + 12345) >>> 0;
          const j = s % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        expect(
          MerkleTree.fromEntries(shuffled, depth).equals(MerkleTree.fromEntries(list, depth)),
        ).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('[AE3] every node is the XOR of the entry hashes beneath it', () => {
    const depth = 4;
    const list: SegmentEntry[] = Array.from({ length: 100 }, (_, i) => ({
      key: `k${i}`,
      digest: `d${i % 7}`,
    }));
    const tree = MerkleTree.fromEntries(list, depth);
    for (let level = 0; level <= depth; level++) {
      for (let index = 0; index < 2 ** level; index++) {
        let hi = 0;
        let lo = 0;
        for (const e of list) {
          if (segmentOf(e.key, depth) >>> (depth - level) !== index) continue;
          const h = entryHash(e.key, e.digest);
          hi = (hi ^ h.hi) >>> 0;
          lo = (lo ^ h.lo) >>> 0;
        }
        expect(tree.node(level, index)).toEqual({ hi, lo });
      }
    }
  });

  it('[AE3] the tree covers versions: same keys with another digest give another root', () => {
    const a = MerkleTree.fromEntries([{ key: 'k', digest: 'v1' }]);
    const b = MerkleTree.fromEntries([{ key: 'k', digest: 'v2' }]);
    const tomb = MerkleTree.fromEntries([{ key: 'k', digest: 'tomb:v1' }]);
    expect(a.rootHex()).not.toBe(b.rootHex());
    expect(a.rootHex()).not.toBe(tomb.rootHex());
    // Key and digest are separated, so ("ab", "c") and ("a", "bc") differ.
    expect(entryHash('ab', 'c')).not.toEqual(entryHash('a', 'bc'));
  });

  it('segments lie in 0..2^depth-1 and update touches only its own path', () => {
    const tree = new MerkleTree(10);
    tree.update('hello', undefined, 'v1');
    const seg = segmentOf('hello', 10);
    expect(seg).toBeGreaterThanOrEqual(0);
    expect(seg).toBeLessThan(1024);
    let nonZero = 0;
    for (let level = 0; level <= 10; level++) {
      for (let i = 0; i < 2 ** level; i++) if (tree.nodeHex(level, i) !== '0'.repeat(16)) nonZero++;
    }
    expect(nonZero).toBe(11);
    expect(tree.nodeHex(10, seg)).toBe(tree.rootHex());
  });

  it('levels(n) gives the top n levels as hex, clamped to the tree', () => {
    const tree = MerkleTree.fromEntries([{ key: 'a', digest: '1' }], 3);
    const levels = tree.levels(3);
    expect(levels.map((l) => l.length)).toEqual([1, 2, 4]);
    expect(levels[0]).toEqual([tree.rootHex()]);
    for (const row of levels) for (const hex of row) expect(hex).toMatch(/^[0-9a-f]{16}$/);
    expect(tree.levels(99).length).toBe(4);
    expect(tree.levels(0).length).toBe(1);
  });

  it('copyWords/loadWords round-trip a tree; inner nodes are recomputed from the saved leaves', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.integer({ min: 1, max: 8 }), (ops, depth) => {
        const tree = new MerkleTree(depth);
        replay(ops, tree);
        const saved = tree.copyWords();
        // Garble every inner node of the copy: only the leaves may count.
        for (let i = 2; i < 2 * tree.segments; i++) saved[i] = 0xdeadbeef;
        const restored = new MerkleTree(depth);
        restored.loadWords(saved);
        expect(restored.equals(tree)).toBe(true);
        expect(restored.rootHex()).toBe(tree.rootHex());
      }),
      { numRuns: 100 },
    );
    expect(() => new MerkleTree(3).loadWords(new Uint32Array(8))).toThrow(RangeError);
  });

  it('clear empties the tree; bad depth and out-of-range nodes are refused', () => {
    const tree = MerkleTree.fromEntries([{ key: 'a', digest: '1' }], 5);
    tree.clear();
    expect(tree.equals(new MerkleTree(5))).toBe(true);
    expect(() => new MerkleTree(0)).toThrow(RangeError);
    expect(() => new MerkleTree(merkleDepthMax + 1)).toThrow(RangeError);
    expect(() => new MerkleTree(2.5)).toThrow(RangeError);
    expect(() => tree.node(6, 0)).toThrow(RangeError);
    expect(() => tree.node(2, 4)).toThrow(RangeError);
  });
});
