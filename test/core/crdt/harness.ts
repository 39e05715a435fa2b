/**
 * A tiny replicated world for the CRDT property tests: replicas apply patches and exchange
 * full states or deltas in whatever order fast-check chooses, while a reference model records
 * each event's causal past (the set of events the replica had seen when it issued it).
 */
import fc from 'fast-check';
import {
  applyPatch,
  emptyDocument,
  mergeDocuments,
  retryState,
  type DocumentState,
} from '../../../src/core/crdt/document.ts';
import { singleDot } from '../../../src/core/crdt/causal-context.ts';
import { encodeDocument } from '../../../src/core/crdt/codec.ts';
import { parsePatch } from '../../../src/core/crdt/patch.ts';
import { isKvError } from '../../../src/core/errors.ts';

export const ACTORS = ['n1', 'n2', 'n3'] as const;
export const BASE_MS = 1_700_000_000_000;

/** Field names by type; the odd ones prove untrusted names are ordinary. */
export const COUNTER_FIELDS = ['likes', '__proto__'] as const;
export const SET_FIELDS = ['tags', 'constructor'] as const;
export const REGISTER_FIELDS = ['title', 'prototype'] as const;
const ELEMENTS = ['a', 'b', 'c', 1, true, null] as const;
const VALUES = ['x', 'y', 7, 'PROTO', [1, 2], null] as const;

export type Body = Record<string, unknown>;

/** Builds an object with own keys only (no `__proto__` setter). */
export function own(entries: readonly (readonly [string, unknown])[]): Body {
  const out: Body = {};
  for (const [k, v] of entries)
    Object.defineProperty(out, k, {
      value: v,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return out;
}

/** 'PROTO' stands for an object whose own key is `__proto__`. */
const registerValue = fc
  .constantFrom(...VALUES)
  .map((v) => (v === 'PROTO' ? own([['__proto__', 1]]) : v));

export const fieldUpdate: fc.Arbitrary<readonly [string, unknown]> = fc.oneof(
  fc.tuple(
    fc.constantFrom(...COUNTER_FIELDS),
    fc.integer({ min: -5, max: 9 }).map((n) => own([['$inc', n]])),
  ),
  fc.tuple(
    fc.constantFrom(...SET_FIELDS),
    fc
      .tuple(
        fc.constantFrom('$add', '$remove'),
        fc.oneof(fc.constantFrom(...ELEMENTS), fc.subarray([...ELEMENTS])),
      )
      .map(([op, v]) => own([[op, v]])),
  ),
  fc.tuple(
    fc.constantFrom(...REGISTER_FIELDS),
    fc.oneof(
      registerValue.map((v) => own([['$set', v]])),
      fc.constant(own([['$unset', true]])),
      fc.constantFrom('plain', 42),
    ),
  ),
);

export const patchBody: fc.Arbitrary<Body> = fc
  .uniqueArray(fieldUpdate, { minLength: 1, maxLength: 3, selector: ([name]) => name })
  .map((entries) => own(entries));

export type Command =
  | { readonly t: 'op'; readonly replica: number; readonly body: Body; readonly key?: string }
  | { readonly t: 'sync'; readonly from: number; readonly to: number }
  | { readonly t: 'deliver'; readonly delta: number; readonly to: number }
  /** A replayed retry of `key` at `from`: what the node replicates then (`retryState`). */
  | { readonly t: 'replay'; readonly from: number; readonly to: number; readonly key: string };

const replica = fc.integer({ min: 0, max: ACTORS.length - 1 });

export function commands(options: {
  sync: boolean;
  deliver: boolean;
  keys?: readonly string[];
  /** Replayed retries (default: with `sync`, when there are keys). */
  replay?: boolean;
}): fc.Arbitrary<Command[]> {
  const kinds: fc.Arbitrary<Command>[] = [
    fc.record({ t: fc.constant('op' as const), replica, body: patchBody }),
  ];
  if (options.keys !== undefined) {
    kinds.push(
      fc.record({
        t: fc.constant('op' as const),
        replica,
        body: patchBody,
        key: fc.constantFrom(...options.keys),
      }),
    );
  }
  if (options.sync)
    kinds.push(fc.record({ t: fc.constant('sync' as const), from: replica, to: replica }));
  if (options.keys !== undefined && (options.replay ?? options.sync)) {
    kinds.push(
      fc.record({
        t: fc.constant('replay' as const),
        from: replica,
        to: replica,
        key: fc.constantFrom(...options.keys),
      }),
    );
  }
  if (options.deliver)
    kinds.push(fc.record({ t: fc.constant('deliver' as const), delta: fc.nat(), to: replica }));
  return fc.array(fc.oneof(...kinds), { maxLength: 40 });
}

export interface Event {
  readonly id: number;
  readonly replica: number;
  readonly body: Body;
  readonly key: string | undefined;
  /** Events this replica had seen (transitively, via full states) when it issued this one. */
  readonly past: ReadonlySet<number>;
}

export interface World {
  readonly states: DocumentState[];
  readonly deltas: DocumentState[];
  readonly events: Event[];
  readonly seen: Set<number>[];
  readonly duplicates: number;
  /** Each keyed application's table dot (`actor:seq`) → its key, actor and time. */
  readonly applications: ReadonlyMap<string, { key: string; actor: string; atMs: number }>;
}

/**
 * Runs commands. Every op gets its own `nowMs` (with a per-replica clock skew) so timestamps
 * differ; keyed ops reuse one body per key (a retry sends the same request again).
 */
export function run(cmds: readonly Command[], skewMs: readonly number[] = [0, 0, 0]): World {
  const states = ACTORS.map(() => emptyDocument());
  const seen = ACTORS.map(() => new Set<number>());
  const deltas: DocumentState[] = [];
  const events: Event[] = [];
  const bodyOfKey = new Map<string, Body>();
  let duplicates = 0;
  const applications = new Map<string, { key: string; actor: string; atMs: number }>();
  cmds.forEach((cmd, step) => {
    if (cmd.t === 'op') {
      const body = cmd.key === undefined ? cmd.body : (bodyOfKey.get(cmd.key) ?? cmd.body);
      if (cmd.key !== undefined) bodyOfKey.set(cmd.key, body);
      const ctx = {
        actor: ACTORS[cmd.replica] as string,
        nowMs: BASE_MS + step * 10 + (skewMs[cmd.replica] ?? 0),
        ...(cmd.key === undefined ? {} : { idempotencyKey: cmd.key }),
      };
      try {
        const result = applyPatch(states[cmd.replica] as DocumentState, parsePatch(body), ctx);
        if (result.duplicate) {
          duplicates += 1;
          return;
        }
        states[cmd.replica] = result.state;
        deltas.push(result.delta);
        // A keyed update's delta carries exactly its own table dot.
        const dot = cmd.key === undefined ? undefined : singleDot(result.delta.idempotency.seen);
        if (dot)
          applications.set(`${dot.actor}:${dot.seq}`, {
            key: cmd.key!,
            actor: dot.actor,
            atMs: ctx.nowMs,
          });
        const mine = seen[cmd.replica] as Set<number>;
        events.push({
          id: events.length,
          replica: cmd.replica,
          body,
          key: cmd.key,
          past: new Set(mine),
        });
        mine.add(events.length - 1);
      } catch (e) {
        // Type mismatches cannot happen (one type per name); anything else is a bug.
        if (!isKvError(e)) throw e;
        throw new Error(`unexpected ${e.code}: ${e.message}`);
      }
    } else if (cmd.t === 'sync') {
      states[cmd.to] = mergeDocuments(
        states[cmd.to] as DocumentState,
        states[cmd.from] as DocumentState,
      );
      for (const id of seen[cmd.from] as Set<number>) (seen[cmd.to] as Set<number>).add(id);
    } else if (cmd.t === 'replay') {
      const from = states[cmd.from] as DocumentState;
      // Only a replica that has the key answers a retry as a replay.
      if (!from.idempotency.applied.has(cmd.key)) return;
      states[cmd.to] = mergeDocuments(states[cmd.to] as DocumentState, retryState(from, cmd.key));
      // Everything but the table travels, so the receiver has seen what `from` had.
      for (const id of seen[cmd.from] as Set<number>) (seen[cmd.to] as Set<number>).add(id);
    } else if (deltas.length > 0) {
      const delta = deltas[cmd.delta % deltas.length] as DocumentState;
      states[cmd.to] = mergeDocuments(states[cmd.to] as DocumentState, delta);
    }
  });
  return { states, deltas, events, seen, duplicates, applications };
}

export function mergeAll(states: readonly DocumentState[]): DocumentState {
  return states.reduce((acc, s) => mergeDocuments(acc, s), emptyDocument());
}

/** Canonical text of a state: equal states, equal text. */
export function canon(state: DocumentState): string {
  return JSON.stringify(encodeDocument(state));
}

/** The operator object of `field` in a body, or the plain value. */
export function updateOf(body: Body, field: string): unknown {
  return Object.getOwnPropertyDescriptor(body, field)?.value;
}

export function hasField(body: Body, field: string): boolean {
  return Object.prototype.hasOwnProperty.call(body, field);
}
