/**
 * The key hash: where a key lives on the ring.
 *
 * Algorithm: MurmurHash3 x86_128 (Austin Appleby, SMHasher, public domain), of which we keep
 * the first 64 bits. Why this one:
 * - it needs only 32-bit multiplies, which JavaScript does natively with `Math.imul`, so the
 *   hot path has no BigInt and no allocation besides the UTF-8 bytes. The x64_128 variant
 *   (Cassandra's Murmur3Partitioner) needs 64-bit multiplies, i.e. BigInt or 16-bit limbs;
 * - it passes SMHasher's distribution and avalanche tests (two xxHash32 runs with different
 *   seeds would also do, but would read the key twice and are not one published function
 *   with one published verification value);
 * - the output is fixed by a published test (SMHasher `VerificationTest`, value 0xB3ECE62A),
 *   which test/core/hash.test.ts reproduces, so any other implementation can be checked
 *   against ours.
 * It is not a cryptographic hash: keys are placed, not authenticated. Riak uses SHA-1 for
 * the same job; placement only needs uniformity.
 *
 * The 64-bit hash is `{ hi, lo }`, both unsigned 32-bit: the first 8 output bytes read as one
 * little-endian u64 (bytes 0..3 are word h1 = `lo`, bytes 4..7 are word h2 = `hi`).
 */

/** A 64-bit hash as two unsigned 32-bit halves (no BigInt on the hot path). */
export interface Hash64 {
  readonly hi: number;
  readonly lo: number;
}

const encoder = new TextEncoder();

/** The UTF-8 bytes of a string (the form in which keys are hashed, stored and measured). */
export function utf8(key: string): Uint8Array {
  return encoder.encode(key);
}

// MurmurHash3 x86_128 constants, from MurmurHash3.cpp in SMHasher.
const C1 = 0x239b961b;
const C2 = 0xab0e9789;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93;

function rotl32(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/** MurmurHash3's 32-bit finalizer: forces every input bit to affect every output bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Reads a little-endian u32 (MurmurHash3's `getblock32` on a little-endian machine). */
function readU32(bytes: Uint8Array, i: number): number {
  return (
    ((bytes[i] ?? 0) |
      ((bytes[i + 1] ?? 0) << 8) |
      ((bytes[i + 2] ?? 0) << 16) |
      ((bytes[i + 3] ?? 0) << 24)) >>>
    0
  );
}

/**
 * MurmurHash3_x86_128 of `bytes` with `seed`, as the four output words h1..h4 (unsigned).
 * The reference writes them to memory in that order, each little-endian. `len` hashes a
 * prefix of `bytes` (keyHash reuses one buffer).
 */
export function murmur3x86x128(
  bytes: Uint8Array,
  seed = 0,
  len = bytes.length,
): [number, number, number, number] {
  murmurInto(bytes, seed, len);
  return [murmurOut[0]!, murmurOut[1]!, murmurOut[2]!, murmurOut[3]!];
}

/**
 * Where `murmurInto` leaves h1..h4. Why not return them: an array per hash, and its iterator
 * when destructured, were a fifth of what a write allocates on the hot path (keys are hashed
 * for placement and the Merkle digests several times per write; V8's sampling heap profiler).
 */
const murmurOut = new Uint32Array(4);

/** MurmurHash3_x86_128 of `bytes[0, len)` with `seed`, into `murmurOut`. */
function murmurInto(bytes: Uint8Array, seed: number, len: number): void {
  const blockEnd = len - (len % 16);
  let h1 = seed >>> 0;
  let h2 = h1;
  let h3 = h1;
  let h4 = h1;

  for (let i = 0; i < blockEnd; i += 16) {
    let k1 = readU32(bytes, i);
    let k2 = readU32(bytes, i + 4);
    let k3 = readU32(bytes, i + 8);
    let k4 = readU32(bytes, i + 12);

    k1 = Math.imul(rotl32(Math.imul(k1, C1), 15), C2);
    h1 ^= k1;
    h1 = (Math.imul(rotl32(h1, 19) + h2, 5) + 0x561ccd1b) | 0;

    k2 = Math.imul(rotl32(Math.imul(k2, C2), 16), C3);
    h2 ^= k2;
    h2 = (Math.imul(rotl32(h2, 17) + h3, 5) + 0x0bcaa747) | 0;

    k3 = Math.imul(rotl32(Math.imul(k3, C3), 17), C4);
    h3 ^= k3;
    h3 = (Math.imul(rotl32(h3, 15) + h4, 5) + 0x96cd1c35) | 0;

    k4 = Math.imul(rotl32(Math.imul(k4, C4), 18), C1);
    h4 ^= k4;
    h4 = (Math.imul(rotl32(h4, 13) + h1, 5) + 0x32ac3b17) | 0;
  }

  // Tail: the reference's fall-through switch, as ifs (the lint forbids fall-through).
  const rest = len & 15;
  const t = blockEnd;
  if (rest > 12) {
    let k4 = 0;
    if (rest >= 15) k4 ^= (bytes[t + 14] ?? 0) << 16;
    if (rest >= 14) k4 ^= (bytes[t + 13] ?? 0) << 8;
    k4 ^= bytes[t + 12] ?? 0;
    h4 ^= Math.imul(rotl32(Math.imul(k4, C4), 18), C1);
  }
  if (rest > 8) {
    let k3 = 0;
    if (rest >= 12) k3 ^= (bytes[t + 11] ?? 0) << 24;
    if (rest >= 11) k3 ^= (bytes[t + 10] ?? 0) << 16;
    if (rest >= 10) k3 ^= (bytes[t + 9] ?? 0) << 8;
    k3 ^= bytes[t + 8] ?? 0;
    h3 ^= Math.imul(rotl32(Math.imul(k3, C3), 17), C4);
  }
  if (rest > 4) {
    let k2 = 0;
    if (rest >= 8) k2 ^= (bytes[t + 7] ?? 0) << 24;
    if (rest >= 7) k2 ^= (bytes[t + 6] ?? 0) << 16;
    if (rest >= 6) k2 ^= (bytes[t + 5] ?? 0) << 8;
    k2 ^= bytes[t + 4] ?? 0;
    h2 ^= Math.imul(rotl32(Math.imul(k2, C2), 16), C3);
  }
  if (rest > 0) {
    let k1 = 0;
    if (rest >= 4) k1 ^= (bytes[t + 3] ?? 0) << 24;
    if (rest >= 3) k1 ^= (bytes[t + 2] ?? 0) << 16;
    if (rest >= 2) k1 ^= (bytes[t + 1] ?? 0) << 8;
    k1 ^= bytes[t] ?? 0;
    h1 ^= Math.imul(rotl32(Math.imul(k1, C1), 15), C2);
  }

  // Finalization. The reference's `len` is an int; keys are far below 2^31 bytes.
  h1 ^= len;
  h2 ^= len;
  h3 ^= len;
  h4 ^= len;
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix32(h1);
  h2 = fmix32(h2);
  h3 = fmix32(h3);
  h4 = fmix32(h4);
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  murmurOut[0] = h1;
  murmurOut[1] = h2;
  murmurOut[2] = h3;
  murmurOut[3] = h4;
}

/**
 * The 64-bit hash of some bytes: the first 64 bits of MurmurHash3 x86_128, seed 0. `len`
 * hashes a prefix (a reused buffer).
 */
export function hash64(bytes: Uint8Array, len = bytes.length): Hash64 {
  murmurInto(bytes, 0, len);
  return { hi: murmurOut[1]!, lo: murmurOut[0]! };
}

/**
 * Room for any key within the 512-byte limit without allocating: a UTF-16 code unit is at
 * most 3 UTF-8 bytes, so 3 × 512 bytes fits every key of up to 512 code units.
 */
const keyScratchBytes = 3 * 512;
const scratch = new Uint8Array(keyScratchBytes);

/** The 64-bit hash of a key's UTF-8 bytes (the same as `hash64(utf8(key))`). */
export function keyHash(key: string): Hash64 {
  keyHashInto(key);
  return { hi: murmurOut[1]!, lo: murmurOut[0]! };
}

/** The high half of `keyHash(key)`, without allocating: all that placement needs. */
export function keyHashHi(key: string): number {
  keyHashInto(key);
  return murmurOut[1]!;
}

/** The hash of a key's UTF-8 bytes, into `murmurOut`. */
function keyHashInto(key: string): void {
  const units = key.length;
  if (units * 3 > keyScratchBytes) {
    const bytes = utf8(key);
    murmurInto(bytes, 0, bytes.length);
    return;
  }
  // Keys are mostly ASCII: copy those directly; TextEncoder costs ~3× the hash itself.
  let i = 0;
  for (; i < units; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x80) break;
    scratch[i] = c;
  }
  murmurInto(scratch, 0, i === units ? units : encoder.encodeInto(key, scratch).written);
}

function hex8(word: number): string {
  return (word >>> 0).toString(16).toUpperCase().padStart(8, '0');
}

/** `0x` and 16 upper-case hex digits, most significant first (e.g. `0x2A7F00000000BEEF`). */
export function hashHex(h: Hash64): string {
  return `0x${hex8(h.hi)}${hex8(h.lo)}`;
}

/**
 * The partition a hash falls in: the top log2(Q) bits of the hash (Dynamo §6.2 strategy 3,
 * Q equal ranges of the hash space; partition i covers [i·2^64/Q, (i+1)·2^64/Q)).
 * `partitionCount` must be a power of two (the ring bounds it further).
 */
export function partitionOfHash(h: Hash64, partitionCount: number): number {
  return partitionOfHashHi(h.hi, partitionCount);
}

/** `partitionOfHash` from the hash's high half (the only bits it reads). */
export function partitionOfHashHi(hi: number, partitionCount: number): number {
  if (
    !Number.isInteger(partitionCount) ||
    partitionCount < 1 ||
    partitionCount > 2 ** 30 ||
    (partitionCount & (partitionCount - 1)) !== 0
  ) {
    throw new RangeError(`partitionCount must be a power of two in 1..2^30, got ${partitionCount}`);
  }
  const bits = 31 - Math.clz32(partitionCount);
  return bits === 0 ? 0 : hi >>> (32 - bits);
}
