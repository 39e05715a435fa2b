import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';
import { buildPartitionTree, GROUPING_TTL_MS } from '../../src/node/anti-entropy-trees.ts';
import { encodeRecord, recordDigest } from '../../src/node/record-codec.ts';
import { DATA_TABLE, dataKey } from '../../src/node/storage-layout.ts';
import { coordinateWrite, type VersionedRecord } from '../../src/core/siblings.ts';
import { emptyVector } from '../../src/core/version-vector.ts';

/**
 * A partition's tree without a per-key index (issue #12): the old digest comes from `before`,
 * and segment lookups come from a grouping of the partition's keys that `apply` keeps current.
 * Whatever the sequence of changes, the tree and every lookup must equal a fresh build.
 */
const P = 3;
const DEPTH = 4;

const version = (prev: VersionedRecord | undefined, v: string, deleted = false): VersionedRecord =>
  coordinateWrite(prev, prev?.context ?? emptyVector(), 'n1', { value: new TextEncoder().encode(v), contentType: 'text/plain', deleted, writtenAtMs: 1 }).record;

const op = fc.record({ key: fc.constantFrom(...Array.from({ length: 12 }, (_, i) => `k${i}`)), kind: fc.constantFrom('put', 'delete', 'remove') });

describe('PartitionTree', () => {
  it('[AE-T1] after any changes, the tree and every segment lookup equal a fresh build from storage', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), fc.array(fc.nat(40), { maxLength: 4 }), async (ops, lookupsAt) => {
        const storage = new MemoryStorage();
        let nowMs = 1_000;
        const now = (): number => nowMs;
        const { tree } = buildPartitionTree(storage, P, DEPTH, now);
        const records = new Map<string, VersionedRecord>();
        for (const [i, { key, kind }] of ops.entries()) {
          // Lookups in between build the grouping that the later changes must keep current.
          if (lookupsAt.includes(i)) for (let s = 0; s < 2 ** DEPTH; s++) void [...tree.lookup(s)];
          const before = records.get(key);
          const after = kind === 'remove' ? undefined : version(before, `${key}@${i}`, kind === 'delete');
          if (after === undefined) records.delete(key);
          else records.set(key, after);
          await storage.write([after === undefined ? { type: 'del', table: DATA_TABLE, key: dataKey(P, key) } : { type: 'put', table: DATA_TABLE, key: dataKey(P, key), value: encodeRecord(after) }]);
          tree.apply(key, before, after);
          nowMs += 10;
        }
        const fresh = buildPartitionTree(storage, P, DEPTH, now).tree;
        expect(tree.tree.equals(fresh.tree)).toBe(true);
        expect(tree.keyCount).toBe(records.size);
        expect([...tree.tombstones()].sort()).toEqual([...fresh.tombstones()].sort());
        const sorted = (entries: Iterable<{ key: string; digest: string }>) => [...entries].sort((a, b) => (a.key < b.key ? -1 : 1));
        for (let s = 0; s < 2 ** DEPTH; s++) expect(sorted(tree.lookup(s))).toEqual(sorted(fresh.lookup(s)));
        // Every key's digest is what its stored record gives.
        const all = Array.from({ length: 2 ** DEPTH }, (_, s) => [...tree.lookup(s)]).flat();
        for (const [key, r] of records) expect(all.find((e) => e.key === key)?.digest).toBe(recordDigest(r));
      }),
      { numRuns: 150 },
    );
  });

  it('[AE-T2] a grouping older than the TTL is rebuilt by the next lookup and dropped by dropStaleGrouping', async () => {
    const storage = new MemoryStorage();
    let nowMs = 0;
    const { tree } = buildPartitionTree(storage, P, DEPTH, () => nowMs);
    const all = (): string[] => Array.from({ length: 2 ** DEPTH }, (_, s) => [...tree.lookup(s)].map((e) => e.key)).flat().sort();
    expect(all()).toEqual([]);
    // A write that bypasses `apply` (as a missed change would) is seen only after the TTL.
    await storage.write([{ type: 'put', table: DATA_TABLE, key: dataKey(P, 'late'), value: encodeRecord(version(undefined, 'v')) }]);
    expect(all()).toEqual([]);
    nowMs += GROUPING_TTL_MS + 1;
    expect(all()).toEqual(['late']);
    nowMs += GROUPING_TTL_MS + 1;
    tree.dropStaleGrouping();
    await storage.write([{ type: 'del', table: DATA_TABLE, key: dataKey(P, 'late') }]);
    expect(all()).toEqual([]);
  });
});
