import { describe, expect, it } from 'vitest';
import { KvError } from '../../src/core/errors.ts';
import { runSimulation, SIM_DEFAULTS } from '../../src/sim/cluster-sim.ts';
import type { CounterAdapter } from '../../src/sim/counter-workload.ts';
import { parseFaults } from '../../src/sim/faults.ts';

/**
 * [SIM-COUNTER-PLUG] The counter workload's plumbing, with a stand-in adapter (one shared
 * table, not the node) until the lead wires KvNode's patch API into a CounterAdapter. Every
 * third increment "times out" after applying, so clients retry with the same idempotency key.
 */
function tableAdapter(dedupe: boolean): CounterAdapter {
  const values = new Map<string, number>();
  const applied = new Set<string>();
  let calls = 0;
  return {
    inc: async (_node, key, field, by, idem) => {
      if (!dedupe || !applied.has(idem)) values.set(`${key}.${field}`, (values.get(`${key}.${field}`) ?? 0) + by);
      applied.add(idem);
      if (++calls % 3 === 0) throw new KvError('KV_TIMEOUT', 'stand-in time-out after applying');
    },
    read: async (_node, key, field) => values.get(`${key}.${field}`),
  };
}

describe('[SIM-COUNTER-PLUG] counter workload through a CounterAdapter', () => {
  it('exactly-once increments pass the counter checker', { timeout: 60_000 }, async () => {
    const r = await runSimulation({ ...SIM_DEFAULTS, ops: 120, seed: 5, faults: parseFaults('none'), counters: { adapter: tableAdapter(true), share: 0.5, keys: 2, retryP: 1 } });
    expect(r.history.filter((o) => o.f === 'inc').length).toBeGreaterThan(20);
    expect(r.history.filter((o) => o.f === 'counter-read' && o.process === 'final').length).toBeGreaterThan(0);
    expect(r.violations).toEqual([]);
  });

  it('a retry applied twice is reported', { timeout: 60_000 }, async () => {
    const r = await runSimulation({ ...SIM_DEFAULTS, ops: 120, seed: 5, faults: parseFaults('none'), counters: { adapter: tableAdapter(false), share: 0.5, keys: 2, retryP: 1 } });
    expect(r.violations.map((v) => v.kind)).toContain('counter');
  });
});
