import { describe, expect, it } from 'vitest';
import { checkHistory } from '../../src/sim/checkers/check-history.ts';
import { checkCounters, isSubsetSum } from '../../src/sim/checkers/counters.ts';
import { HISTORY_FORMAT, type HistoryOp, type RecordJson } from '../../src/sim/history.ts';

/** Hand-written histories: each checker on the smallest case that should (not) fire. */
let seq = 0;
function op(fields: Partial<HistoryOp> & Pick<HistoryOp, 'f' | 'key'>): HistoryOp {
  const invokeSeq = seq++;
  const completeSeq = fields.type === 'info' ? null : seq++;
  return {
    format: HISTORY_FORMAT,
    id: invokeSeq,
    process: 'c1',
    node: 'n1',
    invokeMs: invokeSeq,
    invokeSeq,
    completeMs: completeSeq,
    completeSeq,
    type: 'ok',
    ...fields,
  };
}
const rec = (
  context: Record<string, number>,
  ...siblings: [string, string, boolean?, Record<string, number>?][]
): RecordJson => ({
  context,
  siblings: siblings.map(([dot, value, deleted, seen]) => ({
    dot,
    value,
    deleted: deleted ?? false,
    seen: seen ?? {},
  })),
});
const opts = { n: 3, sloppy: false };

describe('[SIM-CHECK] checkers on hand-written histories', () => {
  it('lost-write: an acknowledged put missing from the final state, not superseded', () => {
    seq = 0;
    const h = [
      op({ f: 'put', key: 'k', value: 'a', w: 2, context: null, dot: 'n1:1' }),
      op({ f: 'put', key: 'k', value: 'b', w: 2, context: null, dot: 'n2:1' }),
      op({
        process: 'final',
        f: 'read',
        key: 'k',
        r: 3,
        result: rec({ n1: 1, n2: 1 }, ['n2:1', 'b']),
      }),
    ];
    // The final read is itself an R=N read that missed it.
    expect(checkHistory(h, opts).violations.map((v) => v.kind)).toEqual([
      'lost-write',
      'stale-read',
    ]);
  });

  it('no lost-write when a later write had seen it (its context covers the dot)', () => {
    seq = 0;
    const h = [
      op({ f: 'put', key: 'k', value: 'a', w: 2, context: null, dot: 'n1:1' }),
      op({ f: 'put', key: 'k', value: 'b', w: 2, context: { n1: 1 }, dot: 'n1:2' }),
      op({
        process: 'final',
        f: 'read',
        key: 'k',
        r: 3,
        result: rec({ n1: 2 }, ['n1:2', 'b', false, { n1: 1 }]),
      }),
    ];
    expect(checkHistory(h, opts).violations).toEqual([]);
  });

  it('stale-read only for R+W>N without sloppy quorums; counted otherwise', () => {
    seq = 0;
    const h = [
      op({ f: 'put', key: 'k', value: 'a', w: 2, context: null, dot: 'n1:1' }),
      op({ f: 'read', key: 'k', r: 2, result: null }),
      op({ f: 'read', key: 'k', r: 1, result: null }),
      op({ process: 'final', f: 'read', key: 'k', r: 3, result: rec({ n1: 1 }, ['n1:1', 'a']) }),
    ];
    const strict = checkHistory(h, opts);
    expect(strict.violations.map((v) => v.kind)).toEqual(['stale-read']);
    expect(strict.stats.staleReads).toBe(1);
    const sloppy = checkHistory(h, { n: 3, sloppy: true });
    expect(sloppy.violations).toEqual([]);
    expect(sloppy.stats.sloppyStaleReads).toBe(1);
  });

  it('an acknowledged delete applied twice (a retried forward): its second tombstone is still that delete', () => {
    // `a`, then a delete acknowledged with n4:1 and read back as the tombstone n5:1 (seen {n1:1}).
    const history = (deleteContext: Record<string, number>, final: RecordJson): HistoryOp[] => {
      seq = 0;
      return [
        op({ f: 'put', key: 'k', value: 'a', w: 3, context: null, dot: 'n1:1' }),
        op({ f: 'del', key: 'k', w: 2, context: deleteContext, dot: 'n4:1' }),
        op({
          f: 'read',
          key: 'k',
          r: 1,
          result: rec({ n1: 1, n5: 1 }, ['n5:1', '', true, { n1: 1 }]),
        }),
        op({ process: 'final', f: 'read', key: 'k', r: 3, result: final }),
      ];
    };
    // The delete had seen `a`: a retry on another coordinator stored it a second time, as n5:1.
    const h = history(
      { n1: 1 },
      rec({ n1: 1, n4: 1, n5: 1 }, ['n4:1', '', true, { n1: 1 }], ['n5:1', '', true, { n1: 1 }]),
    );
    expect(checkHistory(h, opts).violations).toEqual([]);
    // A tombstone no delete with that context made still shows nothing that had seen `a`.
    const other = history({}, rec({ n1: 1, n4: 1 }, ['n1:1', 'a'], ['n4:1', '', true, {}]));
    expect(checkHistory(other, opts).violations.map((v) => v.kind)).toContain('stale-read');
  });

  it('resurrection: a version the delete had seen comes back', () => {
    seq = 0;
    const h = [
      op({ f: 'put', key: 'k', value: 'a', w: 2, context: null, dot: 'n1:1' }),
      op({ f: 'del', key: 'k', w: 2, context: { n1: 1 }, dot: 'n1:2' }),
      op({ process: 'final', f: 'read', key: 'k', r: 3, result: rec({ n1: 2 }, ['n1:1', 'a']) }),
    ];
    const kinds = checkHistory(h, opts).violations.map((v) => v.kind);
    expect(kinds).toContain('resurrection');
    expect(kinds).toContain('lost-write');
  });

  /** Writes a then b (b with `bContext`), then a final read showing both as siblings. */
  const bothShownAsSiblings = (bContext: Record<string, number> | null): HistoryOp[] => {
    seq = 0;
    return [
      op({ f: 'put', key: 'k', value: 'a', w: 2, context: null, dot: 'n1:1' }),
      op({ f: 'put', key: 'k', value: 'b', w: 2, context: bContext, dot: 'n2:1' }),
      op({
        process: 'final',
        f: 'read',
        key: 'k',
        r: 3,
        result: rec({ n1: 1, n2: 1 }, ['n1:1', 'a'], ['n2:1', 'b']),
      }),
    ];
  };

  it('false-sibling: two versions side by side where one writer had seen the other', () => {
    const kinds = checkHistory(bothShownAsSiblings({ n1: 1 }), opts).violations.map((v) => v.kind);
    expect(kinds).toEqual(['false-sibling']);
  });

  it('concurrent blind writes may be siblings', () => {
    expect(checkHistory(bothShownAsSiblings(null), opts).violations).toEqual([]);
  });

  it('divergence: replicas that differ after the final heal', () => {
    seq = 0;
    const h = [
      op({ f: 'put', key: 'k', value: 'a', w: 1, context: null, dot: 'n1:1' }),
      op({ process: 'final', f: 'read', key: 'k', r: 3, result: rec({ n1: 1 }, ['n1:1', 'a']) }),
      op({
        process: 'final',
        node: 'n1',
        f: 'local-read',
        key: 'k',
        result: rec({ n1: 1 }, ['n1:1', 'a']),
      }),
      op({ process: 'final', node: 'n2', f: 'local-read', key: 'k', result: null }),
    ];
    expect(checkHistory(h, opts).violations.map((v) => v.kind)).toEqual(['divergence']);
  });

  it('dot-reuse, phantom and ack-without-version', () => {
    seq = 0;
    const h = [
      op({ f: 'put', key: 'k', value: 'a', w: 2, context: null, dot: 'n1:1' }),
      op({ f: 'put', key: 'k', value: 'b', w: 2, context: null, dot: 'n1:1' }),
      op({ f: 'put', key: 'k', value: 'c', w: 2, context: null, dot: null }),
      op({
        process: 'final',
        f: 'read',
        key: 'k',
        r: 3,
        result: rec({ n1: 1, n9: 1 }, ['n1:1', 'a'], ['n9:1', 'zzz']),
      }),
    ];
    const kinds = checkHistory(h, opts)
      .violations.map((v) => v.kind)
      .sort();
    // b's acknowledged version was overwritten under its reused dot: lost as well.
    expect(kinds).toEqual(['ack-without-version', 'dot-reuse', 'lost-write', 'phantom']);
  });
});

describe('[SIM-COUNTER] counters exact', () => {
  const inc = (by: number, idem: string, type: 'ok' | 'fail' | 'info'): HistoryOp =>
    op({ f: 'inc', key: 'c', field: 'x', by, idempotencyKey: idem, type });
  const final = (v: number): HistoryOp =>
    op({ process: 'final', f: 'counter-read', key: 'c', field: 'x', counter: v });

  it('acknowledged increments counted once per idempotency key, unknown ones maybe', () => {
    seq = 0;
    const h = [
      inc(5, 'a', 'info'),
      inc(5, 'a', 'ok'),
      inc(2, 'b', 'ok'),
      inc(3, 'c', 'info'),
      inc(4, 'd', 'fail'),
      final(10),
    ];
    expect(checkCounters(h)).toEqual([]);
    seq = 0;
    expect(
      checkCounters([inc(5, 'a', 'ok'), inc(2, 'b', 'ok'), inc(3, 'c', 'info'), final(7)]),
    ).toEqual([]);
  });

  it('reports an over-count (a retry applied twice) and an under-count (a lost increment)', () => {
    seq = 0;
    expect(
      checkCounters([inc(5, 'a', 'info'), inc(5, 'a', 'ok'), final(10)]).map((v) => v.kind),
    ).toEqual(['counter']);
    seq = 0;
    expect(
      checkCounters([inc(5, 'a', 'ok'), inc(1, 'b', 'ok'), final(5)]).map((v) => v.kind),
    ).toEqual(['counter']);
    seq = 0;
    expect(checkCounters([inc(5, 'a', 'fail'), final(5)]).map((v) => v.kind)).toEqual(['counter']);
  });

  it('reports a counter without a final value', () => {
    seq = 0;
    expect(checkCounters([inc(1, 'a', 'ok')]).map((v) => v.kind)).toEqual(['final-read-failed']);
  });

  it('subset sums, exact and bounded', () => {
    expect(isSubsetSum(0, [])).toBe(true);
    expect(isSubsetSum(7, [3, 4, -2])).toBe(true);
    expect(isSubsetSum(6, [3, 4])).toBe(false);
    expect(isSubsetSum(5, [3, 4, -2])).toBe(true);
  });
});
