import type { SimOptions, SimResult } from './cluster-sim.ts';
import { runSimulation } from './cluster-sim.ts';

/** Shrinking runs at most this many extra simulations (each is a full run). */
const shrinkRunsMax = 12;

/**
 * A smaller run of the same seed that still fails with one of the same violation kinds: the
 * op budget is halved while the failure persists, then bisected. Every stream of choices is
 * forked per purpose (prng.ts), so fewer ops leave the network and faults of the prefix alone.
 */
export async function shrink(opts: SimOptions, failing: SimResult): Promise<{ options: SimOptions; result: SimResult }> {
  const kinds = new Set(failing.violations.map((v) => v.kind));
  const stillFails = (r: SimResult): boolean => r.violations.some((v) => kinds.has(v.kind));
  let best = { options: opts, result: failing };
  let hi = opts.ops;
  let lo = 0;
  let runs = 0;
  while (hi - lo > Math.max(4, opts.clients) && runs < shrinkRunsMax) {
    const mid = Math.floor((lo + hi) / 2);
    const options = { ...opts, ops: mid, onEvent: undefined };
    const result = await runSimulation(options);
    runs++;
    if (stillFails(result)) {
      best = { options, result };
      hi = mid;
    } else lo = mid;
  }
  return best;
}
