import fc from 'fast-check';
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { answerRequest } from '../../../src/core/merkle/answer-request.ts';
import {
  exchangeLimitsDefault,
  receiveReply,
  startExchange,
  type ExchangeLimits,
} from '../../../src/core/merkle/exchange.ts';
import { MerkleTree, type SegmentEntry } from '../../../src/core/merkle/merkle-tree.ts';
import { messageBytes, toWireArray, type AeMessage } from '../../../src/core/merkle/messages.ts';
import { lookupBySegment, runExchange } from '../../../src/core/merkle/run-exchange.ts';

/** What one replica holds for a key: nothing, a live version, or a tombstone (its own digest). */
const slot = fc.constantFrom(undefined, 'v1', 'v2', 'v3', 'tomb:v2');

/**
 * Two random stores over one key universe. Half the keys are forced equal on both sides so that
 * differences are sparse as well as dense.
 */
const storePair = fc
  .uniqueArray(
    fc.record({
      key: fc.oneof(
        fc.string({ unit: 'binary', minLength: 1, maxLength: 10 }),
        fc.nat(100_000).map((n) => `key-${n}`),
      ),
      a: slot,
      b: slot,
      same: fc.boolean(),
    }),
    { selector: (r) => r.key, maxLength: 300 },
  )
  .map((rows) => {
    const a: SegmentEntry[] = [];
    const b: SegmentEntry[] = [];
    for (const r of rows) {
      const bSlot = r.same ? r.a : r.b;
      if (r.a !== undefined) a.push({ key: r.key, digest: r.a });
      if (bSlot !== undefined) b.push({ key: r.key, digest: bSlot });
    }
    return { a, b };
  });

const smallLimits: fc.Arbitrary<ExchangeLimits> = fc.record({
  levelsPerRequestMax: fc.integer({ min: 1, max: 6 }),
  hashesPerMessageMax: fc.integer({ min: 2, max: 64 }),
  entriesPerMessageMax: fc.integer({ min: 2, max: 16 }),
  keysPerMessageMax: fc.integer({ min: 1, max: 8 }),
});

/** The truth: keys whose (key, digest) one side holds and the other does not. */
function expected(
  a: readonly SegmentEntry[],
  b: readonly SegmentEntry[],
): { send: string[]; fetch: string[] } {
  const inB = new Map(b.map((e) => [e.key, e.digest]));
  const inA = new Map(a.map((e) => [e.key, e.digest]));
  return {
    send: a
      .filter((e) => inB.get(e.key) !== e.digest)
      .map((e) => e.key)
      .sort(),
    fetch: b
      .filter((e) => inA.get(e.key) !== e.digest)
      .map((e) => e.key)
      .sort(),
  };
}

function run(
  a: SegmentEntry[],
  b: SegmentEntry[],
  depth: number,
  limits: ExchangeLimits = exchangeLimitsDefault,
) {
  return runExchange(
    MerkleTree.fromEntries(a, depth),
    lookupBySegment(a, depth),
    MerkleTree.fromEntries(b, depth),
    lookupBySegment(b, depth),
    { limits },
  );
}

/** Every message respects the limits it was built under. */
function checkBounds(messages: readonly AeMessage[], limits: ExchangeLimits): void {
  for (const m of messages) {
    switch (m.type) {
      case 'ae-root-reply':
      case 'ae-nodes-reply':
        expect(m.hashes.length / 2).toBeLessThanOrEqual(limits.hashesPerMessageMax);
        break;
      case 'ae-diff': {
        const cost = m.items.reduce((n, i) => n + 1 + i.hashes.length / 2, 0);
        expect(cost).toBeLessThanOrEqual(limits.entriesPerMessageMax);
        break;
      }
      case 'ae-diff-reply':
        expect(m.keys.length).toBeLessThanOrEqual(limits.keysPerMessageMax);
        break;
      case 'ae-error':
        throw new Error(`unexpected ae-error ${m.reason}: ${m.message}`);
      default:
        break;
    }
  }
}

describe('anti-entropy exchange', () => {
  it('[AE4] finds exactly the keys whose versions differ, in both directions (default limits)', () => {
    fc.assert(
      fc.property(storePair, fc.integer({ min: 1, max: 12 }), ({ a, b }, depth) => {
        const result = run(a, b, depth);
        const want = expected(a, b);
        expect([...result.keysToSend].sort()).toEqual(want.send);
        expect([...result.keysToFetch].sort()).toEqual(want.fetch);
        checkBounds(result.messages, exchangeLimitsDefault);
      }),
      { numRuns: 300 },
    );
  });

  it('[AE4][AE7] stays exact when every message is paged (tiny limits)', () => {
    fc.assert(
      fc.property(
        storePair,
        fc.integer({ min: 1, max: 9 }),
        smallLimits,
        ({ a, b }, depth, limits) => {
          const result = run(a, b, depth, limits);
          const want = expected(a, b);
          expect([...result.keysToSend].sort()).toEqual(want.send);
          expect([...result.keysToFetch].sort()).toEqual(want.fetch);
          checkBounds(result.messages, limits);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('[AE5] identical stores: one round trip carrying only the roots', () => {
    fc.assert(
      fc.property(storePair, fc.integer({ min: 1, max: 12 }), ({ a }, depth) => {
        const result = run(a, [...a].reverse(), depth);
        expect(result.roundTrips).toBe(1);
        expect(result.messages.map((m) => m.type)).toEqual(['ae-root', 'ae-root-reply']);
        expect(result.keysToSend).toEqual([]);
        expect(result.keysToFetch).toEqual([]);
        expect(result.bytes).toBeLessThan(64);
      }),
      { numRuns: 100 },
    );
  });

  it('[AE6] descent: one differing key at depth 10 costs root (with level 4) + 2 descent + 1 diff round trips', () => {
    const a = Array.from({ length: 2000 }, (_, i) => ({ key: `key-${i}`, digest: 'v1' }));
    const b = a.map((e, i) => (i === 777 ? { ...e, digest: 'v2' } : e));
    const result = run(a, b, 10);
    expect(result.keysToSend).toEqual(['key-777']);
    expect(result.keysToFetch).toEqual(['key-777']);
    expect(result.segmentsDiffering).toBe(1);
    expect(result.messages.map((m) => m.type)).toEqual([
      'ae-root',
      'ae-root-reply',
      'ae-nodes',
      'ae-nodes-reply',
      'ae-nodes',
      'ae-nodes-reply',
      'ae-diff',
      'ae-diff-reply',
    ]);
    // 16 hashes at level 4, 16 at level 8, 4 at level 10: a few hundred bytes.
    expect(result.bytes).toBeLessThan(600);
  });

  it('[AE7] one segment larger than a page is split by hash range, and reply keys continue by cursor', () => {
    const a = Array.from({ length: 50 }, (_, i) => ({ key: `a-${i}`, digest: 'v1' }));
    const b = Array.from({ length: 40 }, (_, i) => ({ key: `b-${i}`, digest: 'v1' }));
    const limits = { ...exchangeLimitsDefault, entriesPerMessageMax: 8, keysPerMessageMax: 3 };
    const result = run(a, b, 1, limits);
    expect([...result.keysToSend].sort()).toEqual(a.map((e) => e.key).sort());
    expect([...result.keysToFetch].sort()).toEqual(b.map((e) => e.key).sort());
    const diffs = result.messages.filter((m) => m.type === 'ae-diff');
    expect(diffs.some((m) => m.items.some((i) => i.hiFirst > 0 || i.hiLast < 0xffffffff))).toBe(
      true,
    );
    expect(diffs.some((m) => m.after !== undefined)).toBe(true);
    checkBounds(result.messages, limits);
  });

  it('[AE8] the responder refuses what it cannot or will not answer', () => {
    const tree = MerkleTree.fromEntries([{ key: 'x', digest: 'v' }], 6);
    const none = () => [];
    const ask = (req: Parameters<typeof answerRequest>[2], limits = exchangeLimitsDefault) =>
      answerRequest(tree, none, req, limits);
    const base = { v: 1 as const, partition: 3 };
    const rootReq = {
      ...base,
      type: 'ae-root' as const,
      depth: 6,
      root: { hi: 0, lo: 0 },
      level: 4,
    };
    expect(ask({ ...rootReq, depth: 7 })).toMatchObject({
      type: 'ae-error',
      reason: 'depth-mismatch',
      partition: 3,
    });
    expect(ask({ ...rootReq, level: 0 })).toMatchObject({
      type: 'ae-error',
      reason: 'bad-request',
    });
    expect(ask(rootReq, { ...exchangeLimitsDefault, hashesPerMessageMax: 8 })).toMatchObject({
      reason: 'too-large',
    });
    const nodes = { ...base, type: 'ae-nodes' as const, parentLevel: 2, parents: [1], level: 4 };
    expect(ask(nodes)).toMatchObject({ type: 'ae-nodes-reply', level: 4 });
    expect(ask({ ...nodes, parents: [4] })).toMatchObject({ reason: 'bad-request' });
    expect(ask({ ...nodes, level: 2 })).toMatchObject({ reason: 'bad-request' });
    expect(ask({ ...nodes, level: 7 })).toMatchObject({ reason: 'bad-request' });
    expect(
      ask({ ...nodes, parents: [0, 1, 2] }, { ...exchangeLimitsDefault, hashesPerMessageMax: 8 }),
    ).toMatchObject({
      reason: 'too-large',
    });
    const item = { segment: 5, hiFirst: 0, hiLast: 0xffffffff, hashes: new Uint32Array(2) };
    const diff = { ...base, type: 'ae-diff' as const, items: [item, item] };
    expect(ask(diff)).toMatchObject({ reason: 'bad-request' }); // overlapping items
    expect(ask({ ...diff, items: [{ ...item, segment: 64 }] })).toMatchObject({
      reason: 'bad-request',
    });
    expect(
      ask({ ...diff, items: [item] }, { ...exchangeLimitsDefault, entriesPerMessageMax: 1 }),
    ).toMatchObject({
      reason: 'too-large',
    });
    expect(ask({ ...rootReq, v: 2 as 1 })).toMatchObject({ reason: 'unsupported-version' });
  });

  it('[AE8] the initiator fails, without a result, on a wrong or hostile reply', () => {
    const a = MerkleTree.fromEntries([{ key: 'x', digest: 'v1' }], 6);
    const entries = lookupBySegment([{ key: 'x', digest: 'v1' }], 6);
    const { state } = startExchange(0, a);
    const wrongCount = {
      type: 'ae-root-reply' as const,
      v: 1 as const,
      partition: 0,
      match: false,
      level: 4,
      hashes: new Uint32Array(2),
    };
    expect(receiveReply(state, a, entries, wrongCount).kind).toBe('failed');
    expect(receiveReply(state, a, entries, { ...wrongCount, partition: 1 }).kind).toBe('failed');
    const error = {
      type: 'ae-error' as const,
      v: 1 as const,
      partition: 0,
      reason: 'depth-mismatch' as const,
      message: 'x',
    };
    expect(receiveReply(state, a, entries, error)).toMatchObject({
      kind: 'failed',
      reason: 'depth-mismatch: x',
    });

    // Walk to the diff phase against an empty peer, then answer with a hash that was never sent.
    let step = receiveReply(
      state,
      a,
      entries,
      answerRequest(new MerkleTree(6), () => [], startExchange(0, a).message),
    );
    while (step.kind === 'send' && step.message.type !== 'ae-diff') {
      step = receiveReply(
        step.state,
        a,
        entries,
        answerRequest(new MerkleTree(6), () => [], step.message),
      );
    }
    expect(step.kind).toBe('send');
    if (step.kind !== 'send') return;
    const bogus = {
      type: 'ae-diff-reply' as const,
      v: 1 as const,
      partition: 0,
      keys: [],
      missing: Uint32Array.of(1, 2),
    };
    expect(receiveReply(step.state, a, entries, bogus).kind).toBe('failed');
    const stuck = { ...bogus, missing: new Uint32Array(0), next: { segment: 0, hi: 0, lo: 0 } };
    expect(receiveReply(step.state, a, entries, stuck).kind).toBe('failed');
  });

  it('[AE4] writes during an exchange never make it fail; the next round is exact', () => {
    fc.assert(
      fc.property(storePair, storePair, fc.nat(20), ({ a, b }, { b: later }, when) => {
        const depth = 6;
        const treeA = MerkleTree.fromEntries(a, depth);
        const lookupA = lookupBySegment(a, depth);
        let storeB = new Map(b.map((e) => [e.key, e.digest]));
        const treeB = MerkleTree.fromEntries(b, depth);
        const lookupB = () =>
          lookupBySegment(
            [...storeB].map(([key, digest]) => ({ key, digest })),
            depth,
          );
        let lookupNow = lookupB();
        const step = startExchange(0, treeA);
        let next = receiveReply(
          step.state,
          treeA,
          lookupA,
          answerRequest(treeB, lookupNow, step.message),
        );
        for (let n = 0; next.kind === 'send'; n++) {
          if (n === when) {
            // The responder takes writes mid-exchange (tree and store together, as a node does).
            for (const e of later) {
              treeB.update(e.key, storeB.get(e.key), e.digest);
              storeB = new Map(storeB).set(e.key, e.digest);
            }
            lookupNow = lookupB();
          }
          next = receiveReply(
            next.state,
            treeA,
            lookupA,
            answerRequest(treeB, lookupNow, next.message),
          );
        }
        expect(next.kind).toBe('done');
        const finalB = [...storeB].map(([key, digest]) => ({ key, digest }));
        const again = runExchange(treeA, lookupA, treeB, lookupBySegment(finalB, depth));
        const want = expected(a, finalB);
        expect([...again.keysToSend].sort()).toEqual(want.send);
        expect([...again.keysToFetch].sort()).toEqual(want.fetch);
      }),
      { numRuns: 100 },
    );
  });

  it('[AE4] depth mismatch ends the exchange with an error, not a wrong answer', () => {
    expect(() =>
      runExchange(
        new MerkleTree(8),
        () => [],
        new MerkleTree(9),
        () => [],
      ),
    ).toThrow(/depth-mismatch/);
  });

  it('[AE9] messageBytes is the exact MessagePack size of the positional wire form', () => {
    fc.assert(
      fc.property(
        storePair,
        fc.integer({ min: 1, max: 9 }),
        smallLimits,
        ({ a, b }, depth, limits) => {
          for (const m of run(a, b, depth, limits).messages) {
            expect(messageBytes(m)).toBe(pack(toWireArray(m)).length);
          }
        },
      ),
      { numRuns: 100 },
    );
    const error = {
      type: 'ae-error' as const,
      v: 1 as const,
      partition: 70000,
      reason: 'too-large' as const,
      message: 'é'.repeat(40),
    };
    expect(messageBytes(error)).toBe(pack(toWireArray(error)).length);
  });
});
