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
 */
import type { NodeId } from '../types.ts';
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
}

export const emptyIdempotency: IdempotencyState = { applied: new Map(), compensations: new Map() };

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

/** Records a fresh application of `key` (the caller checked it is not present). */
export function idempotencyRecord(
  state: IdempotencyState,
  key: string,
  application: Application,
): { state: IdempotencyState; delta: IdempotencyState } {
  const applied = new Map(state.applied);
  applied.set(key, [application]);
  return {
    state: { applied, compensations: state.compensations },
    delta: { applied: new Map([[key, [application]]]), compensations: new Map() },
  };
}

export function idempotencyMerge(a: IdempotencyState, b: IdempotencyState): IdempotencyState {
  if (a === b) return a;
  if (b.applied.size === 0 && b.compensations.size === 0) return a;
  if (a.applied.size === 0 && a.compensations.size === 0) return b;
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
  return { applied, compensations: compensations ?? a.compensations };
}

/** Compensations derived from a table alone (used to re-establish the invariant on decode). */
export function idempotencyClose(state: IdempotencyState): IdempotencyState {
  return idempotencyMerge(state, { applied: new Map(), compensations: losersOf(state.applied) });
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
  return { applied, compensations: state.compensations };
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

function newestMs(apps: readonly Application[]): number {
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
