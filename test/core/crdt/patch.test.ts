import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isOperatorBody, parsePatch, patchFingerprint } from '../../../src/core/crdt/patch.ts';
import { patchOpsMax, registerDepthMax, setElementsMax } from '../../../src/core/crdt/limits.ts';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code ?? `not a KvError: ${String(e)}`;
  }
  return 'no error';
}

describe('parsePatch', () => {
  it("parses the seed's body: a counter increment and a plain register value", () => {
    const patch = parsePatch(JSON.parse('{"likes":{"$inc":1},"last_updated":1700000000.5}'));
    expect(patch.ops).toEqual([
      { kind: 'set', field: 'last_updated', json: '1700000000.5' },
      { kind: 'inc', field: 'likes', by: 1 },
    ]);
  });

  it('parses every operator; sets take a scalar or an array of scalars, deduplicated and canonical', () => {
    const patch = parsePatch({
      a: { $set: { x: [1, { y: null }] } },
      b: { $unset: true },
      c: { $add: ['z', 1.0, 'z', null, true] },
      d: { $remove: 'z' },
      e: { nested: { $inc: 1 } },
      f: { $inc: -0 },
    });
    expect(patch.ops).toEqual([
      { kind: 'set', field: 'a', json: '{"x":[1,{"y":null}]}' },
      { kind: 'unset', field: 'b' },
      { kind: 'add', field: 'c', elements: ['"z"', '1', 'null', 'true'].sort() },
      { kind: 'remove', field: 'd', elements: ['"z"'] },
      { kind: 'set', field: 'e', json: '{"nested":{"$inc":1}}' },
      { kind: 'inc', field: 'f', by: 0 },
    ]);
  });

  it('rejects reserved names, bad operators and bad arguments with KV_BAD_REQUEST', () => {
    const bad: unknown[] = [
      null,
      [],
      'x',
      {},
      { $likes: 1 },
      { '': 1 },
      { f: { $inc: 1.5 } },
      { f: { $inc: '1' } },
      { f: { $inc: 2 ** 53 } },
      { f: { $inc: 1, $set: 2 } },
      { f: { $inc: 1, other: 2 } },
      { f: { $unset: 1 } },
      { f: { $push: 1 } },
      { f: { $add: { a: 1 } } },
      { f: { $add: [[1]] } },
      { f: { $remove: [{}] } },
      { f: { $set: Number.NaN } },
      { f: { $set: undefined } },
      { f: { $set: new Date(0) } },
      { f: () => 1 },
    ];
    for (const body of bad)
      expect(
        code(() => parsePatch(body)),
        JSON.stringify(body) ?? String(body),
      ).toBe('KV_BAD_REQUEST');
  });

  it('enforces the named bounds', () => {
    let deep: unknown = 1;
    for (let i = 0; i < registerDepthMax; i++) deep = [deep];
    expect(code(() => parsePatch({ f: deep }))).toBe('no error');
    expect(code(() => parsePatch({ f: [deep] }))).toBe('KV_BAD_REQUEST');
    const many = Object.fromEntries(
      Array.from({ length: patchOpsMax + 1 }, (_, i) => [`f${i}`, i]),
    );
    expect(code(() => parsePatch(many))).toBe('KV_PAYLOAD_TOO_LARGE');
    const elements = Array.from({ length: setElementsMax + 1 }, (_, i) => i);
    expect(code(() => parsePatch({ s: { $add: elements } }))).toBe('KV_PAYLOAD_TOO_LARGE');
    expect(code(() => parsePatch({ s: { $add: 'x'.repeat(5000) } }))).toBe('KV_PAYLOAD_TOO_LARGE');
    expect(code(() => parsePatch({ ['x'.repeat(257)]: 1 }))).toBe('KV_BAD_REQUEST');
  });

  it('[CRDT11] __proto__ / constructor / prototype are ordinary names and values; nothing is polluted', () => {
    const body = JSON.parse(
      '{"__proto__":{"$inc":1},"constructor":{"$add":"x"},"prototype":{"__proto__":{"polluted":true}},"v":{"$set":{"__proto__":{"polluted":true}}}}',
    ) as unknown;
    const patch = parsePatch(body);
    expect(patch.ops.map((op) => [op.kind, op.field])).toEqual([
      ['inc', '__proto__'],
      ['add', 'constructor'],
      ['set', 'prototype'],
      ['set', 'v'],
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('arbitrary JSON bodies either parse or throw KvError', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (body) => {
        const c = code(() => parsePatch(body));
        expect(['no error', 'KV_BAD_REQUEST', 'KV_PAYLOAD_TOO_LARGE']).toContain(c);
      }),
      { numRuns: 500 },
    );
  });

  it('fingerprints differ for different patches and agree for reordered equal ones', () => {
    const a = parsePatch({ x: 1, y: { $inc: 2 } });
    const b = parsePatch({ y: { $inc: 2 }, x: 1 });
    expect(patchFingerprint(a)).toBe(patchFingerprint(b));
    expect(patchFingerprint(a)).toMatch(/^[0-9a-f]{8}$/);
    expect(patchFingerprint(parsePatch({ y: { $inc: 3 }, x: 1 }))).not.toBe(patchFingerprint(a));
  });
});

describe('isOperatorBody', () => {
  it('is true when some field holds a known operator, so PUT is treated as PATCH', () => {
    expect(isOperatorBody({ likes: { $inc: 1 }, last_updated: 1700000000.5 })).toBe(true);
    expect(isOperatorBody({ tags: { $add: 'x' } })).toBe(true);
    expect(isOperatorBody({ a: { $push: 1 }, b: { $unset: true } })).toBe(true);
  });

  it('is false for plain documents, unknown $ keys inside values and non-objects', () => {
    expect(isOperatorBody({ title: 'x', meta: { nested: { $inc: 1 } } })).toBe(false);
    expect(isOperatorBody({ price: { $numberDecimal: '1.0' } })).toBe(false);
    expect(isOperatorBody([{ $inc: 1 }])).toBe(false);
    expect(isOperatorBody(null)).toBe(false);
    expect(isOperatorBody('{"a":{"$inc":1}}')).toBe(false);
  });
});
