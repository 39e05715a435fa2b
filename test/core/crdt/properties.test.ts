import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyPatch,
  documentRow,
  documentView,
  emptyDocument,
  mergeDocuments,
  retryState,
  type DocumentState,
} from '../../../src/core/crdt/document.ts';
import {
  decodeDocument,
  decodeTable,
  documentRowText,
  encodeApplications,
  encodeDocument,
} from '../../../src/core/crdt/codec.ts';
import { contextHas } from '../../../src/core/crdt/causal-context.ts';
import { isKvError } from '../../../src/core/errors.ts';
import { parsePatch } from '../../../src/core/crdt/patch.ts';
import {
  ACTORS,
  BASE_MS,
  COUNTER_FIELDS,
  REGISTER_FIELDS,
  SET_FIELDS,
  canon,
  commands,
  hasField,
  mergeAll,
  patchBody,
  run,
  updateOf,
  type Event,
  type World,
} from './harness.ts';

const runs = { numRuns: 300 };
const skew = fc.array(fc.integer({ min: -5_000, max: 5_000 }), { minLength: 3, maxLength: 3 });

/** States worth merging: replicas' states and deltas of one shared history, so dots and keys overlap. */
const reachable = fc
  .tuple(commands({ sync: true, deliver: true, keys: ['k1', 'k2', 'k3'] }), skew)
  .map(([cmds, sk]) => run(cmds, sk))
  .chain((world) => {
    const pool = [...world.states, ...world.deltas];
    return fc.tuple(fc.constantFrom(...pool), fc.constantFrom(...pool), fc.constantFrom(...pool));
  });

function view(state: DocumentState): unknown {
  return JSON.parse(JSON.stringify(documentView(state)));
}

describe('CRDT1 merge is a join', () => {
  it('[CRDT1] merge is commutative, associative and idempotent on whole documents', () => {
    fc.assert(
      fc.property(reachable, ([a, b, c]) => {
        expect(canon(mergeDocuments(a, b))).toBe(canon(mergeDocuments(b, a)));
        expect(canon(mergeDocuments(mergeDocuments(a, b), c))).toBe(
          canon(mergeDocuments(a, mergeDocuments(b, c))),
        );
        expect(canon(mergeDocuments(a, a))).toBe(canon(a));
        // Absorption: merging in something already merged changes nothing.
        const ab = mergeDocuments(a, b);
        expect(canon(mergeDocuments(ab, b))).toBe(canon(ab));
      }),
      runs,
    );
  });

  it('[CRDT1] replicas that received everything converge, whatever the exchange order', () => {
    fc.assert(
      fc.property(
        commands({ sync: true, deliver: true, keys: ['k1', 'k2', 'k3'] }),
        skew,
        fc.nat(),
        (cmds, sk, rot) => {
          const world = run(cmds, sk);
          const forward = mergeAll(world.states);
          const n = world.states.length;
          const rotated = world.states
            .map((_, i) => world.states[(i + rot) % n] as DocumentState)
            .reverse();
          expect(canon(mergeAll(rotated))).toBe(canon(forward));
        },
      ),
      runs,
    );
  });
});

describe('CRDT2 deltas', () => {
  it('[CRDT2] merge(s, delta) is the patched state, and delta ≡ full state for any replica that has s', () => {
    fc.assert(
      fc.property(
        reachable,
        patchBody,
        fc.constantFrom(...ACTORS),
        fc.option(fc.constantFrom('k1', 'k9')),
        ([s, x], body, actor, key) => {
          // Apply on a state that contains the actor's own history, as the node must.
          const base = mergeDocuments(s, x);
          const ctx = {
            actor,
            nowMs: BASE_MS + 1_000_000,
            ...(key === null ? {} : { idempotencyKey: key }),
          };
          let result;
          try {
            result = applyPatch(base, parsePatch(body), ctx);
          } catch {
            return; // a body reused for a key with a different patch; covered elsewhere
          }
          expect(canon(mergeDocuments(base, result.delta))).toBe(canon(result.state));
          for (const other of [s, x]) {
            const replica = mergeDocuments(other, base);
            expect(canon(mergeDocuments(replica, result.delta))).toBe(
              canon(mergeDocuments(replica, result.state)),
            );
          }
        },
      ),
      runs,
    );
  });

  it('[CRDT2] spreading only deltas, in any order and duplicated, reaches the join of all states', () => {
    fc.assert(
      fc.property(
        commands({ sync: false, deliver: true, keys: ['k1', 'k2'] }),
        skew,
        (cmds, sk) => {
          const world = run(cmds, sk);
          const joined = mergeAll(world.states);
          expect(canon(mergeAll(world.deltas))).toBe(canon(joined));
          // Each replica, once it has every delta, equals the join.
          for (const state of world.states)
            expect(canon(mergeAll([state, ...world.deltas]))).toBe(canon(joined));
          // Delta-only and state exchange count the same.
          expect(counterSums(world)).toEqual(expectedCounters(world.events));
        },
      ),
      runs,
    );
  });
});

function expectedCounters(events: readonly Event[]): Record<string, number> {
  const out: Record<string, number> = Object.create(null) as Record<string, number>;
  const countedKeys = new Set<string>();
  for (const event of events) {
    if (event.key !== undefined) {
      if (countedKeys.has(event.key)) continue;
      countedKeys.add(event.key);
    }
    for (const field of COUNTER_FIELDS) {
      if (!hasField(event.body, field)) continue;
      const by = (updateOf(event.body, field) as { $inc: number }).$inc;
      out[field] = (out[field] ?? 0) + by;
    }
  }
  return { ...out };
}

function counterSums(world: World): Record<string, number> {
  const v = documentView(mergeAll(world.states));
  const out: Record<string, number> = {};
  for (const field of COUNTER_FIELDS) {
    const d = Object.getOwnPropertyDescriptor(v, field);
    if (d !== undefined) Object.defineProperty(out, field, { ...d });
  }
  return out;
}

describe('CRDT3–5 the merged view equals the ops applied in a causal order', () => {
  it('[CRDT3][CRDT4][CRDT5] counters sum, registers respect causality, sets are add-wins', () => {
    fc.assert(
      fc.property(commands({ sync: true, deliver: false }), skew, (cmds, sk) => {
        const world = run(cmds, sk);
        const merged = documentView(mergeAll(world.states));
        // Every replica sees the same view once it has everyone's state.
        for (const s of world.states)
          expect(view(mergeAll([s, ...world.states]))).toEqual(JSON.parse(JSON.stringify(merged)));

        expect(counterSums(world)).toEqual(expectedCounters(world.events));

        for (const field of SET_FIELDS) {
          const touched = world.events.some((e) => hasField(e.body, field));
          const got = Object.getOwnPropertyDescriptor(merged, field)?.value as
            unknown[] | undefined;
          if (!touched) {
            expect(got).toBeUndefined();
            continue;
          }
          expect(new Set((got ?? []).map((e) => JSON.stringify(e)))).toEqual(
            addWins(world.events, field),
          );
        }

        for (const field of REGISTER_FIELDS) {
          const writes = world.events.filter((e) => hasField(e.body, field));
          const got = Object.getOwnPropertyDescriptor(merged, field);
          if (writes.length === 0) {
            expect(got).toBeUndefined();
            continue;
          }
          // The winner is a write no other write had seen (causality), and every replica agrees.
          const maximal = writes.filter((w) => !writes.some((o) => o.past.has(w.id)));
          const candidates = maximal.map((w) => registerOutcome(updateOf(w.body, field)));
          const outcome = got === undefined ? undefined : JSON.stringify(got.value);
          expect(candidates).toContain(outcome);
        }
      }),
      { numRuns: 500 },
    );
  });
});

/** Reference add-wins set: e is in iff some add of e is in the causal past of no remove of e. */
function addWins(events: readonly Event[], field: string): Set<string> {
  const ops = events
    .filter((e) => hasField(e.body, field))
    .map((e) => {
      const update = updateOf(e.body, field) as Record<string, unknown>;
      const [op] = Object.keys(update);
      const arg = update[op as string];
      return {
        event: e,
        op,
        elements: (Array.isArray(arg) ? arg : [arg]).map((x) => JSON.stringify(x)),
      };
    });
  const out = new Set<string>();
  for (const add of ops.filter((o) => o.op === '$add')) {
    for (const element of add.elements) {
      const removed = ops.some(
        (r) => r.op === '$remove' && r.elements.includes(element) && r.event.past.has(add.event.id),
      );
      if (!removed) out.add(element);
    }
  }
  return out;
}

function registerOutcome(update: unknown): string | undefined {
  if (typeof update === 'object' && update !== null && !Array.isArray(update)) {
    const keys = Object.keys(update);
    if (keys[0] === '$unset') return undefined;
    if (keys[0] === '$set') return JSON.stringify((update as Record<string, unknown>).$set);
  }
  return JSON.stringify(update);
}

describe('CRDT7 exactly once', () => {
  it('[CRDT7] one keyed op applied at 1..3 replicas that had not seen it, then merged, counts once', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: -50, max: 50 }).filter((n) => n !== 0),
        commands({ sync: true, deliver: true }),
        fc.boolean(),
        (replicas, by, noise, useDeltas) => {
          const key = 'retry-1';
          const body = { likes: { $inc: by }, tags: { $add: 'retried' } };
          // The first attempts run before anyone exchanges anything.
          const world = run([
            ...ACTORS.slice(0, replicas).map((_, i) => ({
              t: 'op' as const,
              replica: i,
              body,
              key,
            })),
            ...noise,
          ]);
          const merged = useDeltas ? mergeAll(world.deltas) : mergeAll(world.states);
          const others =
            expectedCounters(world.events.filter((e) => e.key === undefined)).likes ?? 0;
          expect(documentView(merged).likes).toBe(by + others);
          expect(documentView(merged).tags).toContain('retried');
          // A retry anywhere after the merge is a duplicate and changes nothing.
          for (const actor of ACTORS) {
            const retry = applyPatch(merged, parsePatch(body), {
              actor,
              nowMs: BASE_MS + 5_000,
              idempotencyKey: key,
            });
            expect(retry.duplicate).toBe(true);
            expect(retry.state).toBe(merged);
          }
        },
      ),
      runs,
    );
  });

  it('[CRDT7] random retries of keyed ops through random replicas, any exchange order: each key counts once', () => {
    fc.assert(
      fc.property(
        commands({ sync: true, deliver: true, keys: ['a', 'b', 'c', 'd'] }),
        skew,
        (cmds, sk) => {
          const world = run(cmds, sk);
          expect(counterSums(world)).toEqual(expectedCounters(world.events));
          // Compensations never exceed what was double-applied: each replica's own view too.
          for (const s of world.states) {
            const partial = documentView(s);
            for (const field of COUNTER_FIELDS) {
              const v = Object.getOwnPropertyDescriptor(partial, field)?.value as unknown;
              if (v !== undefined) expect(Number.isSafeInteger(v)).toBe(true);
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('CRDT10 codec', () => {
  it('[CRDT10] decodeDocument(encodeDocument(s)) round-trips every reachable state and delta', () => {
    fc.assert(
      fc.property(reachable, ([a, b]) => {
        for (const s of [a, b, mergeDocuments(a, b)]) {
          const wire = JSON.parse(JSON.stringify(encodeDocument(s))) as unknown;
          const back = decodeDocument(wire);
          expect(canon(back)).toBe(canon(s));
          expect(view(back)).toEqual(view(s));
        }
      }),
      runs,
    );
  });

  it('[CRDT10] junk into decodeDocument throws KvError and nothing else', () => {
    fc.assert(
      fc.property(
        fc.anything({ withBigInt: true, withMap: true, withSet: true, withTypedArray: true }),
        (junk) => {
          expectKvErrorOrDocument(junk);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('[CRDT10] mutated valid encodings throw KvError or decode to a valid document', () => {
    fc.assert(
      fc.property(reachable, fc.array(fc.tuple(fc.nat(), fc.anything())), ([s], mutations) => {
        const wire = JSON.parse(JSON.stringify(encodeDocument(s))) as unknown;
        for (const [at, value] of mutations) mutate(wire, at, value);
        expectKvErrorOrDocument(wire);
      }),
      { numRuns: 500 },
    );
  });
});

function expectKvErrorOrDocument(input: unknown): void {
  let decoded: DocumentState;
  try {
    decoded = decodeDocument(input);
  } catch (e) {
    expect(e).toMatchObject({ name: 'KvError' });
    return;
  }
  // Whatever decodes is a usable document: it re-encodes canonically and merges.
  expect(canon(decodeDocument(encodeDocument(decoded)))).toBe(canon(decoded));
  documentView(mergeDocuments(decoded, decoded));
}

/** Replaces the `at`-th node (pre-order) of a JSON tree with `value`. */
function mutate(root: unknown, at: number, value: unknown): void {
  let i = 0;
  const visit = (node: unknown): boolean => {
    if (typeof node !== 'object' || node === null) return false;
    const keys = Object.keys(node);
    for (const k of keys) {
      if (i++ === at) {
        (node as Record<string, unknown>)[k] = value;
        return true;
      }
      if (visit((node as Record<string, unknown>)[k])) return true;
    }
    return false;
  };
  visit(root);
}

/**
 * A node's storage of a document (src/node/document-tables.ts) in pure form: the document
 * without its table in one row, the table's entries in rows of their own. An update reads the
 * row with only the entries it needs and writes back the row and the entries it produced.
 */
interface Stored {
  readonly row: DocumentState;
  readonly table: ReadonlyMap<string, unknown>;
}

function stored(state: DocumentState): Stored {
  const table = new Map<string, unknown>();
  for (const [key, apps] of state.idempotency.applied) table.set(key, encodeApplications(apps));
  return { row: documentRow(state), table };
}

/** The row with the entries of `keys` (all of them when undefined), as the node reads it. */
function load(s: Stored, keys?: Iterable<string>): DocumentState {
  const wanted = keys === undefined ? [...s.table.keys()] : [...new Set(keys)];
  const rows = wanted
    .filter((k) => s.table.has(k))
    .sort()
    .map((k): [string, unknown] => [k, s.table.get(k)]);
  return mergeDocuments(s.row, decodeTable(rows));
}

function write(s: Stored, next: DocumentState): Stored {
  const table = new Map(s.table);
  for (const [key, apps] of next.idempotency.applied) table.set(key, encodeApplications(apps));
  return { row: documentRow(next), table };
}

describe('CRDT12 the table stored apart', () => {
  it('[CRDT12] merging into the row plus only the incoming keys\' entries, writing back what changed, equals merging whole states', () => {
    fc.assert(
      fc.property(reachable, ([s, x]) => {
        const before = stored(s);
        const partial = load(before, x.idempotency.applied.keys());
        const after = write(before, mergeDocuments(partial, x));
        expect(canon(load(after))).toBe(canon(mergeDocuments(s, x)));
        // What is compared and digested without the table is the same either way.
        expect(documentRowText(after.row)).toBe(documentRowText(mergeDocuments(s, x)));
      }),
      runs,
    );
  });

  it('[CRDT12] applying a patch to the row plus only its key\'s entry equals applying it to the whole state', () => {
    fc.assert(
      fc.property(
        reachable,
        patchBody,
        fc.constantFrom(...ACTORS),
        fc.option(fc.constantFrom('k1', 'k2', 'k9')),
        ([s, x], body, actor, key) => {
          const base = mergeDocuments(s, x);
          const ctx = { actor, nowMs: BASE_MS + 1_000_000, ...(key === null ? {} : { idempotencyKey: key }) };
          const patch = parsePatch(body);
          const outcome = (state: DocumentState) => {
            try {
              return applyPatch(state, patch, ctx);
            } catch (e) {
              if (!isKvError(e)) throw e;
              return e.code;
            }
          };
          const whole = outcome(base);
          const before = stored(base);
          const split = outcome(load(before, key === null ? [] : [key]));
          if (typeof whole === 'string' || typeof split === 'string') {
            expect(split).toEqual(whole);
            return;
          }
          expect(split.duplicate).toBe(whole.duplicate);
          expect(canon(split.delta)).toBe(canon(whole.delta));
          expect(canon(load(write(before, split.state)))).toBe(canon(whole.state));
        },
      ),
      runs,
    );
  });

  it('[CRDT12] a table dot travels only with its entry: every application a state\'s table context names is in its table', () => {
    fc.assert(
      fc.property(
        commands({ sync: true, deliver: true, keys: ['a', 'b', 'c'] }),
        skew,
        (cmds, sk) => {
          const world = run(cmds, sk);
          const retries = world.states.flatMap((st) =>
            [...st.idempotency.applied.keys()].map((k) => retryState(st, k)),
          );
          for (const state of [...world.states, ...world.deltas, ...retries]) {
            for (const [id, app] of world.applications) {
              const [actor, seq] = id.split(':') as [string, string];
              if (!contextHas(state.idempotency.seen, { actor, seq: Number(seq) })) continue;
              const entry = state.idempotency.applied.get(app.key) ?? [];
              expect(entry.some((a) => a.actor === app.actor && a.atMs === app.atMs)).toBe(true);
            }
          }
          // Hence replicas that agree without their tables have the same tables, up to
          // applications that change no count, and merging them changes nothing that counts: a
          // digest of the row alone misses no difference that counts. (A replayed retry carries
          // its entry without its dot, so a `$inc: 0` applied under a key another coordinator
          // also applied can sit in one replica's table and not another's, rows equal; seed
          // -1454713762 found it.)
          for (const a of world.states) {
            for (const b of world.states) {
              if (documentRowText(a) !== documentRowText(b)) continue;
              expect(canon(withoutNoOps(a))).toBe(canon(withoutNoOps(b)));
              expect(canon(withoutNoOps(mergeDocuments(a, b)))).toBe(canon(withoutNoOps(a)));
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('[CRDT12] a replayed retry brings the first attempt to a replica that missed it, and the key dedups there', () => {
    const body = { likes: { $inc: -3 }, tags: { $add: 'x' } };
    const first = applyPatch(emptyDocument(), parsePatch(body), { actor: 'n1', nowMs: BASE_MS, idempotencyKey: 'r1' });
    const replay = applyPatch(first.state, parsePatch(body), { actor: 'n1', nowMs: BASE_MS + 5, idempotencyKey: 'r1' });
    expect(replay.duplicate).toBe(true);
    const other = mergeDocuments(emptyDocument(), retryState(first.state, 'r1'));
    expect(documentView(other)).toEqual({ likes: -3, tags: ['x'] });
    expect(applyPatch(other, parsePatch(body), { actor: 'n2', nowMs: BASE_MS + 9, idempotencyKey: 'r1' }).duplicate).toBe(true);
    // It names no table dot, so the row shows the replica still lacks the first attempt's delta.
    expect(other.idempotency.seen.size).toBe(0);
    expect(documentRowText(mergeDocuments(other, first.delta))).not.toBe(documentRowText(other));
  });
});

/** `state` without table applications that add to no counter (a key's entry keeps its others). */
function withoutNoOps(state: DocumentState): DocumentState {
  const applied = new Map(
    [...state.idempotency.applied]
      .map(([key, apps]) => [key, apps.filter((app) => app.counters.size > 0)] as const)
      .filter(([, apps]) => apps.length > 0),
  );
  return { ...state, idempotency: { ...state.idempotency, applied } };
}
