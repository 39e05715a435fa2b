/**
 * Add-wins observed-remove set, the optimized form without per-element tombstones
 * (Bieniusa, Zawirski, Preguiça, Shapiro, Baquero, Balegas, Duarte, "An optimized
 * conflict-free replicated set", arXiv:1210.3368, 2012; Shapiro et al. 2011 §3.3.5).
 *
 * Each element maps to the dots of the adds that are still live. A remove deletes the
 * element's observed dots; the document's causal context still holds them, which is how a
 * merge tells "removed here" from "not seen here yet". An add concurrent with a remove
 * carries a dot the remove did not observe, so the add wins. An add replaces the element's
 * observed dots with one fresh dot, so an element has one dot per concurrent add, not per add.
 *
 * Elements are JSON scalars identified by canonical JSON text (json-value.ts).
 */
import type { NodeId } from '../types.ts';
import {
  compareDots,
  contextFromDots,
  contextHas,
  contextMerge,
  contextNextSeq,
  sameDot,
  type CausalContext,
  type Dot,
} from './causal-context.ts';

/** Element (canonical JSON text) → live dots, ascending. */
export type OrSet = ReadonlyMap<string, readonly Dot[]>;

export const emptySet: OrSet = new Map();

export interface SetChange {
  readonly set: OrSet;
  readonly context: CausalContext;
  /** Minimal state with the effect of the op: the touched entries and the dots it saw or made. */
  readonly delta: { readonly set: OrSet; readonly context: CausalContext };
}

export function setAdd(
  set: OrSet,
  context: CausalContext,
  actor: NodeId,
  elements: readonly string[],
): SetChange {
  const out = new Map(set);
  const deltaSet = new Map<string, readonly Dot[]>();
  const seen: Dot[] = [];
  let seq = contextNextSeq(context, actor);
  for (const element of elements) {
    const dot: Dot = { actor, seq };
    seq += 1;
    seen.push(dot, ...(set.get(element) ?? []));
    out.set(element, [dot]);
    deltaSet.set(element, [dot]);
  }
  const deltaContext = contextFromDots(seen);
  return {
    set: out,
    context: contextMerge(context, deltaContext),
    delta: { set: deltaSet, context: deltaContext },
  };
}

export function setRemove(
  set: OrSet,
  context: CausalContext,
  elements: readonly string[],
): SetChange {
  const out = new Map(set);
  const seen: Dot[] = [];
  for (const element of elements) {
    seen.push(...(set.get(element) ?? []));
    out.delete(element);
  }
  // The removed dots are already in `context`; the delta carries them so other replicas drop them too.
  return { set: out, context, delta: { set: emptySet, context: contextFromDots(seen) } };
}

/** Join of two sets given each side's causal context (Bieniusa et al. 2012, Alg. 2 merge). */
export function setMerge(a: OrSet, ca: CausalContext, b: OrSet, cb: CausalContext): OrSet {
  if (a === b) return a;
  if (b.size === 0 && cb.size === 0) return a;
  if (a.size === 0 && ca.size === 0) return b;
  const out = new Map<string, readonly Dot[]>();
  const elements = new Set([...a.keys(), ...b.keys()]);
  for (const element of elements) {
    const da = a.get(element) ?? [];
    const db = b.get(element) ?? [];
    const keep: Dot[] = [];
    for (const dot of da) {
      if (db.some((d) => sameDot(d, dot)) || !contextHas(cb, dot)) keep.push(dot);
    }
    for (const dot of db) {
      if (!da.some((d) => sameDot(d, dot)) && !contextHas(ca, dot)) keep.push(dot);
    }
    if (keep.length > 0) out.set(element, keep.sort(compareDots));
  }
  return out;
}

/** Elements in canonical order (code units of their JSON text), the same on every replica. */
export function setElements(set: OrSet): string[] {
  return [...set.keys()].sort(compareStrings);
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
