import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Fnv64, hashBytes, hashHex } from '../../../src/core/merkle/hash64.ts';

const encoder = new TextEncoder();

function rawHex(text: string): string {
  const h = new Fnv64().string(text).raw();
  return hashHex(h.hi, h.lo);
}

describe('hash64', () => {
  it('[AE0] raw state is FNV-1a 64 (published test vectors)', () => {
    expect(rawHex('')).toBe('cbf29ce484222325');
    expect(rawHex('a')).toBe('af63dc4c8601ec8c');
    expect(rawHex('foobar')).toBe('85944171f73967e8');
  });

  it('[AE0] hashing a string equals hashing its UTF-8 bytes, lone surrogates included', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 20 }),
      // Arbitrary UTF-16 units, so lone and reversed surrogates occur.
      fc
        .array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 20 })
        .map((u) => String.fromCharCode(...u)),
    );
    fc.assert(
      fc.property(text, (s) => {
        const viaString = new Fnv64().string(s).finish();
        expect(viaString).toEqual(hashBytes(encoder.encode(s)));
      }),
      { numRuns: 500 },
    );
  });

  it('[AE0] the finaliser is deterministic and spreads the top bits', () => {
    // Segments come from the top bits: 4096 sequential keys must fill 16 top-4-bit buckets evenly.
    const buckets = new Array<number>(16).fill(0);
    for (let i = 0; i < 4096; i++) {
      const h = new Fnv64().string(`key-${i}`).finish();
      buckets[h.hi >>> 28]! += 1;
    }
    for (const b of buckets) expect(b).toBeGreaterThan(256 * 0.75);
    expect(new Fnv64().string('x').finish()).toEqual(new Fnv64().string('x').finish());
  });

  it('hashHex pads both halves', () => {
    expect(hashHex(1, 0xabc)).toBe('0000000100000abc');
  });
});
