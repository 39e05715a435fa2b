import { expect, it } from 'vitest';
import { runSimulation, SIM_DEFAULTS } from '../../src/sim/cluster-sim.ts';
import { parseFaults } from '../../src/sim/faults.ts';
import { nodeCounters } from '../../src/sim/node-counter-adapter.ts';
import { addToSummary, emptySummary, formatFailure, formatSummary } from '../../src/sim/report.ts';

/**
 * Runs `count` seeds from `start` with every fault kind, 3 or 5 nodes alternating, and fails
 * with each failing seed's short trace (replay it with `nosqldb sim --seed S --nodes N`).
 */
export function simSeedBatch(start: number, count: number): void {
  it(`[SIM-SEEDS] seeds ${start}..${start + count - 1} with all faults show no violation`, { timeout: 110_000 }, async () => {
    const summary = emptySummary();
    const failures: string[] = [];
    const t0 = performance.now();
    for (let seed = start; seed < start + count; seed++) {
      const nodes = seed % 2 === 0 ? 3 : 5;
      const r = await runSimulation({ ...SIM_DEFAULTS, nodes, ops: 120, seed, faults: parseFaults('all'), counters: nodeCounters() });
      addToSummary(summary, r);
      if (r.violations.length > 0 || r.setupError) failures.push(`--nodes ${nodes} --ops 120\n${formatFailure(r)}`);
    }
    const text = formatSummary(summary, performance.now() - t0);
    // Every fault kind must really have happened somewhere in the batch.
    for (const kind of ['drop', 'delay', 'duplicate', 'cut', 'partition', 'one-way', 'crash', 'restart', 'skew', 'disk-full']) {
      expect(summary.faults[kind] ?? 0, `${kind} never happened\n${text}`).toBeGreaterThan(0);
    }
    expect(failures, failures.slice(0, 3).join('\n\n')).toEqual([]);
  });
}
