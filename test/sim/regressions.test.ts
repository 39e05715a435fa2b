import { describe, expect, it } from 'vitest';
import { runSimulation, SIM_DEFAULTS } from '../../src/sim/cluster-sim.ts';
import { parseFaults } from '../../src/sim/faults.ts';
import { nodeCounters } from '../../src/sim/node-counter-adapter.ts';

/**
 * Seeds that found bugs, each a named regression test (docs/TESTING.md, "When a seed fails").
 * `it.fails` marks a bug that is known and not fixed yet: the test passes while the bug is
 * there and fails once it is gone — then turn it into a plain `it`.
 */
describe('[SIM-R] regressions', () => {
  it(
    '[SIM-R1] partition handoff leaves a disk-full rejection unhandled, which kills a node (seed 5, --nodes 5 --ops 120)',
    { timeout: 60_000 },
    async () => {
      const r = await runSimulation({
        ...SIM_DEFAULTS,
        nodes: 5,
        ops: 120,
        seed: 5,
        faults: parseFaults('all'),
      });
      expect(r.violations.filter((v) => v.kind === 'unhandled-rejection')).toEqual([]);
    },
  );

  it(
    '[SIM-R2] a read showing the second tombstone of an acknowledged delete (a retried forward) is not stale (seed 183, --nodes 5)',
    { timeout: 60_000 },
    async () => {
      // The options `nosqldb sim --seed 183 --nodes 5 --faults all` runs with.
      const r = await runSimulation({
        ...SIM_DEFAULTS,
        nodes: 5,
        seed: 183,
        faults: parseFaults('all'),
        counters: nodeCounters(),
      });
      expect(r.violations).toEqual([]);
    },
  );
});
