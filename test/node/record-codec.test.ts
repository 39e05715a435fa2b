import { describe, expect, it } from 'vitest';
import { Packr } from 'msgpackr';
import { coordinateWrite } from '../../src/core/siblings.ts';
import { emptyVector } from '../../src/core/version-vector.ts';
import { KvError } from '../../src/core/errors.ts';
import fc from 'fast-check';
import { encodeRecord, recordDigest, recordFromPeer, recordToWire, sameBytes } from '../../src/node/record-codec.ts';
import type { VersionedRecord } from '../../src/core/siblings.ts';
import { hashHex, keyHash } from '../../src/core/hash.ts';
import { validatePeerMessage } from '../../src/node/peer-messages.ts';

/** Records travel between replicas in their stored encoding (`put`, `get-r`); peers are not trusted. */
const record = coordinateWrite(undefined, emptyVector(), 'n1', {
  value: new TextEncoder().encode('v'),
  contentType: 'text/plain',
  deleted: false,
  writtenAtMs: 5,
}).record;
const packr = new Packr({ useRecords: false, moreTypes: false });

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof KvError ? e.code : 'not a KvError';
  }
  return undefined;
}

describe('records from peers', () => {
  it('decode to the record that was encoded, and equal encodings are the same record', () => {
    const bytes = encodeRecord(record);
    const back = recordFromPeer(bytes);
    expect({ ...back, siblings: back.siblings.map((x) => ({ ...x, value: [...x.value] })) }).toEqual({
      ...record,
      siblings: record.siblings.map((x) => ({ ...x, value: [...x.value] })),
    });
    expect(sameBytes(bytes, encodeRecord(recordFromPeer(bytes)))).toBe(true);
    const other = encodeRecord({ ...record, siblings: [{ ...record.siblings[0]!, writtenAtMs: 6 }] });
    expect(sameBytes(bytes, other)).toBe(false);
  });

  it('malformed ones are refused with KV_BAD_REQUEST, not stored and not a crash', () => {
    expect(codeOf(() => recordFromPeer({ c: {}, s: [] }))).toBe('KV_BAD_REQUEST');
    expect(codeOf(() => recordFromPeer(new Uint8Array([0xc1])))).toBe('KV_BAD_REQUEST');
    const wire = recordToWire(record);
    // A dot its own context does not cover.
    expect(codeOf(() => recordFromPeer(packr.pack({ ...wire, c: {} })))).toBe('KV_BAD_REQUEST');
  });

  it('a put or get-r whose record is not bytes is refused by the message check', () => {
    const wire = recordToWire(record);
    expect(() => validatePeerMessage({ t: 'put', id: 1, key: 'k', rec: wire, ack: true })).toThrow('bad record');
    expect(() => validatePeerMessage({ t: 'get-r', id: 1, rec: wire })).toThrow('bad record');
    expect(validatePeerMessage({ t: 'get-r', id: 1, rec: null })).toMatchObject({ t: 'get-r' });
    expect(validatePeerMessage({ t: 'put', id: 1, key: 'k', rec: encodeRecord(record), ack: true })).toMatchObject({ t: 'put' });
  });
});

describe('record digests', () => {
  /** The digest as first written (string pieces joined, `hashHex`): saved trees and peers hold these. */
  function digestAsFirstWritten(r: VersionedRecord): string {
    let text = Object.keys(r.context)
      .sort()
      .map((k) => `${k}:${r.context[k]}`)
      .join(',');
    for (const s of r.siblings) text += `|${s.dot.actor}:${s.dot.counter}${s.deleted ? 'x' : ''}`;
    return hashHex(keyHash(text)).slice(2);
  }

  it('are exactly what they have always been, for any versions (they travel and are saved)', () => {
    const actor = fc.constantFrom('n1', 'n2', 'n10', 'node-b', 'ñ', 'n9');
    const counter = fc.integer({ min: 1, max: 2 ** 40 });
    const records = fc.record({
      context: fc.dictionary(actor, counter, { maxKeys: 6 }),
      siblings: fc.array(fc.record({ actor, counter, deleted: fc.boolean() }), { maxLength: 4 }),
    });
    fc.assert(
      fc.property(records, ({ context, siblings }) => {
        const r = {
          context,
          siblings: siblings.map((s) => ({
            dot: { actor: s.actor, counter: s.counter },
            seen: {},
            value: new Uint8Array(0),
            contentType: '',
            deleted: s.deleted,
            writtenAtMs: 0,
          })),
        } as VersionedRecord;
        expect(recordDigest(r)).toBe(digestAsFirstWritten(r));
        expect(recordDigest(r)).toMatch(/^[0-9A-F]{16}$/);
      }),
      { numRuns: 500 },
    );
  });
});
