import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { contextFromDots, contextHas, contextMissing, singleDot, type Dot } from '../../../src/core/crdt/causal-context.ts';

const dots = fc.array(fc.record({ actor: fc.constantFrom('n1', 'n2', 'n3'), seq: fc.integer({ min: 1, max: 40 }) }), { maxLength: 60 });

describe('causal context helpers for reads of concurrent replicas', () => {
  it('contextMissing lists exactly the dots of a that b lacks, or undefined past max', () => {
    fc.assert(
      fc.property(dots, dots, fc.integer({ min: 0, max: 80 }), (da, db, max) => {
        const a = contextFromDots(da);
        const b = contextFromDots(db);
        const want = new Map<string, Dot>();
        for (const d of da) if (!contextHas(b, d)) want.set(`${d.actor}/${d.seq}`, d);
        const got = contextMissing(a, b, max);
        if (want.size > max) expect(got).toBeUndefined();
        else expect(new Set(got!.map((d) => `${d.actor}/${d.seq}`))).toEqual(new Set(want.keys()));
        if (got) expect(got.length).toBe(want.size);
      }),
    );
  });

  it('singleDot names a delta’s one dot and nothing else', () => {
    expect(singleDot(contextFromDots([{ actor: 'n1', seq: 1 }]))).toEqual({ actor: 'n1', seq: 1 });
    expect(singleDot(contextFromDots([{ actor: 'n2', seq: 7 }]))).toEqual({ actor: 'n2', seq: 7 });
    expect(singleDot(contextFromDots([]))).toBeUndefined();
    expect(singleDot(contextFromDots([{ actor: 'n1', seq: 1 }, { actor: 'n1', seq: 2 }]))).toBeUndefined();
    expect(singleDot(contextFromDots([{ actor: 'n1', seq: 3 }, { actor: 'n2', seq: 3 }]))).toBeUndefined();
  });
});
