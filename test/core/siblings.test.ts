import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { VersionedRecord, NewVersion } from '../../src/core/siblings.ts';
import { coordinateWrite, happenedBefore, liveSiblings, siblingClock, sameVersions, syncRecords, isDeleted } from '../../src/core/siblings.ts';
import { compareVectors, counterOf, emptyVector, mergeVectors, parseVector, withEvent } from '../../src/core/version-vector.ts';
import { readRecord } from '../../src/node/record-reader.ts';
import { encodeRecord } from '../../src/node/record-codec.ts';
import { decodeContext, decodeContextText, encodeContext, readContext } from '../../src/core/context.ts';
import { KvError } from '../../src/core/errors.ts';

const v = (s: string, deleted = false): NewVersion => ({
  value: new TextEncoder().encode(s),
  contentType: 'text/plain',
  deleted,
  writtenAtMs: 0,
});
const text = (r: VersionedRecord): string[] =>
  liveSiblings(r)
    .map((s) => new TextDecoder().decode(s.value))
    .sort();

/**
 * Random histories: a few replicas, each step either a client write at one replica (blind or
 * with the context of some replica's current record) or a sync between two replicas.
 */
const actors = ['n1', 'n2', 'n3'] as const;
type Step = { kind: 'write'; at: number; ctxFrom: number | null; del: boolean } | { kind: 'sync'; from: number; to: number };
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('write' as const), at: fc.nat(2), ctxFrom: fc.option(fc.nat(2)), del: fc.boolean() }),
  fc.record({ kind: fc.constant('sync' as const), from: fc.nat(2), to: fc.nat(2) }),
);

function runHistory(steps: Step[]): (VersionedRecord | undefined)[] {
  const reps: (VersionedRecord | undefined)[] = [undefined, undefined, undefined];
  let n = 0;
  for (const st of steps) {
    if (st.kind === 'write') {
      const ctx = st.ctxFrom === null ? emptyVector() : (reps[st.ctxFrom]?.context ?? emptyVector());
      reps[st.at] = coordinateWrite(reps[st.at], ctx, actors[st.at]!, v(`w${n++}`, st.del), 1000).record;
    } else {
      reps[st.to] = syncRecords(reps[st.to], reps[st.from]);
    }
  }
  return reps;
}

const recordArb = fc.array(stepArb, { maxLength: 25 }).map((steps) => runHistory(steps));

describe('dotted version vectors', () => {
  it('[VV1] sync is commutative, associative and idempotent', () => {
    fc.assert(
      fc.property(recordArb, ([a, b, c]) => {
        expect(sameVersions(syncRecords(a, b), syncRecords(b, a))).toBe(true);
        expect(sameVersions(syncRecords(syncRecords(a, b), c), syncRecords(a, syncRecords(b, c)))).toBe(true);
        expect(sameVersions(syncRecords(a, a), a)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('[VV2] sync keeps exactly the versions no other version has seen', () => {
    fc.assert(
      fc.property(recordArb, ([a, b]) => {
        const m = syncRecords(a, b);
        if (!m) return;
        // No surviving live sibling happened before another surviving sibling.
        const live = liveSiblings(m);
        for (const x of live) for (const y of live) expect(happenedBefore(x, y)).toBe(false);
        // Every sibling of either side that the other side has not seen survives.
        for (const [p, q] of [
          [a, b],
          [b, a],
        ] as const) {
          for (const s of p?.siblings ?? []) {
            const seenByOther = q !== undefined && (q.context[s.dot.actor] ?? 0) >= s.dot.counter;
            if (!seenByOther && !s.deleted) expect(m.siblings.some((t) => t.dot.actor === s.dot.actor && t.dot.counter === s.dot.counter)).toBe(true);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('[VV3] two blind writes become siblings; a write with their context supersedes both', () => {
    const a = coordinateWrite(undefined, emptyVector(), 'n1', v('alice')).record;
    const b = coordinateWrite(undefined, emptyVector(), 'n2', v('bob')).record;
    const merged = syncRecords(a, b)!;
    expect(text(merged)).toEqual(['alice', 'bob']);
    const [s1, s2] = liveSiblings(merged);
    expect(compareVectors(siblingClock(s1!), siblingClock(s2!))).toBe('concurrent');
    const resolved = coordinateWrite(merged, merged.context, 'n1', v('both')).record;
    expect(text(resolved)).toEqual(['both']);
    const only = liveSiblings(resolved)[0]!;
    expect(compareVectors(siblingClock(only), siblingClock(s1!))).toBe('after');
    expect(compareVectors(siblingClock(only), siblingClock(s2!))).toBe('after');
  });

  it('[VV4] a stale context produces a sibling, never a silent overwrite', () => {
    const first = coordinateWrite(undefined, emptyVector(), 'n1', v('one')).record;
    const staleCtx = first.context;
    const second = coordinateWrite(first, first.context, 'n1', v('two')).record;
    const third = coordinateWrite(second, staleCtx, 'n1', v('three')).record;
    expect(text(third)).toEqual(['three', 'two']);
  });

  it('[VV5] a delete with the context hides the value; an old version never comes back', () => {
    const a = coordinateWrite(undefined, emptyVector(), 'n1', v('x')).record;
    const d = coordinateWrite(a, a.context, 'n1', v('', true)).record;
    expect(isDeleted(d)).toBe(true);
    expect(isDeleted(syncRecords(d, a)!)).toBe(true);
    expect(isDeleted(syncRecords(a, d)!)).toBe(true);
  });

  it('[VV7] siblings are bounded: a blind write past the bound is refused', () => {
    let r: VersionedRecord | undefined;
    for (let i = 0; i < 3; i++) r = coordinateWrite(r, emptyVector(), 'n1', v(`s${i}`), 3).record;
    expect(() => coordinateWrite(r, emptyVector(), 'n1', v('over'), 3)).toThrow(KvError);
    // A write that resolves them is always accepted.
    expect(text(coordinateWrite(r, r!.context, 'n1', v('ok'), 3).record)).toEqual(['ok']);
  });
});

describe('version vectors', () => {
  it('[VV0] inherit nothing, whoever builds them: actor names never reach Object.prototype', () => {
    const decoded = readRecord(encodeRecord({ context: { constructor: 2, n1: 1 }, siblings: [] }))!.context;
    const vectors = [
      emptyVector(),
      parseVector({ constructor: 2, toString: 1 })!,
      mergeVectors(parseVector({ n1: 1 })!, parseVector({ constructor: 2 })!),
      withEvent(emptyVector(), { actor: 'valueOf', counter: 1 }),
      decodeContext(encodeContext({ constructor: 3 })),
      decoded,
    ];
    for (const vv of vectors) {
      expect('hasOwnProperty' in vv).toBe(false);
      expect((vv as Record<string, unknown>).__proto__).toBeUndefined();
      expect(counterOf(vv, 'toString')).toBe(Object.hasOwn(vv, 'toString') ? 1 : 0);
      expect(JSON.parse(JSON.stringify(vv))).toEqual({ ...vv });
      expect(Object.isFrozen(Object.getPrototypeOf(vv))).toBe(true);
    }
    expect(counterOf(vectors[1]!, 'constructor')).toBe(2);
    expect(decoded.constructor).toBe(2);
    expect({ ...vectors[2]! }).toEqual({ n1: 1, constructor: 2 });
  });
});

describe('context', () => {
  it('[CTX1] round-trips any vector and rejects garbage with KV_BAD_REQUEST', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('n1', 'n2', 'node-7', 'constructor'), fc.integer({ min: 1, max: 2 ** 40 })), (d) => {
        const vv = decodeContext(encodeContext(d));
        expect({ ...vv }).toEqual(d);
      }),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 64 }), (s) => {
        try {
          decodeContext(s);
        } catch (e) {
          expect(e).toBeInstanceOf(KvError);
          expect((e as KvError).code).toBe('KV_BAD_REQUEST');
        }
      }),
    );
    expect(() => decodeContext('')).toThrow(KvError);
    expect(() => decodeContext('MXxfX3Byb3RvX186Mw')).toThrow(KvError); // "1|__proto__:3"
    expect(() => decodeContext('MXxuMToz' + 'A')).toThrow(KvError); // one character over a quantum
  });

  it('[CTX3] reads contexts directly exactly as the general decoder does, or leaves them to it', () => {
    const plainVector = (v: unknown): unknown => (v instanceof KvError ? v.code : { ...(v as object) });
    const general = (s: string): unknown => {
      try {
        return plainVector(decodeContextText(s));
      } catch (e) {
        return plainVector(e);
      }
    };
    const actor = fc.oneof(fc.constantFrom('n1', 'n2', '42', 'node-7.a_b', 'constructor', 'a'.repeat(64)), fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/));
    // What encodeContext writes is always read directly.
    fc.assert(
      fc.property(fc.dictionary(actor, fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })), (d) => {
        const s = encodeContext(d);
        expect(readContext(s)).toBeDefined();
        expect(plainVector(readContext(s))).toEqual(general(s));
        expect(plainVector(decodeContext(s))).toEqual({ ...d });
      }),
      { numRuns: 500 },
    );
    // Anything else: undefined, or what the general decoder gives (which must not refuse it).
    const b64 = (text: string): string => Buffer.from(text, 'latin1').toString('base64url');
    const texts = fc.oneof(
      fc.string({ maxLength: 40 }).map(b64),
      fc.array(fc.tuple(fc.oneof(actor, fc.string({ maxLength: 5 })), fc.oneof(fc.nat(), fc.constantFrom('', '0', '007', '1'.repeat(17), '9007199254740993', 'x'))), { maxLength: 4 })
        .map((es) => b64('1|' + es.map(([a, c]) => `${a}:${c}`).join(','))),
      fc.string({ maxLength: 30 }),
    );
    fc.assert(
      fc.property(texts, fc.oneof(fc.constant(''), fc.constantFrom(',', ':', '|', ',n1:1', 'A', '==')), (s, tail) => {
        for (const c of [s, s + tail, s.slice(0, -1)]) {
          const fast = readContext(c);
          if (fast !== undefined) expect(plainVector(fast)).toEqual(general(c));
        }
      }),
      { numRuns: 3000 },
    );
    for (const text of ['1|n1:0,n1:3', '1|n1:3,n1:4', '1|n1:3,', '1|,', '2|n1:3', '1|n1:3:4', '1|_x:1', '1|n1:10000000000000000']) {
      expect(readContext(b64(text))).toBeUndefined();
      expect(general(b64(text))).toBe('KV_BAD_REQUEST');
    }
    expect(plainVector(readContext(b64('1|n1:007,n2:5')))).toEqual({ n1: 7, n2: 5 });
  });

  it('[CTX2] keeps the form clients hold: base64url of `1|` and the sorted entries, unpadded', () => {
    // Contexts outlive servers (clients store them), so the text form never changes.
    const text = (vv: Record<string, number>): string => Buffer.from(encodeContext(vv), 'base64url').toString('latin1');
    expect(text({ n2: 5, n10: 1, n1: 3 })).toBe('1|n1:3,n10:1,n2:5');
    expect(text({})).toBe('1|');
    expect(encodeContext({ n1: 3 })).toBe('MXxuMToz');
    expect(encodeContext({ n1: 30 })).not.toMatch(/[=+/]/);
    expect({ ...decodeContext(Buffer.from('1|n2:7,n1:4').toString('base64url')) }).toEqual({ n1: 4, n2: 7 });
  });
});
