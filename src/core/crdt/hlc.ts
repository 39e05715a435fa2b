/**
 * Hybrid logical clock (Kulkarni, Demirbas et al., "Logical Physical Clocks", OPODIS 2014).
 * Timestamps stay close to wall time but never go backwards and always exceed every
 * timestamp the issuer has seen, so a register write made after reading a value wins over
 * it even when the writer's wall clock is behind (LWW keeps causality).
 *
 * HLC alone only orders events partially; last-writer-wins needs a total order, so equal
 * (wallMs, counter) pairs are broken by node id: the larger id (UTF-16 code-unit order)
 * wins. Any fixed rule works; this one needs no extra state. Wall time is an input
 * (`nowMs`), never read here.
 */
import type { NodeId } from '../types.ts';

export interface Hlc {
  /** Milliseconds since the epoch, as an integer. */
  readonly wallMs: number;
  /** Logical counter within one `wallMs`. */
  readonly counter: number;
  /** Issuer of the timestamp, the final tie-break. */
  readonly node: NodeId;
}

/**
 * Counter values per wall millisecond. Reached only if a clock far ahead keeps being
 * ticked; the clock then moves its wall component forward by 1 ms instead of overflowing.
 */
export const hlcCounterMax = 0xffff_ffff;

export function hlcZero(node: NodeId): Hlc {
  return { wallMs: 0, counter: 0, node };
}

/** A local event (a write): later than `last` and at least `nowMs`. */
export function tick(last: Hlc, nowMs: number, node: NodeId = last.node): Hlc {
  const pt = wallOf(nowMs);
  if (pt > last.wallMs) return { wallMs: pt, counter: 0, node };
  return bump(last.wallMs, last.counter, node);
}

/** A receive event: later than both the local clock and the remote timestamp. */
export function receive(local: Hlc, remote: Hlc, nowMs: number): Hlc {
  const wall = Math.max(local.wallMs, remote.wallMs, wallOf(nowMs));
  if (wall === local.wallMs && wall === remote.wallMs) {
    return bump(wall, Math.max(local.counter, remote.counter), local.node);
  }
  if (wall === local.wallMs) return bump(wall, local.counter, local.node);
  if (wall === remote.wallMs) return bump(wall, remote.counter, local.node);
  return { wallMs: wall, counter: 0, node: local.node };
}

/** Total order: wall time, then counter, then node id. */
export function compareHlc(a: Hlc, b: Hlc): number {
  if (a.wallMs !== b.wallMs) return a.wallMs < b.wallMs ? -1 : 1;
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  if (a.node !== b.node) return a.node < b.node ? -1 : 1;
  return 0;
}

export function maxHlc(a: Hlc, b: Hlc): Hlc {
  return compareHlc(a, b) >= 0 ? a : b;
}

function bump(wallMs: number, counter: number, node: NodeId): Hlc {
  return counter < hlcCounterMax
    ? { wallMs, counter: counter + 1, node }
    : { wallMs: wallMs + 1, counter: 0, node };
}

function wallOf(nowMs: number): number {
  if (!Number.isFinite(nowMs) || nowMs < 0)
    throw new RangeError(`nowMs must be a finite, non-negative number, got ${nowMs}`);
  return Math.floor(nowMs);
}
