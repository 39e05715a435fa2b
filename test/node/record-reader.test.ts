import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import type { VersionedRecord } from '../../src/core/siblings.ts';
import { encodeRecord, recordFromWire } from '../../src/node/record-codec.ts';
import { readRecord } from '../../src/node/record-reader.ts';

/**
 * The direct record reader (record-reader.ts) must never disagree with the generic path
 * (msgpackr, then recordFromWire's checks): for any bytes it gives undefined or exactly the
 * generic path's record. And it must actually take the records nodes write, or it is dead code.
 */
const packr = new Packr({ useRecords: false, moreTypes: false });

/** The generic path, or the error it raises. */
function generic(bytes: Uint8Array): VersionedRecord | 'refused' {
  try {
    return recordFromWire(packr.unpack(bytes));
  } catch {
    return 'refused';
  }
}

/** Comparable form: null-prototype vectors and byte views as plain data. */
function plain(r: VersionedRecord | 'refused' | undefined): unknown {
  if (r === undefined || r === 'refused') return r;
  return {
    context: { ...r.context },
    siblings: r.siblings.map((s) => ({ ...s, seen: { ...s.seen }, value: [...s.value] })),
  };
}

const actor = fc.constantFrom('n1', 'n2', 'n10', 'node-b', 'constructor', 'a'.repeat(64));
const counter = fc.oneof(
  fc.integer({ min: 1, max: 200 }),
  fc.integer({ min: 1, max: 2 ** 40 }),
  fc.constant(2 ** 53 - 1),
);
const vector = fc.dictionary(actor, counter, { maxKeys: 5 });
const records = fc
  .record({
    context: vector,
    siblings: fc.array(
      fc.record({
        actor,
        seen: vector,
        value: fc.uint8Array({ maxLength: 300 }),
        contentType: fc.oneof(
          fc.constantFrom('application/octet-stream', 'text/plain', ''),
          fc.string({ maxLength: 40 }),
        ),
        deleted: fc.boolean(),
        writtenAtMs: fc.oneof(
          fc.integer({ min: 0, max: 2 ** 45 }),
          fc.double({ noNaN: true, noDefaultInfinity: true }),
        ),
      }),
      { maxLength: 4 },
    ),
  })
  .map(({ context, siblings }): VersionedRecord => {
    // Every sibling's dot inside the context, as valid records have it.
    const ctx: Record<string, number> = Object.assign(
      Object.create(null) as Record<string, number>,
      context,
    );
    return {
      context: ctx,
      siblings: siblings.map((s, i) => {
        ctx[s.actor] = Math.max(ctx[s.actor] ?? 0, i + 1);
        return {
          dot: { actor: s.actor, counter: ctx[s.actor]! },
          seen: Object.assign(Object.create(null) as Record<string, number>, s.seen),
          value: s.value,
          contentType: s.contentType,
          deleted: s.deleted,
          writtenAtMs: s.writtenAtMs,
        };
      }),
    };
  });

describe('the direct record reader', () => {
  it('reads every plain record a node writes (ASCII content types) exactly as the generic path does', () => {
    fc.assert(
      fc.property(records, (r) => {
        const bytes = Buffer.from(encodeRecord(r));
        const fast = readRecord(bytes);
        const ascii = r.siblings.every((s) => /^[\x00-\x7f]*$/.test(s.contentType));
        if (ascii) expect(fast).toBeDefined();
        if (fast !== undefined) expect(plain(fast)).toEqual(plain(generic(bytes)));
      }),
      { numRuns: 1000 },
    );
  });

  it('for damaged bytes, gives up or agrees with the generic path, never anything else', () => {
    const damaged = fc
      .tuple(
        records,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
        fc.nat(),
        fc.boolean(),
      )
      .map(([r, flips, cut, truncate]) => {
        const bytes = Buffer.from(encodeRecord(r));
        for (const [at, b] of flips) bytes[at % bytes.length] = b;
        return truncate ? bytes.subarray(0, cut % (bytes.length + 1)) : bytes;
      });
    let agreed = 0;
    fc.assert(
      fc.property(damaged, (bytes) => {
        const fast = readRecord(bytes);
        if (fast === undefined) return;
        agreed++;
        expect(plain(fast)).toEqual(plain(generic(bytes)));
      }),
      { numRuns: 3000 },
    );
    expect(agreed).toBeGreaterThan(0);
  });

  it('gives up on other shapes and on what the generic path refuses', () => {
    const refuse = (value: unknown): void => {
      const bytes = packr.pack(value);
      expect(readRecord(bytes)).toBeUndefined();
    };
    refuse({ s: [], c: {} }); // another key order: the generic path decides
    refuse({ c: {}, s: [], d: {} }); // a document
    refuse({ c: { n1: 1 }, s: [['n1', 2, {}, new Uint8Array(0), '', false, 0]] }); // dot outside its context
    refuse({ c: { __proto__x: 1 }, s: [] }); // not a node id
    refuse({ c: { n1: -1 }, s: [] });
    refuse({ c: { n1: 1.5 }, s: [] });
    refuse({ c: {}, s: [['n1', 1, {}, 'not bytes', '', false, 0]] });
    refuse({ c: { n1: 1 }, s: [['n1', 1, {}, new Uint8Array(0), 'x'.repeat(257), false, 0]] });
    refuse({ c: { n1: 1 }, s: [['n1', 1, {}, new Uint8Array(0), 'text/plain', 0, 0]] });
    refuse([1, 2]);
    expect(readRecord(new Uint8Array([0xc1]))).toBeUndefined();
    expect(readRecord(new Uint8Array(0))).toBeUndefined();
    // Agree or give up on what the generic path reads in its own way: zero counters are left out,
    // and of two equal keys msgpackr keeps the last.
    const agreeOrGiveUp = (bytes: Uint8Array): void => {
      const fast = readRecord(bytes);
      if (fast !== undefined) expect(plain(fast)).toEqual(plain(generic(bytes)));
    };
    const zero = packr.pack({ c: { n1: 0, n2: 3 }, s: [] });
    expect(plain(readRecord(zero))).toEqual({ context: { n2: 3 }, siblings: [] });
    const n1 = [0xa2, 0x6e, 0x31];
    const twice = new Uint8Array([
      0x82,
      0xa1,
      0x63,
      0x82,
      ...n1,
      0x05,
      ...n1,
      0x00,
      0xa1,
      0x73,
      0x90,
    ]);
    expect(plain(generic(twice))).toEqual({ context: {}, siblings: [] });
    agreeOrGiveUp(twice);
    // Trailing bytes after a record.
    const ok = encodeRecord({ context: { n1: 1 }, siblings: [] });
    expect(readRecord(ok)).toBeDefined();
    expect(readRecord(Buffer.concat([ok, Buffer.from([0])]))).toBeUndefined();
  });

  it('tells cached actors and content types apart byte by byte', () => {
    const rec = (a: string, ct: string): VersionedRecord => ({
      context: { [a]: 1 },
      siblings: [
        {
          dot: { actor: a, counter: 1 },
          seen: {},
          value: new Uint8Array([1]),
          contentType: ct,
          deleted: false,
          writtenAtMs: 1,
        },
      ],
    });
    for (const [a, ct] of [
      ['n1', 'text/a'],
      ['n2', 'text/b'],
      ['n1', 'text/b'],
      ['n3', 'text/a'],
    ] as const) {
      const got = readRecord(encodeRecord(rec(a, ct)));
      expect(got?.siblings[0]?.dot.actor).toBe(a);
      expect(got?.siblings[0]?.contentType).toBe(ct);
      expect(Object.keys(got!.context)).toEqual([a]);
    }
  });
});
