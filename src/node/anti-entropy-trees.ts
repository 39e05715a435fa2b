/**
 * One replicated partition's anti-entropy state on this node: its Merkle tree, a segment → key →
 * digest index (the exchange's `EntryLookup`, so a differing segment is answered without a
 * storage scan) and the set of keys it holds as tombstones (the reaper's candidates).
 *
 * Invariant: the tree is exactly `MerkleTree.fromEntries(index)`. Every change goes through
 * `apply`, which takes the old digest from the index (what the tree last saw), never from the
 * caller, so tree and index cannot drift apart; storage and index can (a missed change, silent
 * corruption), which the periodic rebuild repairs.
 */
import type { Key, PartitionIndex } from '../core/types.ts';
import { isDeleted, type VersionedRecord } from '../core/siblings.ts';
import {
  MerkleTree,
  segmentOf,
  type SegmentEntry,
  type VersionDigest,
} from '../core/merkle/merkle-tree.ts';
import type { EntryLookup } from '../core/merkle/entry-hashes.ts';
import type { Storage } from '../storage/storage.ts';
import { decodeRecord, recordDigest } from './record-codec.ts';
import { DATA_TABLE, dataKey, dataRange, keyOfDataKey } from './storage-layout.ts';

export class PartitionTree {
  readonly partition: PartitionIndex;
  readonly tree: MerkleTree;
  readonly #segments = new Map<number, Map<Key, VersionDigest>>();
  readonly #tombstones = new Set<Key>();
  #keys = 0;

  constructor(partition: PartitionIndex, depth: number) {
    this.partition = partition;
    this.tree = new MerkleTree(depth);
  }

  /** Records that `key` now holds `after` (undefined = removed from this node). O(depth). */
  apply(key: Key, after: VersionedRecord | undefined): void {
    const segment = segmentOf(key, this.tree.depth);
    let entries = this.#segments.get(segment);
    const old = entries?.get(key);
    const next = after === undefined ? undefined : recordDigest(after);
    this.tree.update(key, old, next);
    if (next === undefined) {
      if (entries?.delete(key)) this.#keys--;
      if (entries?.size === 0) this.#segments.delete(segment);
      this.#tombstones.delete(key);
      return;
    }
    if (entries === undefined) this.#segments.set(segment, (entries = new Map()));
    if (old === undefined) this.#keys++;
    entries.set(key, next);
    if (isDeleted(after!)) this.#tombstones.add(key);
    else this.#tombstones.delete(key);
  }

  /** The exchange's view of one segment. */
  readonly lookup: EntryLookup = (segment) => {
    const entries = this.#segments.get(segment);
    if (entries === undefined) return [];
    return [...entries].map(([key, digest]): SegmentEntry => ({ key, digest }));
  };

  digestOf(key: Key): VersionDigest | undefined {
    return this.#segments.get(segmentOf(key, this.tree.depth))?.get(key);
  }

  /** Keys held as tombstones (live view; copy before mutating storage while iterating). */
  tombstones(): ReadonlySet<Key> {
    return this.#tombstones;
  }

  get keyCount(): number {
    return this.#keys;
  }

  *keys(): Iterable<Key> {
    for (const entries of this.#segments.values()) yield* entries.keys();
  }
}

/**
 * Builds a partition's tree from storage, synchronously (so no local change can interleave).
 * A storage range may omit writes that are issued but not yet durable (LMDB, ST3), so the keys
 * also include `alsoKeys` (what the previous tree or the change log knew) and every key's
 * current record is read with `get`, which sees pending writes (ST2).
 * Returns the tree and how many records could not be decoded (left out: a peer repairs them).
 */
export function buildPartitionTree(
  storage: Storage,
  partition: PartitionIndex,
  depth: number,
  alsoKeys: Iterable<Key>,
): { tree: PartitionTree; corrupt: number } {
  const tree = new PartitionTree(partition, depth);
  const keys = new Set<Key>(alsoKeys);
  for (const [k] of storage.range(DATA_TABLE, dataRange(partition))) keys.add(keyOfDataKey(k));
  let corrupt = 0;
  for (const key of keys) {
    const bytes = storage.get(DATA_TABLE, dataKey(partition, key));
    if (bytes === undefined) continue;
    let record: VersionedRecord;
    try {
      record = decodeRecord(bytes);
    } catch {
      corrupt++;
      continue;
    }
    tree.apply(key, record);
  }
  return { tree, corrupt };
}
