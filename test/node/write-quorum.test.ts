import { describe, expect, it } from 'vitest';
import { WriteQuorum, type WriteOutcome } from '../../src/node/write-quorum.ts';

/** A quorum over targets a, b, c needing `required`, recording what it decided and settled with. */
function quorum(required: number): {
  q: WriteQuorum;
  decided: () => WriteOutcome | undefined;
  settled: { ok: boolean; acked: boolean[] }[];
} {
  const settled: { ok: boolean; acked: boolean[] }[] = [];
  const q = new WriteQuorum(['a', 'b', 'c'], required, (ok, acked) =>
    settled.push({ ok, acked: [0, 1, 2].map(acked) }),
  );
  let outcome: WriteOutcome | undefined;
  void q.decided.then((o) => (outcome = o));
  return { q, decided: () => outcome, settled };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('WriteQuorum', () => {
  it('decides once W targets hold the write, keeps counting late acks, and settles once with who acked', async () => {
    const { q, decided, settled } = quorum(2);
    q.succeed(0);
    q.succeed(0); // a repeat counts once
    await tick();
    expect(decided()).toBeUndefined();
    q.succeed(q.indexOf('c'));
    await tick();
    expect(decided()).toEqual({ ok: true, succeeded: 2, failed: 0, timedOut: false, total: 3 });
    expect(settled).toEqual([]);
    q.fail(1);
    expect(settled).toEqual([{ ok: true, acked: [true, false, true] }]);
    q.timeout(); // after settling: nothing more
    q.succeed(1);
    expect(settled).toHaveLength(1);
  });

  it('fails as soon as W can no longer be reached, without waiting for the time-out', async () => {
    const { q, decided, settled } = quorum(2);
    q.succeed(0);
    q.fail(1);
    await tick();
    expect(decided()).toBeUndefined();
    q.fail(2);
    await tick();
    expect(decided()).toEqual({ ok: false, succeeded: 1, failed: 2, timedOut: false, total: 3 });
    expect(settled).toEqual([{ ok: false, acked: [true, false, false] }]);
  });

  it('on the time-out decides by the acks so far, reports a time-out only when it failed, and ignores later answers', async () => {
    const short = quorum(3);
    short.q.succeed(0);
    short.q.succeed(1);
    short.q.timeout();
    short.q.succeed(2);
    await tick();
    expect(short.decided()).toEqual({
      ok: false,
      succeeded: 2,
      failed: 0,
      timedOut: true,
      total: 3,
    });
    expect(short.settled).toEqual([{ ok: false, acked: [true, true, false] }]);

    const met = quorum(2);
    met.q.succeed(0);
    met.q.succeed(1);
    met.q.timeout();
    await tick();
    expect(met.decided()?.timedOut).toBe(false);
    expect(met.settled).toEqual([{ ok: true, acked: [true, true, false] }]);
  });

  it('ignores answers from nodes it did not ask', async () => {
    const { q, decided } = quorum(1);
    q.succeed(q.indexOf('zz'));
    q.fail(-1);
    await tick();
    expect(decided()).toBeUndefined();
  });
});
