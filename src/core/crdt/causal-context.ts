/**
 * Dots and the causal context of a document's sets (Almeida, Shoker, Baquero, "Delta State
 * Replicated Data Types", JPDC 2018, §5.2 "compact causal context"). A dot `(actor, seq)`
 * names one add; the context is every dot a state has seen, kept as a version vector
 * (`base`: all of 1..base seen) plus the few dots seen out of order (`extra`), which appear
 * when deltas arrive out of order and fold back into `base` once the gaps fill.
 *
 * Representation is canonical (extras sorted, all > base + 1), so equal contexts encode
 * equally, which the property tests and Merkle hashing rely on.
 */
import type { NodeId } from '../types.ts';

export interface Dot {
  readonly actor: NodeId;
  /** 1, 2, 3 … per actor. */
  readonly seq: number;
}

export interface ActorDots {
  /** Every seq in 1..base has been seen. */
  readonly base: number;
  /** Seen seqs above base + 1, ascending. */
  readonly extra: readonly number[];
}

export type CausalContext = ReadonlyMap<NodeId, ActorDots>;

export const emptyContext: CausalContext = new Map();

export function compareDots(a: Dot, b: Dot): number {
  if (a.actor !== b.actor) return a.actor < b.actor ? -1 : 1;
  return a.seq - b.seq;
}

export function sameDot(a: Dot, b: Dot): boolean {
  return a.actor === b.actor && a.seq === b.seq;
}

export function contextHas(ctx: CausalContext, dot: Dot): boolean {
  const dots = ctx.get(dot.actor);
  if (dots === undefined) return false;
  return dot.seq <= dots.base || binaryIncludes(dots.extra, dot.seq);
}

/** The next fresh dots for `actor`: above everything the context has seen from it. */
export function contextNextSeq(ctx: CausalContext, actor: NodeId): number {
  const dots = ctx.get(actor);
  if (dots === undefined) return 1;
  return Math.max(dots.base, dots.extra[dots.extra.length - 1] ?? 0) + 1;
}

export function contextFromDots(dots: Iterable<Dot>): CausalContext {
  const byActor = new Map<NodeId, number[]>();
  for (const dot of dots) {
    const list = byActor.get(dot.actor);
    if (list === undefined) byActor.set(dot.actor, [dot.seq]);
    else list.push(dot.seq);
  }
  const out = new Map<NodeId, ActorDots>();
  for (const [actor, seqs] of byActor) out.set(actor, compact(0, seqs));
  return out;
}

export function contextMerge(a: CausalContext, b: CausalContext): CausalContext {
  if (a === b || b.size === 0) return a;
  if (a.size === 0) return b;
  const out = new Map(a);
  for (const [actor, db] of b) {
    const da = out.get(actor);
    out.set(
      actor,
      da === undefined ? db : compact(Math.max(da.base, db.base), [...da.extra, ...db.extra]),
    );
  }
  return out;
}

/** The context's one dot, when it holds exactly one (a delta's), else undefined. */
export function singleDot(ctx: CausalContext): Dot | undefined {
  if (ctx.size !== 1) return undefined;
  const [actor, dots] = [...ctx][0] as [NodeId, ActorDots];
  if (dots.base === 1 && dots.extra.length === 0) return { actor, seq: 1 };
  if (dots.base === 0 && dots.extra.length === 1) return { actor, seq: dots.extra[0] as number };
  return undefined;
}

/** The dots of `a` that `b` lacks, or undefined when there are more than `max`. */
export function contextMissing(a: CausalContext, b: CausalContext, max: number): Dot[] | undefined {
  const out: Dot[] = [];
  const add = (actor: NodeId, seq: number, db: ActorDots | undefined): boolean => {
    if (db !== undefined && (seq <= db.base || binaryIncludes(db.extra, seq))) return true;
    out.push({ actor, seq });
    return out.length <= max;
  };
  for (const [actor, da] of a) {
    const db = b.get(actor);
    for (let seq = (db?.base ?? 0) + 1; seq <= da.base; seq++) if (!add(actor, seq, db)) return undefined;
    for (const seq of da.extra) if (!add(actor, seq, db)) return undefined;
  }
  return out;
}

/** Folds seqs into a canonical ActorDots. */
export function compact(base: number, seqs: readonly number[]): ActorDots {
  const sorted = [...new Set(seqs)].filter((s) => s > base).sort((x, y) => x - y);
  let b = base;
  let i = 0;
  while (i < sorted.length && sorted[i] === b + 1) {
    b += 1;
    i += 1;
  }
  return { base: b, extra: sorted.slice(i) };
}

function binaryIncludes(sorted: readonly number[], x: number): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = sorted[mid] as number;
    if (v === x) return true;
    if (v < x) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
