import type { NodeId } from './types.ts';

/**
 * The phi accrual failure detector (Hayashibara et al., 2004), in the form Cassandra and Akka
 * use: instead of a yes/no time-out, each peer gets a suspicion level phi computed from the
 * history of its heartbeat inter-arrival times. phi = -log10(P(a heartbeat arrives later than
 * now)), with arrivals modelled as a normal distribution. A peer whose messages are all slow
 * (e.g. 200 ms of added delay) keeps a regular rhythm and stays up; a peer that goes silent
 * crosses the threshold within a few intervals.
 *
 * Pure: callers pass the time in.
 */
export interface PhiOptions {
  /** Conviction threshold; Cassandra's default is 8. */
  readonly threshold: number;
  /** Below this a peer is up; between this and `threshold` it is suspect. */
  readonly suspectThreshold: number;
  /** Inter-arrival samples kept per peer. */
  readonly windowSize: number;
  /** Floor on the standard deviation so a perfectly regular peer is not convicted by jitter. */
  readonly minStdDeviationMs: number;
  /** Pause tolerated on top of the mean before suspicion grows (GC pauses, busy event loop). */
  readonly acceptablePauseMs: number;
  /** Interval assumed before any sample exists. */
  readonly firstIntervalMs: number;
}

export const PHI_DEFAULTS: PhiOptions = {
  threshold: 8,
  suspectThreshold: 3,
  windowSize: 100,
  minStdDeviationMs: 200,
  acceptablePauseMs: 1000,
  firstIntervalMs: 1000,
};

interface History {
  readonly samples: number[];
  next: number;
  sum: number;
  sumSq: number;
  lastMs: number;
}

export type Liveness = 'up' | 'suspect' | 'down';

export class PhiAccrualDetector {
  readonly #options: PhiOptions;
  readonly #peers = new Map<NodeId, History>();

  constructor(options: Partial<PhiOptions> = {}) {
    this.#options = { ...PHI_DEFAULTS, ...options };
  }

  /** Records that something arrived from `id` at `nowMs`. */
  heartbeat(id: NodeId, nowMs: number): void {
    const h = this.#peers.get(id);
    if (!h) {
      const first = this.#options.firstIntervalMs;
      // Seed with two samples around the expected interval so the first phi is sensible.
      this.#peers.set(id, { samples: [first], next: 1, sum: first, sumSq: first * first, lastMs: nowMs });
      return;
    }
    const interval = nowMs - h.lastMs;
    h.lastMs = nowMs;
    // Bursts of messages (replies, batches) are not heartbeats: only count real gaps.
    if (interval < this.#options.firstIntervalMs / 10) return;
    if (h.samples.length < this.#options.windowSize) {
      h.samples.push(interval);
    } else {
      const old = h.samples[h.next]!;
      h.sum -= old;
      h.sumSq -= old * old;
      h.samples[h.next] = interval;
      h.next = (h.next + 1) % this.#options.windowSize;
    }
    h.sum += interval;
    h.sumSq += interval * interval;
  }

  /** Suspicion of `id` now; 0 for a peer heard just now, Infinity for one never heard. */
  phi(id: NodeId, nowMs: number): number {
    const h = this.#peers.get(id);
    if (!h) return Infinity;
    const n = h.samples.length;
    const mean = h.sum / n;
    const variance = Math.max(0, h.sumSq / n - mean * mean);
    const std = Math.max(Math.sqrt(variance), this.#options.minStdDeviationMs);
    const elapsed = nowMs - h.lastMs;
    return phiOf(elapsed, mean + this.#options.acceptablePauseMs, std);
  }

  state(id: NodeId, nowMs: number): Liveness {
    const p = this.phi(id, nowMs);
    if (p < this.#options.suspectThreshold) return 'up';
    return p < this.#options.threshold ? 'suspect' : 'down';
  }

  lastHeardMs(id: NodeId): number | undefined {
    return this.#peers.get(id)?.lastMs;
  }

  forget(id: NodeId): void {
    this.#peers.delete(id);
  }
}

/** -log10 of the upper tail of N(mean, std) at `elapsed`, via the logistic approximation Akka uses. */
function phiOf(elapsed: number, mean: number, std: number): number {
  const y = (elapsed - mean) / std;
  const e = Math.exp(-y * (1.5976 + 0.070566 * y * y));
  if (elapsed > mean) return -Math.log10(e / (1 + e));
  return -Math.log10(1 - 1 / (1 + e));
}
