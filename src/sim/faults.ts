import type { NodeId } from '../core/types.ts';
import type { ClockSkew } from './sim-clock.ts';
import type { NetworkFaults } from './sim-network.ts';
import { CALM_NETWORK } from './sim-network.ts';
import type { Prng } from './prng.ts';

/** The fault kinds `--faults` accepts. */
export const FAULT_KINDS = ['drop', 'delay', 'reorder', 'duplicate', 'partition', 'one-way', 'crash', 'skew', 'disk-full'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** `all`, `none` or a comma list of kinds. Throws on an unknown kind. */
export function parseFaults(spec: string): ReadonlySet<FaultKind> {
  if (spec === 'all') return new Set(FAULT_KINDS);
  if (spec === 'none' || spec === '') return new Set();
  const out = new Set<FaultKind>();
  for (const part of spec.split(',')) {
    const k = part.trim();
    if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new Error(`unknown fault kind "${k}" (one of: all, none, ${FAULT_KINDS.join(', ')})`);
    out.add(k as FaultKind);
  }
  return out;
}

/** The network's misbehaviour for the faulty phase of a run, drawn from the seed. */
export function drawNetworkFaults(rng: Prng, kinds: ReadonlySet<FaultKind>): NetworkFaults {
  const reorder = kinds.has('reorder');
  return {
    // Up to 8 % loss: enough to break quorums often, not so much that nothing completes.
    dropP: kinds.has('drop') ? rng.int(1, 8) / 100 : 0,
    duplicateP: kinds.has('duplicate') ? rng.int(1, 5) / 100 : 0,
    latencyMinMs: 1,
    // Independent delays of up to 15 ms reorder messages on a link; FIFO links stay tight.
    latencyMaxMs: reorder ? rng.int(5, 15) : 3,
    spikeP: kinds.has('delay') ? rng.int(1, 10) / 100 : 0,
    // Spikes up to 800 ms outlast the 500 ms request time-out of the simulated nodes.
    spikeMaxMs: kinds.has('delay') ? 800 : 0,
    reorder,
  } satisfies NetworkFaults;
}

export { CALM_NETWORK };

/** A node's clock error: up to ±30 s off and ±5 % fast or slow. */
export function drawSkew(rng: Prng, kinds: ReadonlySet<FaultKind>): ClockSkew {
  if (!kinds.has('skew')) return { offsetMs: 0, rate: 1 };
  return { offsetMs: rng.int(-30_000, 30_000), rate: 1 + rng.int(-50, 50) / 1000 };
}

/** One nemesis action, as the event log and the failure trace show it. */
export interface FaultEvent {
  readonly atMs: number;
  readonly text: string;
}

/** A random split of the nodes into two non-empty sides. */
export function drawSplit(rng: Prng, ids: readonly NodeId[]): [NodeId[], NodeId[]] {
  const shuffled = rng.shuffle(ids);
  const cut = rng.int(1, ids.length - 1);
  return [shuffled.slice(0, cut).sort(), shuffled.slice(cut).sort()];
}
