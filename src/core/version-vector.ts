import type { NodeId } from './types.ts';
import { isNodeId } from './types.ts';

/**
 * Version vectors: actor (node id) → number of events that actor coordinated for one key.
 *
 * Represented as objects whose prototype is one frozen, empty, null-prototype object
 * (`newVector`), so that actor names such as `constructor` can never reach Object.prototype,
 * and so that they serialise to the `{"n1":3}` form of the contract. Not null-prototype objects
 * themselves: V8 keeps those in dictionary mode, where every read is a hash lookup and every
 * vector a hash table, which cost twice as much in merges and decoding (several per write).
 * Treat them as immutable: functions return a new vector, or an argument unchanged.
 */
export type VersionVector = Readonly<Record<NodeId, number>>;

/** The prototype of every vector: nothing to inherit, and nothing can be added to it. */
const VECTOR_PROTO: object = Object.freeze(Object.create(null) as object);

/** An empty vector to fill in (only while it is being built: vectors are immutable after). */
export function newVector(): Record<NodeId, number> {
  return Object.create(VECTOR_PROTO) as Record<NodeId, number>;
}

/** A dot names one event: the `counter`-th write coordinated by `actor` (Preguiça et al., DVV). */
export interface Dot {
  readonly actor: NodeId;
  readonly counter: number;
}

export type Ordering = 'equal' | 'before' | 'after' | 'concurrent';

export function emptyVector(): VersionVector {
  return newVector();
}

export function counterOf(vv: VersionVector, actor: NodeId): number {
  return Object.hasOwn(vv, actor) ? (vv[actor] ?? 0) : 0;
}

/**
 * Pointwise maximum: the least vector that has seen everything either has seen. When one side
 * has seen all the other has (a replica taking a newer write: nearly always), that side itself:
 * vectors are immutable, and a new vector per merge was a good part of a write's garbage.
 */
export function mergeVectors(a: VersionVector, b: VersionVector): VersionVector {
  if (descends(a, b)) return a;
  if (descends(b, a)) return b;
  const out = newVector();
  // (for-in, not Object.keys: vectors inherit nothing, and V8 walks their keys without an array.)
  for (const k in a) out[k] = a[k] ?? 0;
  for (const k in b) {
    const v = b[k] ?? 0;
    if (!(k in out) || (out[k] ?? 0) < v) out[k] = v;
  }
  return out;
}

/** The vector with one actor's entry set (never lowered): `vv` itself when it has seen `dot`. */
export function withEvent(vv: VersionVector, dot: Dot): VersionVector {
  if (counterOf(vv, dot.actor) >= dot.counter) return vv;
  const out = newVector();
  for (const k in vv) out[k] = vv[k]!;
  out[dot.actor] = dot.counter;
  return out;
}

/** Whether `vv` has seen the event `dot`. */
export function coversDot(vv: VersionVector, dot: Dot): boolean {
  return counterOf(vv, dot.actor) >= dot.counter;
}

/** a ≥ b: a has seen every event b has. */
export function descends(a: VersionVector, b: VersionVector): boolean {
  for (const k in b) {
    if (counterOf(a, k) < (b[k] ?? 0)) return false;
  }
  return true;
}

export function compareVectors(a: VersionVector, b: VersionVector): Ordering {
  const ab = descends(a, b);
  const ba = descends(b, a);
  if (ab && ba) return 'equal';
  if (ab) return 'after';
  if (ba) return 'before';
  return 'concurrent';
}

/** Largest counter any actor may have; keeps vectors exact in float64 and msgpack. */
export const COUNTER_MAX = Number.MAX_SAFE_INTEGER;
/** Actors per vector; a key is written by its replicas (and fallbacks), so this is generous. */
export const VECTOR_ACTORS_MAX = 256;

/**
 * Parses a vector from untrusted input (wire, context, JSON). Returns undefined when the
 * shape is wrong, so each caller can raise the error that fits its layer.
 */
export function parseVector(value: unknown): VersionVector | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const out = newVector();
  let n = 0;
  const fields = value as Record<string, unknown>;
  // (Object.keys, not Object.entries: one array per vector instead of one more per actor.)
  for (const k of Object.keys(fields)) {
    const v = fields[k];
    if (++n > VECTOR_ACTORS_MAX) return undefined;
    if (!isNodeId(k)) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > COUNTER_MAX) return undefined;
    if (v > 0) out[k] = v;
  }
  return out;
}

/** A plain, key-sorted copy for JSON output and canonical hashing. */
export function vectorToJSON(vv: VersionVector): Record<NodeId, number> {
  const out: Record<NodeId, number> = {};
  const actors = sortedActors(vv);
  // Plain assignment is safe: actors are node ids, and isNodeId refuses `__proto__`.
  for (let i = 0; i < actors.length; i++) out[actors[i]!] = vv[actors[i]!]!;
  return out;
}

/**
 * The vector's actors in `Array.prototype.sort`'s default order (UTF-16 code units), sorted by
 * insertion: a vector names a few actors, and the built-in sort allocates work arrays on every
 * call (contexts are encoded, and digests computed, several times per request).
 */
export function sortedActors(vv: VersionVector): string[] {
  const items = Object.keys(vv);
  for (let i = 1; i < items.length; i++) {
    const item = items[i]!;
    let j = i - 1;
    for (; j >= 0 && items[j]! > item; j--) items[j + 1] = items[j]!;
    items[j + 1] = item;
  }
  return items;
}
