import { describe, expect, it } from 'vitest';
import { runSimulation, SIM_DEFAULTS } from '../../src/sim/cluster-sim.ts';
import { parseFaults } from '../../src/sim/faults.ts';
import { checkHistory } from '../../src/sim/checkers/check-history.ts';
import { historyFromJsonl, historyToJsonl } from '../../src/sim/history.ts';

const all = parseFaults('all');

describe('[SIM-REPLAY] determinism', () => {
  it('replaying a seed twice gives the same event-log hash and the same history', async () => {
    const a = await runSimulation({ ...SIM_DEFAULTS, ops: 120, seed: 4242, faults: all });
    const b = await runSimulation({ ...SIM_DEFAULTS, ops: 120, seed: 4242, faults: all });
    expect(a.events).toBeGreaterThan(500);
    expect(b.hash).toBe(a.hash);
    expect(JSON.stringify(b.history)).toBe(JSON.stringify(a.history));
  });

  it('another seed gives another run', async () => {
    const a = await runSimulation({ ...SIM_DEFAULTS, ops: 60, seed: 1, faults: all });
    const b = await runSimulation({ ...SIM_DEFAULTS, ops: 60, seed: 2, faults: all });
    expect(b.hash).not.toBe(a.hash);
  });

  it('an exported history reads back and re-checks to the same report', async () => {
    const r = await runSimulation({ ...SIM_DEFAULTS, ops: 80, seed: 77, faults: all });
    const text = historyToJsonl({ seed: 77, nodes: 5, n: 3, hintedHandoff: r.hintedHandoff, faults: [...all], hash: r.hash }, r.history);
    const lines = text.trim().split('\n');
    expect(lines).toHaveLength(r.history.length + 1);
    const { run, ops } = historyFromJsonl(text);
    expect(run.hash).toBe(r.hash);
    const again = checkHistory(ops, { n: run.n, sloppy: run.hintedHandoff });
    expect(again.violations).toEqual(r.violations);
    // Every op has its invocation; completed ones their completion, in one global order.
    for (const o of ops) {
      expect(o.invokeSeq).toBeTypeOf('number');
      if (o.completeSeq !== null) expect(o.completeSeq).toBeGreaterThan(o.invokeSeq);
    }
  });
});
