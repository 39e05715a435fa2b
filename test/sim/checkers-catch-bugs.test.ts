import { describe, expect, it } from 'vitest';
import { runSimulation, SIM_DEFAULTS } from '../../src/sim/cluster-sim.ts';
import { parseFaults } from '../../src/sim/faults.ts';
import { plantedBug } from '../../src/sim/planted-bugs.ts';
import type { ViolationKind } from '../../src/sim/checkers/violation.ts';

/**
 * [SIM-PLANT] Each checker is shown to catch a real violation: the node runs with a bug
 * planted in one of its ports, and the run must report the matching kind. Seeds 1..4 are tried
 * in order (the first that shows it ends the search), so a change in the node that moves the
 * interleavings does not make the test lie; a checker that never fires fails it.
 */
const cases: { plant: string; kind: ViolationKind; faults: string }[] = [
  { plant: 'ack-before-durable', kind: 'lost-write', faults: 'all' },
  { plant: 'ack-before-durable', kind: 'dot-reuse', faults: 'all' },
  { plant: 'drop-tombstones', kind: 'resurrection', faults: 'all' },
  { plant: 'blind-forward', kind: 'false-sibling', faults: 'none' },
  { plant: 'no-read-repair', kind: 'divergence', faults: 'drop,partition' },
  { plant: 'forget-on-read', kind: 'stale-read', faults: 'none' },
];

describe('[SIM-PLANT] every checker catches its planted bug', () => {
  for (const c of cases) {
    it(`${c.plant} is reported as ${c.kind}`, { timeout: 60_000 }, async () => {
      const seen: string[] = [];
      for (let seed = 1; seed <= 4; seed++) {
        const r = await runSimulation({ ...SIM_DEFAULTS, ops: 120, seed, faults: parseFaults(c.faults), hintedHandoff: false, plant: plantedBug(c.plant) });
        seen.push(`seed ${seed}: ${r.violations.map((v) => v.kind).join(',') || 'none'}`);
        if (r.violations.some((v) => v.kind === c.kind)) return;
      }
      expect.fail(`${c.kind} not reported:\n${seen.join('\n')}`);
    });
  }

  it('the same seeds without the plant are clean (the checkers do not cry wolf)', { timeout: 60_000 }, async () => {
    for (const faults of ['none', 'drop,partition']) {
      for (let seed = 1; seed <= 2; seed++) {
        const r = await runSimulation({ ...SIM_DEFAULTS, ops: 120, seed, faults: parseFaults(faults), hintedHandoff: false });
        expect(r.violations, `seed ${seed} faults ${faults}`).toEqual([]);
      }
    }
  });
});
