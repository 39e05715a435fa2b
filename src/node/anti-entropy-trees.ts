/**
 * One replicated partition's anti-entropy state on this node: its Merkle tree, the number of
 * keys it covers and the keys it holds as tombstones (the reaper's candidates).
 *
 * Memory is O(segments), not O(keys): the tree is a fixed array of 2^depth leaves, and there
 * is no resident key → digest index (1,000,000 keys would cost ~150 MB of heap, issue #12).
 * What an index would give is recomputed when needed:
 *  - `apply` takes the old digest from the `before` record the node hands to change listeners
 *    (the record as stored until now), so the tree stays exactly `fromEntries(storage)` as long
 *    as every change is reported in order — which KvNode guarantees (LocalChangeListener);
 *  - the exchange's `lookup` of a differing segment reads that segment's keys from storage. The
 *    keys of a partition are grouped by segment by one scan (`SegmentKeys`), kept up to date by
 *    `apply`, and kept for `GROUPING_TTL_MS` after it was built: every exchange of a round, as
 *    initiator or responder, and every segment it lists share one scan. Anti-entropy drops
 *    stale groupings after each round (`dropStaleGrouping`), so they cost memory only while
 *    exchanges use them.
 * A missed change or silent corruption makes tree and storage drift apart; the periodic rebuild
 * finds and repairs that.
 */
import type { Key, PartitionIndex } from '../core/types.ts';
import { isDeleted, type VersionedRecord } from '../core/siblings.ts';
import { MerkleTree, segmentOf, type SegmentEntry } from '../core/merkle/merkle-tree.ts';
import type { EntryLookup } from '../core/merkle/entry-hashes.ts';
import type { Storage } from '../storage/storage.ts';
import { decodeRecord, recordDigest } from './record-codec.ts';
import { DATA_TABLE, dataKey, dataRange, keyOfDataKey } from './storage-layout.ts';

/** A partition's keys grouped by Merkle segment, for exchanges' lookups. */
type SegmentKeys = Map<number, Set<Key>>;

/** How long a grouping serves lookups before the next lookup rescans (covers a round's exchanges). */
export const GROUPING_TTL_MS = 10_000;

export class PartitionTree {
  readonly partition: PartitionIndex;
  readonly tree: MerkleTree;
  readonly #storage: Storage;
  readonly #tombstones = new Set<Key>();
  #keys = 0;
  readonly #now: () => number;
  #segmentKeys: SegmentKeys | null = null;
  #groupedAtMs = 0;

  constructor(storage: Storage, partition: PartitionIndex, depth: number, now: () => number) {
    this.#storage = storage;
    this.#now = now;
    this.partition = partition;
    this.tree = new MerkleTree(depth);
  }

  /**
   * Records that `key` went from `before` to `after` (undefined = absent on this node). O(depth)
   * plus two digests. `before` must be what the tree last saw for the key (see the header).
   */
  apply(key: Key, before: VersionedRecord | undefined, after: VersionedRecord | undefined): void {
    // Recomputing the old digest costs about what a cache of recent digests did (Map upkeep with
    // fresh key strings, measured), and keeps no per-key state.
    const old = before === undefined ? undefined : recordDigest(before);
    const next = after === undefined ? undefined : recordDigest(after);
    this.tree.update(key, old, next);
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

  /** Forgets the grouping once it is older than the TTL (after a round: memory only while used). */
  dropStaleGrouping(): void {
    if (this.#segmentKeys !== null && this.#now() - this.#groupedAtMs > GROUPING_TTL_MS) this.#segmentKeys = null;
  }

  /** The entries (key, digest) this replica holds in one segment, read from storage. */
  readonly lookup: EntryLookup = (segment) => {
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
    const now = this.#now();
    if (this.#segmentKeys !== null && now - this.#groupedAtMs <= GROUPING_TTL_MS) return this.#segmentKeys;
    const grouped: SegmentKeys = new Map();
    for (const [k] of this.#storage.range(DATA_TABLE, dataRange(this.partition))) {
      const key = keyOfDataKey(k);
      const segment = segmentOf(key, this.tree.depth);
      let keys = grouped.get(segment);
      if (keys === undefined) grouped.set(segment, (keys = new Set()));
      keys.add(key);
    }
    this.#segmentKeys = grouped;
    this.#groupedAtMs = now;
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
    now: () => number,
    saved: { words: Uint32Array; keys: number; tombstones: readonly Key[] },
  ): PartitionTree {
    const pt = new PartitionTree(storage, partition, depth, now);
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
  now: () => number,
): { tree: PartitionTree; corrupt: number } {
  const tree = new PartitionTree(storage, partition, depth, now);
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
