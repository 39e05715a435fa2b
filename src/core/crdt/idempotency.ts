/**
 * Exactly-once patches with idempotency keys, across replicas.
 *
 * The document remembers which keys were applied: key → applications, one per
 * (actor, atMs). A retry whose key is already in the coordinator's state is a duplicate and
 * changes nothing. The hard case is a retry coordinated by a replica that had not yet seen
 * the first attempt (the first coordinator crashed after applying it): both apply it, each
 * under its own actor. When the two states meet, the table holds two applications of one
 * key; the smallest (actor, atMs) wins and every other one becomes a *compensation*: its
 * counter increments are subtracted in the view.
 *
 * Why compensations and not undoing the increment: a PN-counter pair may only be written by
 * its own actor, and the loser may be down; subtracting in the view needs no coordination.
 * Compensations are a grow-only set derived from the (grow-only) table: the set of losers
 * only grows as applications are added (a loser stays a loser: something smaller exists),
 * so merge = union of tables ∪ union of compensations ∪ losers of the union, which is a
 * join (commutative, associative, idempotent). Every state keeps the invariant
 * "compensations ⊇ losers of its own table", so a merge only has to look at keys present
 * on both sides. A compensation is in a state only together with the loser's counter pair
 * that contains the increments it cancels (both came from the same delta), so the view
 * never subtracts something it did not count.
 *
 * Register and set effects need no compensation: a second `$set` of the same value leaves
 * the same value (with the later timestamp), a second `$add` adds an element that is
 * already there (with one more dot) and a second `$remove` removes nothing more.
 *
 * Expiry (`idempotencyPrune`): a key is forgotten `retentionMs` after its newest
 * application, or earlier when the table holds more than `entriesMax` keys (oldest first).
 * A retry after that is applied as a new patch and counts again; if another replica still
 * remembers the first application when the states meet, the two are reconciled to one.
 * Compensations are never pruned: they are as permanent as the increments they cancel, and
 * there is one only per retry that two replicas applied independently (rare).
 *
 * Storage (issue #5). The table is large (10,000 keys by default, ~600 KB) and a hot counter
 * is updated hundreds of times a second, so it must not be decoded, copied, encoded and
 * rewritten with its document on every update. A node therefore stores it apart, one row per
 * key (src/node/document-tables.ts): an update reads and writes the document's row and the rows
 * of the keys it carries (one for a keyed patch or a delta), and only transfers of a replica's
 * whole state (read repair, anti-entropy, handoff, hints) read the whole table, so
 * compensations are still computed wherever applications meet. Reads answer from rows alone
 * (`KvNode.readView`; the view needs only the row's compensations), except when no one reply
 * holds the merged row: two replicas may then hold applications of one key that only a meeting
 * of their tables compensates, so the read also takes the entries of the replies' novel dots
 * (src/node/document-reads.ts). What makes this sound is
 * `seen`, the table's causal context: every application takes a dot of its actor, the dot is
 * part of the document's row, and it travels only together with the application's entry
 * (deltas carry both; full states carry all of both; a replayed retry, `retryState`, carries
 * an entry and no dots). So a replica's row names every application it has merged, two
 * replicas whose rows are equal have the same tables (up to pruning), and comparing or
 * digesting rows alone — read repair, Merkle trees — misses no table difference that can
 * change a count (CRDT12), while differences that only pruning made (each replica prunes on
 * its own clock) no longer look like divergence. A counter pair may arrive before the entries
 * of the increments it sums (a later delta of the same actor): the receiver's `seen` then lacks
 * their dots, so its row differs from theirs and repair brings them.
 * Rejected alternative: a cache of decoded documents in the node. It saves decoding, but an
 * update would still copy and encode the whole table, write it to disk and digest it, so the
 * cost would still grow with the table.
 */
import type { NodeId } from '../types.ts';
import {
  contextFromDots,
  contextMerge,
  contextNextSeq,
  emptyContext,
  type CausalContext,
} from './causal-context.ts';
import { idempotencyKeyCharsMax } from './limits.ts';

export interface Application {
  readonly actor: NodeId;
  /** The coordinator's `nowMs` when it applied the patch. */
  readonly atMs: number;
  /** Fingerprint of the patch (patch.ts), to reject a key reused for a different patch. */
  readonly fingerprint: string;
  /** Net counter increment per field (non-zero only): what a compensation cancels. */
  readonly counters: ReadonlyMap<string, number>;
}

export interface Compensation {
  readonly key: string;
  readonly actor: NodeId;
  readonly atMs: number;
  readonly counters: ReadonlyMap<string, number>;
}

export interface IdempotencyState {
  /** Key → applications, ascending by (actor, atMs); never empty. */
  readonly applied: ReadonlyMap<string, readonly Application[]>;
  /** compensationId(key, actor, atMs) → compensation. */
  readonly compensations: ReadonlyMap<string, Compensation>;
  /**
   * The table's causal context: one dot per application this state has merged (with its
   * entry), kept after the entry is pruned. Travels only together with the entries it names.
   */
  readonly seen: CausalContext;
}

export const emptyIdempotency: IdempotencyState = {
  applied: new Map(),
  compensations: new Map(),
  seen: emptyContext,
};

export function isEmptyIdempotency(state: IdempotencyState): boolean {
  return state.applied.size === 0 && state.compensations.size === 0 && state.seen.size === 0;
}

export function compensationId(key: string, actor: NodeId, atMs: number): string {
  return JSON.stringify([key, actor, atMs]);
}

export function compareApplications(a: Application, b: Application): number {
  if (a.actor !== b.actor) return a.actor < b.actor ? -1 : 1;
  if (a.atMs !== b.atMs) return a.atMs - b.atMs;
  // Same (actor, atMs) twice means an actor lost state; order by content so merge stays deterministic.
  const ka = applicationContent(a);
  const kb = applicationContent(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * Records a fresh application of `key` (the caller checked it is not present), under a fresh
 * dot of its actor (the state must hold every earlier application of that actor).
 */
export function idempotencyRecord(
  state: IdempotencyState,
  key: string,
  application: Application,
): { state: IdempotencyState; delta: IdempotencyState } {
  const applied = new Map(state.applied);
  applied.set(key, [application]);
  const dot = contextFromDots([
    { actor: application.actor, seq: contextNextSeq(state.seen, application.actor) },
  ]);
  return {
    state: { applied, compensations: state.compensations, seen: contextMerge(state.seen, dot) },
    delta: { applied: new Map([[key, [application]]]), compensations: new Map(), seen: dot },
  };
}

export function idempotencyMerge(a: IdempotencyState, b: IdempotencyState): IdempotencyState {
  if (a === b || isEmptyIdempotency(b)) return a;
  if (isEmptyIdempotency(a)) return b;
  const applied = new Map(a.applied);
  let compensations: Map<string, Compensation> | undefined;
  const addCompensation = (c: Compensation): void => {
    const id = compensationId(c.key, c.actor, c.atMs);
    const have = (compensations ?? a.compensations).get(id);
    if (have !== undefined && countersText(have.counters) >= countersText(c.counters)) return;
    compensations ??= new Map(a.compensations);
    compensations.set(id, c);
  };
  for (const c of b.compensations.values()) addCompensation(c);
  for (const [key, appsB] of b.applied) {
    const appsA = applied.get(key);
    if (appsA === undefined) {
      applied.set(key, appsB);
      continue;
    }
    // Replicas mostly hold the same applications: nothing to union, no new loser.
    if (sameApplications(appsA, appsB)) continue;
    const merged = unionApplications(appsA, appsB);
    applied.set(key, merged);
    const [winner, ...losers] = merged;
    if (winner === undefined) continue;
    for (const loser of losers) {
      if (loser.counters.size > 0) {
        addCompensation({ key, actor: loser.actor, atMs: loser.atMs, counters: loser.counters });
      }
    }
  }
  return {
    applied,
    compensations: compensations ?? a.compensations,
    seen: contextMerge(a.seen, b.seen),
  };
}

/** Compensations derived from a table alone (used to re-establish the invariant on decode). */
export function idempotencyClose(state: IdempotencyState): IdempotencyState {
  return idempotencyMerge(state, {
    applied: new Map(),
    compensations: losersOf(state.applied),
    seen: emptyContext,
  });
}

/** Forgets keys whose newest application is older than `retentionMs`, then all but the newest `entriesMax`. */
export function idempotencyPrune(
  state: IdempotencyState,
  nowMs: number,
  retentionMs: number,
  entriesMax: number,
): IdempotencyState {
  const cutoffMs = nowMs - retentionMs;
  const kept: [string, number][] = [];
  for (const [key, apps] of state.applied) {
    const newest = newestMs(apps);
    if (newest >= cutoffMs) kept.push([key, newest]);
  }
  if (kept.length === state.applied.size && kept.length <= entriesMax) return state;
  if (kept.length > entriesMax) {
    // Newest first, ties by key, so every replica forgets the same keys. One pass per write
    // is the common case (one key over the bound), so the sort is on precomputed numbers.
    kept.sort(([ka, a], [kb, b]) => b - a || (ka < kb ? -1 : ka > kb ? 1 : 0));
    kept.length = entriesMax;
  }
  const applied = new Map<string, readonly Application[]>();
  for (const [key] of kept) applied.set(key, state.applied.get(key) as readonly Application[]);
  return { applied, compensations: state.compensations, seen: state.seen };
}

/** Field → total to subtract from the counter's value. */
export function compensationTotals(state: IdempotencyState): Map<string, bigint> {
  const totals = new Map<string, bigint>();
  for (const c of state.compensations.values()) {
    for (const [field, by] of c.counters) totals.set(field, (totals.get(field) ?? 0n) + BigInt(by));
  }
  return totals;
}

function losersOf(applied: ReadonlyMap<string, readonly Application[]>): Map<string, Compensation> {
  const out = new Map<string, Compensation>();
  for (const [key, apps] of applied) {
    for (const loser of apps.slice(1)) {
      if (loser.counters.size > 0) {
        out.set(compensationId(key, loser.actor, loser.atMs), {
          key,
          actor: loser.actor,
          atMs: loser.atMs,
          counters: loser.counters,
        });
      }
    }
  }
  return out;
}

function sameApplications(a: readonly Application[], b: readonly Application[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as Application;
    const y = b[i] as Application;
    if (x.actor !== y.actor || x.atMs !== y.atMs || x.fingerprint !== y.fingerprint) return false;
    if (x.counters.size !== y.counters.size) return false;
    for (const [field, by] of x.counters) if (y.counters.get(field) !== by) return false;
  }
  return true;
}

function unionApplications(
  a: readonly Application[],
  b: readonly Application[],
): readonly Application[] {
  const all = [...a, ...b].sort(compareApplications);
  const out: Application[] = [];
  for (const app of all) {
    const last = out[out.length - 1];
    if (last !== undefined && last.actor === app.actor && last.atMs === app.atMs) {
      // Same identity: keep the greater content (the sort put it last).
      out[out.length - 1] = app;
    } else {
      out.push(app);
    }
  }
  return out;
}

/** When a key was last applied (its expiry counts from there). */
export function newestMs(apps: readonly Application[]): number {
  let newest = -Infinity;
  for (const app of apps) newest = Math.max(newest, app.atMs);
  return newest;
}

function applicationContent(app: Application): string {
  return `${app.fingerprint}\u0000${countersText(app.counters)}`;
}

export function countersText(counters: ReadonlyMap<string, number>): string {
  return JSON.stringify([...counters].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** 1..idempotencyKeyCharsMax visible ASCII characters, as an HTTP header token allows. */
export function isIdempotencyKey(key: unknown): key is string {
  return (
    typeof key === 'string' &&
    key.length > 0 &&
    key.length <= idempotencyKeyCharsMax &&
    /^[\x21-\x7e]+$/.test(key)
  );
}
