/**
 * PN-counter (Shapiro, Preguiça, Baquero, Zawirski, "A comprehensive study of Convergent and
 * Commutative Replicated Data Types", INRIA RR-7506, 2011, §3.1.3): each actor owns a pair of
 * grow-only totals, increments `p` and decrements `n`; merge takes the pointwise maximum, the
 * value is Σp − Σn. An actor's pair only grows and only that actor writes it, so a delta is
 * just the actor's new pair (Almeida et al., "Delta State Replicated Data Types", 2018).
 *
 * Requirement on the caller: an actor increments its pair in a state that already contains
 * every increment it made before (its own durable replica), otherwise max() loses one.
 */
import { KvError } from '../errors.ts';
import type { NodeId } from '../types.ts';

export interface PnPair {
  readonly p: number;
  readonly n: number;
}

export type PnCounter = ReadonlyMap<NodeId, PnPair>;

export const emptyCounter: PnCounter = new Map();

export interface CounterChange {
  readonly counter: PnCounter;
  /** The actor's new pair alone: merging it anywhere has the effect of this increment. */
  readonly delta: PnCounter;
}

/** Adds `by` (a safe integer, may be negative) to `actor`'s pair. */
export function counterIncrement(
  counter: PnCounter,
  actor: NodeId,
  by: number,
  field: string,
): CounterChange {
  const current = counter.get(actor) ?? { p: 0, n: 0 };
  const next: PnPair =
    by >= 0 ? { p: current.p + by, n: current.n } : { p: current.p, n: current.n - by };
  if (!Number.isSafeInteger(next.p) || !Number.isSafeInteger(next.n)) {
    throw new KvError('KV_BAD_REQUEST', 'counter would leave the safe-integer range', {
      field,
      by,
    });
  }
  const out = new Map(counter);
  out.set(actor, next);
  return { counter: out, delta: new Map([[actor, next]]) };
}

export function counterMerge(a: PnCounter, b: PnCounter): PnCounter {
  if (a === b || b.size === 0) return a;
  if (a.size === 0) return b;
  const out = new Map(a);
  for (const [actor, pb] of b) {
    const pa = out.get(actor);
    out.set(actor, pa === undefined ? pb : { p: Math.max(pa.p, pb.p), n: Math.max(pa.n, pb.n) });
  }
  return out;
}

/** Σp − Σn, exact (bigint) so many large pairs cannot round. */
export function counterTotal(counter: PnCounter): bigint {
  let total = 0n;
  for (const { p, n } of counter.values()) total += BigInt(p) - BigInt(n);
  return total;
}
