/**
 * The Merkle tree of one (partition, replica): a complete binary tree of fixed depth whose
 * leaves are the segments of the partition's keys.
 *
 * Dynamo §4.7 keeps one Merkle tree per key range so replicas can find differences by comparing
 * hashes top-down instead of shipping data. Like Riak's Tictac AAE, every node here is the XOR
 * of the entry hashes beneath it rather than a hash of its children: XOR is associative,
 * commutative and its own inverse, so a write changes the tree by XORing
 * `entryHash(key, old) ^ entryHash(key, new)` into one leaf and its ancestors — O(depth), no
 * rescan — and the tree is the same whatever order entries arrive in.
 *
 * - Segment of a key: the top `depth` bits of H(key), with H the folder's own hash (hash64.ts),
 *   independent of the ring's hash so a partition's keys spread over all segments.
 * - Entry hash: H(key ‖ 0xFF ‖ digest). 0xFF never occurs in UTF-8, so the pair is unambiguous.
 *   The digest is the caller's summary of the record's version (causal clock + tombstone flag),
 *   so the tree covers key and version, not value bytes alone; two replicas holding the same
 *   versions have equal trees.
 * - Layout: one Uint32Array, two words (hi, lo) per node in heap order: node 1 is the root,
 *   node i has children 2i and 2i+1, level l holds nodes 2^l .. 2^(l+1)-1, leaves are level
 *   `depth`. No per-node objects.
 */
import type { Key } from '../types.ts';
import { Fnv64, hashHex, type Hash64 } from './hash64.ts';

/** The caller's digest of a record's version (e.g. 16 hex digits). Compared by equality only. */
export type VersionDigest = string;

/** One key and the digest of the version this replica holds for it. */
export interface SegmentEntry {
  readonly key: Key;
  readonly digest: VersionDigest;
}

/**
 * 1,024 segments. At the default 64 partitions and ~100k keys that is ~1.5 keys per segment, so
 * a differing segment costs a few entry hashes, and a tree costs 16 KiB per (partition, replica).
 */
export const merkleDepthDefault = 10;

/**
 * 2^20 segments (Riak AAE's order of magnitude); the tree then takes 16 MiB, and larger would
 * let one admin request or one misconfiguration allocate unbounded memory.
 */
export const merkleDepthMax = 20;

/** Separates key bytes from digest bytes in the entry hash; never a byte of UTF-8. */
const keyTerminatorByte = 0xff;

function assertDepth(depth: number): void {
  if (!Number.isInteger(depth) || depth < 1 || depth > merkleDepthMax) {
    throw new RangeError(`merkle depth must be an integer in 1..${merkleDepthMax}, got ${depth}`);
  }
}

/** The segment (leaf index, 0 .. 2^depth-1) a key belongs to in a tree of this depth. */
export function segmentOf(key: Key, depth: number): number {
  assertDepth(depth);
  return new Fnv64().string(key).finish().hi >>> (32 - depth);
}

/** H(key ‖ 0xFF ‖ digest): what one entry contributes to its leaf and every ancestor. */
export function entryHash(key: Key, digest: VersionDigest): Hash64 {
  return new Fnv64().string(key).byte(keyTerminatorByte).string(digest).finish();
}

export class MerkleTree {
  readonly depth: number;
  /** Number of leaves, 2^depth. */
  readonly segments: number;
  private readonly words: Uint32Array;

  constructor(depth: number = merkleDepthDefault) {
    assertDepth(depth);
    this.depth = depth;
    this.segments = 2 ** depth;
    // Heap order from index 1, two words per node; slot 0 is unused.
    this.words = new Uint32Array(2 * 2 * this.segments);
  }

  /** A tree holding exactly `entries` (start-up rebuild). Keys are expected to be distinct. */
  static fromEntries(
    entries: Iterable<SegmentEntry>,
    depth: number = merkleDepthDefault,
  ): MerkleTree {
    const tree = new MerkleTree(depth);
    for (const e of entries) tree.update(e.key, undefined, e.digest);
    return tree;
  }

  /**
   * Records that `key` went from version `oldDigest` to `newDigest` (`undefined` = absent).
   * O(depth). The caller must pass the digest the tree last saw for the key, or the tree drifts
   * from the store (a rebuild with `fromEntries` repairs that).
   */
  update(
    key: Key,
    oldDigest: VersionDigest | undefined,
    newDigest: VersionDigest | undefined,
  ): void {
    if (oldDigest === newDigest) return;
    const prefix = new Fnv64().string(key);
    const segment = prefix.clone().finish().hi >>> (32 - this.depth);
    let hi = 0;
    let lo = 0;
    if (oldDigest !== undefined) {
      const h = prefix.clone().byte(keyTerminatorByte).string(oldDigest).finish();
      hi ^= h.hi;
      lo ^= h.lo;
    }
    if (newDigest !== undefined) {
      const h = prefix.byte(keyTerminatorByte).string(newDigest).finish();
      hi ^= h.hi;
      lo ^= h.lo;
    }
    this.xorPath(segment, hi >>> 0, lo >>> 0);
  }

  /** XORs a change into a leaf and all its ancestors. */
  private xorPath(segment: number, hi: number, lo: number): void {
    for (let n = this.segments + segment; n >= 1; n >>>= 1) {
      this.words[2 * n] = (this.words[2 * n]! ^ hi) >>> 0;
      this.words[2 * n + 1] = (this.words[2 * n + 1]! ^ lo) >>> 0;
    }
  }

  private slot(level: number, index: number): number {
    if (!Number.isInteger(level) || level < 0 || level > this.depth) {
      throw new RangeError(`level ${level} outside 0..${this.depth}`);
    }
    if (!Number.isInteger(index) || index < 0 || index >= 2 ** level) {
      throw new RangeError(`index ${index} outside level ${level}`);
    }
    return 2 * (2 ** level + index);
  }

  node(level: number, index: number): Hash64 {
    const s = this.slot(level, index);
    return { hi: this.words[s]!, lo: this.words[s + 1]! };
  }

  nodeHex(level: number, index: number): string {
    const s = this.slot(level, index);
    return hashHex(this.words[s]!, this.words[s + 1]!);
  }

  /** True when this tree's node equals the given hash. */
  nodeEquals(level: number, index: number, hi: number, lo: number): boolean {
    const s = this.slot(level, index);
    return this.words[s] === hi && this.words[s + 1] === lo;
  }

  root(): Hash64 {
    return this.node(0, 0);
  }

  rootHex(): string {
    return this.nodeHex(0, 0);
  }

  /**
   * Hex of every node in the top `count` levels (clamped to 1..depth+1): `[[root], [2], [4], …]`,
   * the `levels` of `GET /admin/merkle`.
   */
  levels(count: number): string[][] {
    const n = Math.max(1, Math.min(Math.floor(count), this.depth + 1));
    const out: string[][] = [];
    for (let level = 0; level < n; level++) {
      const row: string[] = [];
      for (let i = 0; i < 2 ** level; i++) row.push(this.nodeHex(level, i));
      out.push(row);
    }
    return out;
  }

  /** Copies `count` consecutive node hashes of one level, as (hi, lo) pairs, into `out`. */
  copyLevel(
    level: number,
    first: number,
    count: number,
    out: Uint32Array,
    outOffset: number,
  ): void {
    if (count === 0) return;
    const s = this.slot(level, first);
    this.slot(level, first + count - 1);
    out.set(this.words.subarray(s, s + 2 * count), outOffset);
  }

  /** True when both trees have the same depth and every node is equal. */
  equals(other: MerkleTree): boolean {
    if (other.depth !== this.depth) return false;
    for (let i = 2; i < this.words.length; i++) if (this.words[i] !== other.words[i]) return false;
    return true;
  }

  /** A copy of every node (heap order), to save the tree (see `loadWords`). */
  copyWords(): Uint32Array {
    return this.words.slice();
  }

  /**
   * Replaces every node with saved ones. Only the leaves are trusted: the inner nodes are
   * recomputed from them, so a saved tree cannot be internally inconsistent.
   */
  loadWords(saved: Uint32Array): void {
    if (saved.length !== this.words.length) throw new RangeError(`a depth-${this.depth} tree has ${this.words.length} words, got ${saved.length}`);
    this.words.set(saved.subarray(2 * this.segments), 2 * this.segments);
    for (let n = this.segments - 1; n >= 1; n--) {
      this.words[2 * n] = (this.words[4 * n]! ^ this.words[4 * n + 2]!) >>> 0;
      this.words[2 * n + 1] = (this.words[4 * n + 1]! ^ this.words[4 * n + 3]!) >>> 0;
    }
  }

  /** Empties the tree (before a rebuild). */
  clear(): void {
    this.words.fill(0);
  }
}
