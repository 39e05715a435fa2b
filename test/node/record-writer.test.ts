import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import type { VersionedRecord } from '../../src/core/siblings.ts';
import { recordToWire } from '../../src/node/record-codec.ts';
import { writeRecord } from '../../src/node/record-writer.ts';

/**
 * The direct record writer must write exactly msgpackr's bytes for `recordToWire(record)`:
 * replicas compare stored encodings byte for byte, so a record has one encoding whoever wrote it.
 */
const packr = new Packr({ useRecords: false, moreTypes: false });

/** Any vector's shape the writer may meet: null-prototype or plain, integer-like actor names. */
const vector = fc
  .tuple(
    fc.dictionary(
      fc.oneof(
        fc.constantFrom('n1', 'n2', 'n10', '42', '7', 'constructor'),
        fc.string({ maxLength: 70 }),
      ),
      fc.oneof(fc.integer({ min: 0, max: 2 ** 53 - 1 }), fc.integer()),
    ),
    fc.boolean(),
  )
  .map(([d, nullProto]) =>
    nullProto ? Object.assign(Object.create(null) as Record<string, number>, d) : d,
  );
const number = fc.oneof(
  fc.integer(),
  fc.integer({ min: -(2 ** 53), max: 2 ** 53 }),
  fc.double(),
  fc.constantFrom(
    -0,
    0x7f,
    0x80,
    0xff,
    0x100,
    0xffff,
    0x10000,
    2 ** 32 - 1,
    2 ** 32,
    -0x20,
    -0x21,
    -0x80,
    -0x81,
    -0x8000,
    -0x8001,
  ),
);
const text = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.constantFrom('application/octet-stream', 'é'.repeat(20), '\ud800', 'a\udc00b'),
);
const records = fc.record({
  context: vector,
  siblings: fc.array(
    fc.record({
      dot: fc.record({ actor: text, counter: number }),
      seen: vector,
      value: fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        fc.constant(new Uint8Array(70_000)),
        fc.constant(Buffer.from('abc')),
      ),
      contentType: text,
      deleted: fc.boolean(),
      writtenAtMs: number,
    }),
    { maxLength: 18 },
  ),
}) as fc.Arbitrary<VersionedRecord>;

describe('the direct record writer', () => {
  it("writes exactly msgpackr's bytes for any plain record", () => {
    fc.assert(
      fc.property(records, (r) => {
        expect(Buffer.from(writeRecord(r)).equals(Buffer.from(packr.pack(recordToWire(r))))).toBe(
          true,
        );
      }),
      { numRuns: 1500 },
    );
  });

  it('gives each record bytes of its own (a later write does not change an earlier one)', () => {
    const r = (v: number): VersionedRecord => ({
      context: { n1: 1 },
      siblings: [
        {
          dot: { actor: 'n1', counter: 1 },
          seen: {},
          value: new Uint8Array([v]),
          contentType: '',
          deleted: false,
          writtenAtMs: 0,
        },
      ],
    });
    const first = writeRecord(r(1));
    const copy = Buffer.from(first);
    writeRecord(r(2));
    writeRecord({ ...r(3), siblings: [{ ...r(3).siblings[0]!, value: new Uint8Array(10_000) }] });
    expect(Buffer.from(first).equals(copy)).toBe(true);
  });
});
