import type { Dot, VersionVector } from './version-vector.ts';
import { counterOf, coversDot, descends, emptyVector, mergeVectors, withEvent } from './version-vector.ts';
import type { NodeId } from './types.ts';
import { KvError } from './errors.ts';
import type { DocumentState } from './crdt/index.ts';
import { documentRowText, mergeDocuments } from './crdt/index.ts';

/**
 * Sibling sets with dotted version vectors, as in Riak 2.x (Preguiça, Baquero et al.,
 * "Dotted Version Vectors: Efficient Causality Tracking for Distributed Key-Value Stores").
 *
 * A replica stores, per key, a `VersionedRecord`: the causal context (every event it has seen
 * for the key) and the siblings (the versions no other known version supersedes). Each sibling
 * is named by the single event (dot) that wrote it. That is what keeps siblings bounded by the
 * writes that were truly concurrent, where plain vector clocks let them pile up ("sibling
 * explosion", riak_kv#1648).
 */

export interface Sibling {
  /** The event that wrote this version. */
  readonly dot: Dot;
  /**
   * The context its writer had seen (without its own dot). `x` happened before `y` exactly when
   * `y.seen` covers `x.dot`: that is the causality view. Merging only needs the dots.
   */
  readonly seen: VersionVector;
  /** The value bytes; empty for a tombstone. */
  readonly value: Uint8Array;
  readonly contentType: string;
  /** A tombstone: a delete, replicated like a value so it wins over older versions. */
  readonly deleted: boolean;
  /** The coordinator's wall clock at write time (display, tombstone grace). */
  readonly writtenAtMs: number;
}

export interface VersionedRecord {
  /** Every event this replica has seen for the key. */
  readonly context: VersionVector;
  readonly siblings: readonly Sibling[];
  /**
   * A CRDT document (field updates, `PATCH`): merged by its own rules, never a sibling. A key
   * holds either plain versions or a document; only concurrent writes of both kinds on
   * different replicas make a record with both, which reads then show as a conflict.
   */
  readonly doc?: DocumentState;
}

/** Riak's default `max_siblings`; past it a blind write is refused instead of stored. */
export const SIBLINGS_MAX = 100;

export interface NewVersion {
  readonly value: Uint8Array;
  readonly contentType: string;
  readonly deleted: boolean;
  readonly writtenAtMs: number;
}

/**
 * [VV3] Applies a client write at its coordinator (a replica of the key).
 * The write supersedes exactly the siblings its context has seen; every other sibling stays,
 * concurrent with the new one.
 *
 * Dots must never be reused: the coordinator takes its counter from its own record, so it must
 * store the new record durably BEFORE sending it to other replicas. Otherwise a crash could
 * lose a dot that replicas already hold, and the restarted coordinator would issue it again
 * for another value (a silent lost write). Riak avoids this with vnode epochs instead.
 */
export function coordinateWrite(
  local: VersionedRecord | undefined,
  seen: VersionVector,
  actor: NodeId,
  version: NewVersion,
  siblingsMax: number = SIBLINGS_MAX,
): { record: VersionedRecord; sibling: Sibling } {
  const context = local ? local.context : emptyVector();
  const counter = Math.max(counterOf(context, actor), counterOf(seen, actor)) + 1;
  const dot: Dot = { actor, counter };
  const sibling: Sibling = { dot, seen, ...version };
  const kept = (local?.siblings ?? []).filter((s) => !coversDot(seen, s.dot));
  const siblings = [...kept, sibling];
  if (local?.doc) {
    // A document's fields merge without dots, so a tombstone could not supersede it on
    // replicas that have not seen the delete: fields are cleared with `$unset` instead.
    throw new KvError('KV_TYPE_MISMATCH', 'this key holds a document of field updates (CRDT); change it with PATCH ($unset to clear fields)', { holds: 'document' });
  }
  const live = siblings.filter((s) => !s.deleted).length;
  if (live > siblingsMax) {
    throw new KvError(
      'KV_TOO_MANY_SIBLINGS',
      `key has ${live - 1} concurrent versions; resolve them (read, then write with the context) before writing more`,
      { siblings: live - 1, max: siblingsMax },
    );
  }
  return { record: { context: withEvent(mergeVectors(context, seen), dot), siblings }, sibling };
}

/**
 * [VV1] Merges what two replicas hold for one key (DVV sync). A sibling survives when the other
 * side also has it, or when the other side has not seen its dot; everything else was superseded.
 * Commutative, associative and idempotent (property-tested in test/core/siblings.test.ts).
 */
export function syncRecords(a: VersionedRecord | undefined, b: VersionedRecord | undefined): VersionedRecord | undefined {
  // (The same object: idempotence, without the allocations. A quorum read's replies mostly are.)
  if (!a || a === b) return b;
  if (!b) return a;
  // (Without a set of dot ids or a sort when the result is in order already: both allocate,
  // and every write merges on every replica. hasDot is linear anyway.)
  const out: Sibling[] = [];
  for (const s of a.siblings) if (hasDot(b, s.dot) || !coversDot(b.context, s.dot)) out.push(s);
  const fromA = out.length;
  for (const s of b.siblings) {
    // A dot `a` holds as a sibling is kept from `a` (b holds it too), so look only there.
    if (!dotAmong(out, fromA, s.dot) && !coversDot(a.context, s.dot)) out.push(s);
  }
  if (!inDotOrder(out)) out.sort(compareDots);
  const context = mergeVectors(a.context, b.context);
  // The merge is often one side exactly (a replica taking a newer write: `b`; a write it has
  // already: `a`): then that side itself, so callers comparing versions find them identical.
  if (!a.doc && !b.doc) {
    if (context === b.context && sameSiblings(out, b.siblings)) return b;
    if (context === a.context && sameSiblings(out, a.siblings)) return a;
  }
  const doc = a.doc && b.doc ? mergeDocuments(a.doc, b.doc) : (a.doc ?? b.doc);
  return doc ? { context, siblings: out, doc } : { context, siblings: out };
}

/** Happened-before between two versions of a key (DVV: y's writer had seen x's dot). */
export function happenedBefore(x: Sibling, y: Sibling): boolean {
  return coversDot(y.seen, x.dot);
}

/** The vector clock shown to users for one version: what its writer had seen, plus itself. */
export function siblingClock(s: Sibling): VersionVector {
  return withEvent(s.seen, s.dot);
}

/**
 * Siblings a reader sees: everything but tombstones. A tombstone concurrent with a live value
 * stays stored (merging must stay exactly DVV to be commutative and associative) but is not
 * shown: a concurrent write beats a delete, as in an add-wins set.
 */
export function liveSiblings(record: VersionedRecord): readonly Sibling[] {
  return record.siblings.filter((s) => !s.deleted);
}

/** Whether the record holds only tombstones (and no document): the key reads as not found. */
export function isDeleted(record: VersionedRecord): boolean {
  return !record.doc && record.siblings.every((s) => s.deleted);
}

/** Whether two replicas hold the same versions (same context, same sibling dots). */
export function sameVersions(a: VersionedRecord | undefined, b: VersionedRecord | undefined): boolean {
  if (!a || !b || a === b) return a === b;
  if (a.siblings.length !== b.siblings.length) return false;
  if (!descends(a.context, b.context) || !descends(b.context, a.context)) return false;
  if (!a.siblings.every((s) => hasDot(b, s.dot))) return false;
  if (!a.doc || !b.doc) return a.doc === b.doc;
  // Documents compare without their idempotency tables, which replicas prune on their own
  // clocks: the rest (with the table's causal context) shows every difference that matters (CRDT12).
  return a.doc === b.doc || documentRowText(a.doc) === documentRowText(b.doc);
}

function hasDot(r: VersionedRecord, dot: Dot): boolean {
  return dotAmong(r.siblings, r.siblings.length, dot);
}

/** Whether one of the first `n` siblings is named by `dot`. */
function dotAmong(siblings: readonly Sibling[], n: number, dot: Dot): boolean {
  for (let i = 0; i < n; i++) if (siblings[i]!.dot.actor === dot.actor && siblings[i]!.dot.counter === dot.counter) return true;
  return false;
}

/** Whether two sibling lists are the same siblings, in the same order. */
function sameSiblings(x: readonly Sibling[], y: readonly Sibling[]): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function inDotOrder(siblings: readonly Sibling[]): boolean {
  for (let i = 1; i < siblings.length; i++) if (compareDots(siblings[i - 1]!, siblings[i]!) > 0) return false;
  return true;
}

function compareDots(x: Sibling, y: Sibling): number {
  if (x.dot.actor !== y.dot.actor) return x.dot.actor < y.dot.actor ? -1 : 1;
  return x.dot.counter - y.dot.counter;
}
