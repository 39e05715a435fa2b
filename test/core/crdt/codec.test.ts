import { pack, unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import {
  decodeDocument,
  encodeDocument,
  type EncodedDocument,
} from '../../../src/core/crdt/codec.ts';
import {
  applyPatch,
  documentView,
  emptyDocument,
  mergeDocuments,
} from '../../../src/core/crdt/document.ts';
import { parsePatch } from '../../../src/core/crdt/patch.ts';
import { canon } from './harness.ts';

const T0 = 1_700_000_000_000;

function sample() {
  const body = JSON.parse(
    '{"likes":{"$inc":3},"tags":{"$add":["a",1,null]},"__proto__":{"$set":{"__proto__":{"x":1}}},"gone":{"$unset":true}}',
  ) as unknown;
  const a = applyPatch(emptyDocument(), parsePatch(body), {
    actor: 'n1',
    nowMs: T0,
    idempotencyKey: 'k1',
  }).state;
  const b = applyPatch(emptyDocument(), parsePatch(body), {
    actor: 'n2',
    nowMs: T0 + 7,
    idempotencyKey: 'k1',
  }).state;
  return mergeDocuments(a, b);
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code ?? `not a KvError: ${String(e)}`;
  }
  return 'no error';
}

describe('[CRDT10] codec', () => {
  it('round-trips through msgpack, keeping __proto__ fields and values intact', () => {
    const s = sample();
    expect(s.idempotency.compensations.size).toBe(1);
    const back = decodeDocument(unpack(pack(encodeDocument(s))));
    expect(canon(back)).toBe(canon(s));
    expect(JSON.stringify(documentView(back))).toBe(
      '{"__proto__":{"__proto__":{"x":1}},"likes":3,"tags":["a",1,null]}',
    );
  });

  it('is canonical: merge order does not change the bytes', () => {
    const a = applyPatch(emptyDocument(), parsePatch({ s: { $add: ['x', 'y'] }, c: { $inc: 1 } }), {
      actor: 'n1',
      nowMs: T0,
    }).state;
    const b = applyPatch(emptyDocument(), parsePatch({ s: { $add: 'z' }, c: { $inc: 2 } }), {
      actor: 'n2',
      nowMs: T0,
    }).state;
    expect(Buffer.from(pack(encodeDocument(mergeDocuments(a, b))))).toEqual(
      Buffer.from(pack(encodeDocument(mergeDocuments(b, a)))),
    );
  });

  it('rejects inconsistent encodings with KV_BAD_REQUEST', () => {
    const good = () => JSON.parse(JSON.stringify(encodeDocument(sample()))) as EncodedDocument;
    const counter = (e: EncodedDocument) => e.f.find((f) => f[1] !== null)![1]!;
    const cases: [string, (e: EncodedDocument) => void][] = [
      ['version', (e) => (e.v = 2)],
      ['field order', (e) => e.f.reverse()],
      ['reserved field', (e) => (e.f[0]![0] = '$x')],
      ['negative counter', (e) => (counter(e)[0]![1] = -1)],
      ['bad actor', (e) => (counter(e)[0]![0] = '__proto__')],
      ['register text', (e) => (e.f.find((f) => f[2] !== null)![2]![3] = '{not json')],
      ['non-canonical element', (e) => (e.f.find((f) => f[3] !== null)![3]![0]![0] = '1.0')],
      ['dot outside context', (e) => (e.c = [])],
      ['context not compact', (e) => e.c[0]![2].push(1)],
      ['fingerprint', (e) => (e.i[0]![1][0]![2] = 'XYZ')],
      ['compensation without effect', (e) => (e.x[0]![3] = [])],
      ['no applications', (e) => (e.i[0]![1] = [])],
      ['table context not compact', (e) => e.a![0]![2].push(1)],
      ['table context actor', (e) => (e.a![0]![0] = '')],
    ];
    for (const [name, breakIt] of cases) {
      const e = good();
      breakIt(e);
      expect(
        code(() => decodeDocument(e)),
        name,
      ).toBe('KV_BAD_REQUEST');
    }
  });

  it('a document written before the table had a causal context (no `a`) decodes with an empty one', () => {
    const e = JSON.parse(JSON.stringify(encodeDocument(sample()))) as { a?: unknown };
    expect(e.a).toEqual([
      ['n1', 1, []],
      ['n2', 1, []],
    ]);
    delete e.a;
    const back = decodeDocument(e);
    expect(back.idempotency.seen.size).toBe(0);
    expect(documentView(back).likes).toBe(3);
  });

  it('a decoded state missing a derived compensation gets it back (the closure invariant)', () => {
    const e = JSON.parse(JSON.stringify(encodeDocument(sample()))) as { x: unknown[] };
    e.x = [];
    expect(documentView(decodeDocument(e)).likes).toBe(3);
  });

  it('nothing in a decoded document can pollute prototypes', () => {
    decodeDocument(JSON.parse('{"v":1,"f":[],"c":[],"i":[],"x":[],"__proto__":{"polluted":1}}'));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(code(() => decodeDocument(JSON.parse('{"__proto__":{"v":1}}')))).toBe('KV_BAD_REQUEST');
  });
});
