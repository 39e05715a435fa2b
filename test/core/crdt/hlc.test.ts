import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compareHlc,
  hlcCounterMax,
  hlcZero,
  maxHlc,
  receive,
  tick,
  type Hlc,
} from '../../../src/core/crdt/hlc.ts';

const hlc = fc.record({
  wallMs: fc.integer({ min: 0, max: 2_000_000_000_000 }),
  counter: fc.integer({ min: 0, max: 1000 }),
  node: fc.constantFrom('n1', 'n2', 'n3'),
});
const now = fc.integer({ min: 0, max: 2_000_000_000_000 });

describe('hybrid logical clock', () => {
  it('[CRDT4] tick is later than the last timestamp and not behind wall time', () => {
    fc.assert(
      fc.property(hlc, now, (last, nowMs) => {
        const next = tick(last, nowMs);
        expect(compareHlc(next, last)).toBeGreaterThan(0);
        expect(next.wallMs).toBeGreaterThanOrEqual(nowMs);
        expect(next.wallMs).toBe(Math.max(last.wallMs, nowMs));
      }),
    );
  });

  it('[CRDT4] receive is later than both clocks, even when the wall clock is behind', () => {
    fc.assert(
      fc.property(hlc, hlc, now, (local, remote, nowMs) => {
        const next = receive(local, remote, nowMs);
        expect(compareHlc({ ...next, node: 'zz' }, { ...local, node: 'zz' })).toBeGreaterThan(0);
        expect(compareHlc({ ...next, node: 'zz' }, { ...remote, node: 'zz' })).toBeGreaterThan(0);
        expect(next.node).toBe(local.node);
      }),
    );
  });

  it('compare is a total order: wall, then counter, then node id (larger id wins a tie)', () => {
    const a: Hlc = { wallMs: 5, counter: 1, node: 'n1' };
    expect(compareHlc(a, { ...a, node: 'n2' })).toBe(-1);
    expect(compareHlc(a, { ...a, counter: 0, node: 'n9' })).toBe(1);
    expect(compareHlc(a, { ...a, wallMs: 6, counter: 0 })).toBe(-1);
    expect(compareHlc(a, { ...a })).toBe(0);
    expect(maxHlc(a, { ...a, node: 'n2' }).node).toBe('n2');
    fc.assert(
      fc.property(hlc, hlc, (x, y) => {
        expect(Math.sign(compareHlc(x, y)) + Math.sign(compareHlc(y, x))).toBe(0);
      }),
    );
  });

  it('a saturated counter moves the wall forward instead of overflowing', () => {
    const next = tick({ wallMs: 10, counter: hlcCounterMax, node: 'n1' }, 3);
    expect(next).toEqual({ wallMs: 11, counter: 0, node: 'n1' });
  });

  it('fractional wall time is floored; tick can re-stamp with another node', () => {
    expect(tick(hlcZero('n1'), 1700000000000.7, 'n2')).toEqual({
      wallMs: 1700000000000,
      counter: 0,
      node: 'n2',
    });
    expect(() => tick(hlcZero('n1'), Number.NaN)).toThrow(RangeError);
  });
});
