/**
 * One replicated partition's anti-entropy state on this node: its Merkle tree, the number of
 * keys it covers and the keys it holds as tombstones (the reaper's candidates).
 *
 * Memory is O(segments), not O(keys): the tree is a fixed array of 2^depth leaves, and there
 * is no resident key → digest index (1,000,000 keys would cost ~150 MB of heap, issue #12).
 * What an index would give is recomputed when needed:
 *  - `apply` takes the old digest from a small cache of the digests it applied last, else from
 *    the `before` record the node hands to change listeners (the record as stored until now),
 *    so the tree stays exactly `fromEntries(storage)` as long as every change is reported in
 *    order — which KvNode guarantees (LocalChangeListener);
 *  - the exchange's `lookup` of a differing segment reads that segment's keys from storage. The
 *    keys of a partition are grouped by segment once per exchange (`SegmentKeys`) and kept up to
 *    date by `apply` while an exchange holds them, so a descent that lists many segments scans
 *    the partition once, not once per segment.
 * A missed change or silent corruption makes tree and storage drift apart; the periodic rebuild
 * finds and repairs that.
 */
import type { Key, PartitionIndex } from '../core/types.ts';
import { isDeleted, type VersionedRecord } from '../core/siblings.ts';
import { MerkleTree, segmentOf, type SegmentEntry, type VersionDigest } from '../core/merkle/merkle-tree.ts';
import type { EntryLookup } from '../core/merkle/entry-hashes.ts';
import type { Storage } from '../storage/storage.ts';
import { decodeRecord, recordDigest } from './record-codec.ts';
import { DATA_TABLE, dataKey, dataRange, keyOfDataKey } from './storage-layout.ts';

/**
 * Digests the tree last applied, for the most recently changed keys of a partition: a hot key's
 * next change then needs one digest, not two. Bounded (oldest forgotten first); a key not
 * here has its old digest computed from the `before` record.
 */
const RECENT_DIGESTS_MAX = 512;

/** A partition's keys grouped by Merkle segment, for one exchange's lookups. */
type SegmentKeys = Map<number, Set<Key>>;

export class PartitionTree {
  readonly partition: PartitionIndex;
  readonly tree: MerkleTree;
  readonly #storage: Storage;
  readonly #tombstones = new Set<Key>();
  #keys = 0;
  readonly #recent = new Map<Key, VersionDigest>();
  #segmentKeys: SegmentKeys | null = null;
  /** Exchanges currently holding `#segmentKeys`; the grouping is dropped when the last ends. */
  #holders = 0;

  constructor(storage: Storage, partition: PartitionIndex, depth: number) {
    this.#storage = storage;
    this.partition = partition;
    this.tree = new MerkleTree(depth);
  }

  /**
   * Records that `key` went from `before` to `after` (undefined = absent on this node). O(depth)
   * plus two digests. `before` must be what the tree last saw for the key (see the header).
   */
  apply(key: Key, before: VersionedRecord | undefined, after: VersionedRecord | undefined): void {
    const old = before === undefined ? undefined : (this.#recent.get(key) ?? recordDigest(before));
    const next = after === undefined ? undefined : recordDigest(after);
    this.tree.update(key, old, next);
    this.#recent.delete(key);
    if (next !== undefined) {
      this.#recent.set(key, next);
      if (this.#recent.size > RECENT_DIGESTS_MAX) this.#recent.delete(this.#recent.keys().next().value!);
    }
    if (before === undefined && after !== undefined) this.#keys++;
    else if (before !== undefined && after === undefined) this.#keys--;
    if (after !== undefined && isDeleted(after)) this.#tombstones.add(key);
    else this.#tombstones.delete(key);
    if (this.#segmentKeys !== null && (before === undefined) !== (after === undefined)) {
      const segment = segmentOf(key, this.tree.depth);
      let keys = this.#segmentKeys.get(segment);
      if (after === undefined) keys?.delete(key);
      else {
        if (keys === undefined) this.#segmentKeys.set(segment, (keys = new Set()));
        keys.add(key);
      }
    }
  }

  /**
   * Runs `fn` (one exchange, as initiator) with `lookup` served from a grouping of the
   * partition's keys by segment, built on first use and shared by concurrent exchanges.
   */
  async withLookup<T>(fn: (lookup: EntryLookup) => Promise<T>): Promise<T> {
    this.#holders++;
    try {
      return await fn(this.#lookup);
    } finally {
      this.#release();
    }
  }

  /** The same for one synchronous step (a responder answering one request). */
  withLookupSync<T>(fn: (lookup: EntryLookup) => T): T {
    this.#holders++;
    try {
      return fn(this.#lookup);
    } finally {
      this.#release();
    }
  }

  #release(): void {
    if (--this.#holders === 0) this.#segmentKeys = null;
  }

  /** The entries (key, digest) this replica holds in one segment, read from storage. */
  readonly #lookup: EntryLookup = (segment) => {
    const keys = this.#groupBySegment().get(segment);
    if (keys === undefined) return [];
    const out: SegmentEntry[] = [];
    for (const key of keys) {
      const bytes = this.#storage.get(DATA_TABLE, dataKey(this.partition, key));
      if (bytes === undefined) continue;
      try {
        out.push({ key, digest: recordDigest(decodeRecord(bytes)) });
      } catch {
        // Unreadable here: left out, so the exchange fetches the peer's version of the key.
      }
    }
    return out;
  };

  #groupBySegment(): SegmentKeys {
    if (this.#segmentKeys !== null) return this.#segmentKeys;
    const grouped: SegmentKeys = new Map();
    for (const [k] of this.#storage.range(DATA_TABLE, dataRange(this.partition))) {
      const key = keyOfDataKey(k);
      const segment = segmentOf(key, this.tree.depth);
      let keys = grouped.get(segment);
      if (keys === undefined) grouped.set(segment, (keys = new Set()));
      keys.add(key);
    }
    this.#segmentKeys = grouped;
    return grouped;
  }

  /** Keys held as tombstones (live view; copy before mutating storage while iterating). */
  tombstones(): ReadonlySet<Key> {
    return this.#tombstones;
  }

  get keyCount(): number {
    return this.#keys;
  }

  /** The state to save at a clean shutdown (anti-entropy-snapshot.ts). */
  snapshot(): { words: Uint32Array; keys: number; tombstones: Key[] } {
    return { words: this.tree.copyWords(), keys: this.#keys, tombstones: [...this.#tombstones] };
  }

  /** A tree restored from a snapshot taken at a clean shutdown, with no storage scan. */
  static restore(
    storage: Storage,
    partition: PartitionIndex,
    depth: number,
    saved: { words: Uint32Array; keys: number; tombstones: readonly Key[] },
  ): PartitionTree {
    const pt = new PartitionTree(storage, partition, depth);
    pt.tree.loadWords(saved.words);
    pt.#keys = saved.keys;
    for (const key of saved.tombstones) pt.#tombstones.add(key);
    return pt;
  }
}

/**
 * Builds a partition's tree from storage, synchronously (so no local change can interleave).
 * The range sees writes still being committed (storage rule ST3), so nothing in flight is
 * missed. Returns the tree and how many records could not be decoded (left out: a peer
 * repairs them).
 */
export function buildPartitionTree(
  storage: Storage,
  partition: PartitionIndex,
  depth: number,
): { tree: PartitionTree; corrupt: number } {
  const tree = new PartitionTree(storage, partition, depth);
  let corrupt = 0;
  for (const [k, bytes] of storage.range(DATA_TABLE, dataRange(partition))) {
    let record: VersionedRecord;
    try {
      record = decodeRecord(bytes);
    } catch {
      corrupt++;
      continue;
    }
    tree.apply(keyOfDataKey(k), undefined, record);
  }
  return { tree, corrupt };
}
