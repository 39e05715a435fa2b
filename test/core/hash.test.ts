import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  hash64,
  hashHex,
  keyHash,
  murmur3x86x128,
  partitionOfHash,
  utf8,
} from '../../src/core/hash.ts';

/**
 * SMHasher's VerificationTest (src/KeysetTest.cpp in aappleby/smhasher): hash the keys
 * {}, {0}, {0,1}, ..., {0..254} with seeds 256, 255, ..., 1, concatenate the outputs as the
 * reference writes them (each word little-endian), hash that with seed 0 and read the first
 * 4 bytes little-endian. The published value for MurmurHash3_x86_128 is 0xB3ECE62A
 * (src/main.cpp, the `g_hashes` table).
 */
function smhasherVerification(): number {
  const key = new Uint8Array(256);
  const hashes = new Uint8Array(16 * 256);
  const view = new DataView(hashes.buffer);
  for (let i = 0; i < 256; i++) {
    key[i] = i;
    const words = murmur3x86x128(key.subarray(0, i), 256 - i);
    words.forEach((w, j) => view.setUint32(i * 16 + j * 4, w, true));
  }
  return murmur3x86x128(hashes, 0)[0];
}

function chiSquare(counts: readonly number[], total: number): number {
  const expected = total / counts.length;
  return counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
}

describe('key hash', () => {
  it('[HASH1] MurmurHash3 x86_128 reproduces the SMHasher verification value 0xB3ECE62A', () => {
    expect(smhasherVerification()).toBe(0xb3ece62a);
  });

  it('[HASH1] the empty input with seed 0 hashes to zero (every step of the reference is linear in 0)', () => {
    expect(murmur3x86x128(new Uint8Array(0), 0)).toEqual([0, 0, 0, 0]);
    expect(hash64(new Uint8Array(0))).toEqual({ hi: 0, lo: 0 });
  });

  it('[HASH2] hash64 is the first 8 output bytes as a little-endian u64: lo = h1, hi = h2', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        const [h1, h2] = murmur3x86x128(bytes, 0);
        expect(hash64(bytes)).toEqual({ hi: h2, lo: h1 });
      }),
    );
  });

  it('[HASH2] keys are hashed as UTF-8; halves are unsigned 32-bit; hex is 0x + 16 upper-case digits', () => {
    expect([...utf8('é/€')]).toEqual([0xc3, 0xa9, 0x2f, 0xe2, 0x82, 0xac]);
    expect(hashHex({ hi: 0x2a7f, lo: 0xbeef })).toBe('0x00002A7F0000BEEF');
    expect(hashHex({ hi: 0xffffffff, lo: 0 })).toBe('0xFFFFFFFF00000000');
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (key) => {
        const h = keyHash(key);
        expect(h).toEqual(hash64(utf8(key)));
        for (const half of [h.hi, h.lo]) {
          expect(Number.isInteger(half) && half >= 0 && half <= 0xffffffff).toBe(true);
        }
        expect(hashHex(h)).toMatch(/^0x[0-9A-F]{16}$/);
      }),
    );
  });

  it('[HASH2] keyHash equals hash64(utf8(key)) for long, non-ASCII and alternating keys', () => {
    // keyHash reuses one buffer: a short key after a long one must not see stale bytes.
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(fc.string({ maxLength: 700 }), fc.string({ unit: 'binary', maxLength: 600 })),
        ),
        (keys) => {
          for (const key of keys) expect(keyHash(key)).toEqual(hash64(utf8(key)));
        },
      ),
      { numRuns: 50 },
    );
    expect(keyHash('a'.repeat(2000))).toEqual(hash64(utf8('a'.repeat(2000))));
  });

  it('[HASH3] the partition of a hash is the top log2(Q) bits of hi', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.nat(),
        fc.integer({ min: 0, max: 16 }),
        (hi, lo, bits) => {
          const q = 2 ** bits;
          expect(partitionOfHash({ hi, lo: lo >>> 0 }, q)).toBe(Math.floor(hi / 2 ** (32 - bits)));
        },
      ),
    );
    expect(partitionOfHash({ hi: 0xffffffff, lo: 0xffffffff }, 64)).toBe(63);
    expect(partitionOfHash({ hi: 0x80000000, lo: 0 }, 64)).toBe(32);
    expect(partitionOfHash({ hi: 0x03ffffff, lo: 0xffffffff }, 64)).toBe(0);
    expect(() => partitionOfHash({ hi: 0, lo: 0 }, 48)).toThrow(RangeError);
  });

  it('[HASH4] 100k deterministic keys spread evenly over 64 and 4096 partitions (chi-square)', () => {
    const total = 100_000;
    const by64 = new Array<number>(64).fill(0);
    const by4096 = new Array<number>(4096).fill(0);
    const byLo = new Array<number>(64).fill(0);
    for (let i = 0; i < total; i++) {
      const h = keyHash(`user:${i}`);
      by64[partitionOfHash(h, 64)]! += 1;
      by4096[partitionOfHash(h, 4096)]! += 1;
      byLo[h.lo >>> 26]! += 1;
    }
    // For a uniform hash chi-square has mean df and s.d. sqrt(2·df). The bounds are
    // df + 6 s.d.: a broken hash (e.g. a lost tail byte or a wrong shift) misses them by
    // orders of magnitude, a good one never comes near.
    const bound = (df: number): number => df + 6 * Math.sqrt(2 * df);
    expect(chiSquare(by64, total)).toBeLessThan(bound(63));
    expect(chiSquare(by4096, total)).toBeLessThan(bound(4095));
    expect(chiSquare(byLo, total)).toBeLessThan(bound(63));
  });

  it('[HASH4] keys that differ in one character land in unrelated partitions', () => {
    // Sequential keys are the common case (`user:1`, `user:2`): neighbours must not cluster.
    let same = 0;
    for (let i = 0; i < 10_000; i++) {
      if (partitionOfHash(keyHash(`k${i}`), 64) === partitionOfHash(keyHash(`k${i + 1}`), 64))
        same++;
    }
    // Expected 10_000 / 64 ≈ 156 with s.d. ≈ 12.4.
    expect(same).toBeGreaterThan(80);
    expect(same).toBeLessThan(240);
  });
});
