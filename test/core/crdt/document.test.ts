import { describe, expect, it } from 'vitest';
import {
  applyPatch,
  documentView,
  emptyDocument,
  mergeDocuments,
  prune,
  type DocumentState,
  type PatchContext,
} from '../../../src/core/crdt/document.ts';
import { parsePatch } from '../../../src/core/crdt/patch.ts';
import {
  fieldsMax,
  idempotencyRetentionMs,
  setElementsMax,
} from '../../../src/core/crdt/limits.ts';
import { canon } from './harness.ts';

const T0 = 1_700_000_000_000;

function apply(
  state: DocumentState,
  body: unknown,
  ctx: Partial<PatchContext> = {},
): DocumentState {
  return applyPatch(state, parsePatch(body), { actor: 'n1', nowMs: T0, ...ctx }).state;
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code ?? `not a KvError: ${String(e)}`;
  }
  return 'no error';
}

describe('documents', () => {
  it("the seed's body works as written, repeatedly", () => {
    let s = emptyDocument();
    for (let i = 0; i < 3; i++)
      s = apply(s, JSON.parse('{"likes":{"$inc":1},"last_updated":1700000000.5}'), {
        nowMs: T0 + i,
      });
    expect(documentView(s)).toEqual({ last_updated: 1700000000.5, likes: 3 });
  });

  it('the view is plain JSON: counters, sorted set elements, registers; unset fields vanish', () => {
    let s = apply(emptyDocument(), {
      likes: { $inc: 5 },
      tags: { $add: ['b', 'a', 2] },
      title: 'x',
      gone: 1,
    });
    s = apply(
      s,
      { likes: { $inc: -7 }, tags: { $remove: 'b' }, gone: { $unset: true } },
      { nowMs: T0 + 1 },
    );
    expect(JSON.stringify(documentView(s))).toBe('{"likes":-2,"tags":["a",2],"title":"x"}');
  });

  it('[CRDT6] an op of another type is KV_TYPE_MISMATCH and leaves the state unchanged (CRDT9)', () => {
    const s = apply(emptyDocument(), { likes: { $inc: 1 }, tags: { $add: 'a' }, title: 'x' });
    const before = canon(s);
    expect(code(() => apply(s, { likes: 3 }))).toBe('KV_TYPE_MISMATCH');
    expect(code(() => apply(s, { likes: { $unset: true } }))).toBe('KV_TYPE_MISMATCH');
    expect(code(() => apply(s, { title: { $inc: 1 } }))).toBe('KV_TYPE_MISMATCH');
    expect(code(() => apply(s, { tags: { $set: [] } }))).toBe('KV_TYPE_MISMATCH');
    // All-or-nothing: the valid first op of a failing patch does not stick.
    expect(code(() => apply(s, { a: { $inc: 1 }, title: { $add: 'y' } }))).toBe('KV_TYPE_MISMATCH');
    expect(canon(s)).toBe(before);
    // An unset register frees the field for another type.
    const freed = apply(s, { title: { $unset: true } }, { nowMs: T0 + 1 });
    expect(documentView(apply(freed, { title: { $inc: 2 } }, { nowMs: T0 + 2 })).title).toBe(2);
  });

  it('[CRDT6] racing first ops of different types: the view shows counter > set > register', () => {
    const a = apply(emptyDocument(), { f: 'text' }, { actor: 'n1' });
    const b = apply(emptyDocument(), { f: { $add: 'x' } }, { actor: 'n2' });
    const c = apply(emptyDocument(), { f: { $inc: 4 } }, { actor: 'n3' });
    expect(documentView(mergeDocuments(a, b)).f).toEqual(['x']);
    const all = mergeDocuments(mergeDocuments(a, b), c);
    expect(documentView(all).f).toBe(4);
    expect(code(() => apply(all, { f: 'again' }, { nowMs: T0 + 5 }))).toBe('KV_TYPE_MISMATCH');
  });

  it('[CRDT4] $unset and a concurrent $set: the later timestamp wins, in both orders', () => {
    const base = apply(emptyDocument(), { title: 'v0' });
    const unsetLater = apply(base, { title: { $unset: true } }, { actor: 'n1', nowMs: T0 + 20 });
    const setEarlier = apply(base, { title: 'v1' }, { actor: 'n2', nowMs: T0 + 10 });
    expect(documentView(mergeDocuments(unsetLater, setEarlier)).title).toBeUndefined();
    expect(documentView(mergeDocuments(setEarlier, unsetLater)).title).toBeUndefined();
    const setLater = apply(base, { title: 'v2' }, { actor: 'n2', nowMs: T0 + 30 });
    expect(documentView(mergeDocuments(unsetLater, setLater)).title).toBe('v2');
  });

  it('[CRDT4] a write made after seeing a value wins even if the writer’s clock is behind', () => {
    const ahead = apply(
      emptyDocument(),
      { title: 'from the future' },
      { actor: 'n9', nowMs: T0 + 3_600_000 },
    );
    const after = apply(ahead, { title: 'later, slow clock' }, { actor: 'n1', nowMs: T0 });
    expect(documentView(mergeDocuments(ahead, after)).title).toBe('later, slow clock');
    // Without having seen it, the slow clock loses (that is what LWW does with skew).
    const blind = apply(
      emptyDocument(),
      { title: 'concurrent, slow clock' },
      { actor: 'n1', nowMs: T0 },
    );
    expect(documentView(mergeDocuments(ahead, blind)).title).toBe('from the future');
  });

  it('[CRDT5] add wins over a concurrent remove; a remove wins over adds it observed', () => {
    const base = apply(emptyDocument(), { tags: { $add: ['a', 'b'] } }, { actor: 'n1' });
    const removed = apply(base, { tags: { $remove: ['a', 'b'] } }, { actor: 'n2', nowMs: T0 + 1 });
    const readded = apply(base, { tags: { $add: 'a' } }, { actor: 'n3', nowMs: T0 + 1 });
    expect(documentView(mergeDocuments(removed, readded)).tags).toEqual(['a']);
    expect(documentView(mergeDocuments(removed, base)).tags).toEqual([]);
  });
});

describe('[CRDT7] idempotency keys', () => {
  const inc = parsePatch({ likes: { $inc: 1 } });

  it('a retry at the same replica is a duplicate: same state, empty delta', () => {
    const first = applyPatch(emptyDocument(), inc, { actor: 'n1', nowMs: T0, idempotencyKey: 'k' });
    const retry = applyPatch(first.state, inc, { actor: 'n1', nowMs: T0 + 5, idempotencyKey: 'k' });
    expect(first.duplicate).toBe(false);
    expect(retry.duplicate).toBe(true);
    expect(retry.state).toBe(first.state);
    expect(canon(retry.delta)).toBe(canon(emptyDocument()));
    expect(documentView(retry.state).likes).toBe(1);
  });

  it('A applies and crashes, the client retries through B, A and B merge: counted once, in every merge order', () => {
    const shared = apply(emptyDocument(), { likes: { $inc: 10 } }, { actor: 'n3' });
    const atA = applyPatch(shared, inc, { actor: 'n1', nowMs: T0 + 1, idempotencyKey: 'req-42' });
    const atB = applyPatch(shared, inc, { actor: 'n2', nowMs: T0 + 900, idempotencyKey: 'req-42' });
    expect(atB.duplicate).toBe(false); // B had not seen A's attempt
    for (const merged of [
      mergeDocuments(atA.state, atB.state),
      mergeDocuments(atB.state, atA.state),
      mergeDocuments(mergeDocuments(shared, atB.delta), atA.delta),
      mergeDocuments(mergeDocuments(atA.state, atB.delta), atB.delta),
    ]) {
      expect(documentView(merged).likes).toBe(11);
    }
    // Later increments by either replica still count.
    const m = mergeDocuments(atA.state, atB.state);
    const more = apply(m, { likes: { $inc: 5 } }, { actor: 'n2', nowMs: T0 + 1000 });
    expect(documentView(more).likes).toBe(16);
  });

  it('a key reused for a different patch is KV_BAD_REQUEST', () => {
    const first = applyPatch(emptyDocument(), inc, { actor: 'n1', nowMs: T0, idempotencyKey: 'k' });
    expect(
      code(() =>
        applyPatch(first.state, parsePatch({ likes: { $inc: 2 } }), {
          actor: 'n1',
          nowMs: T0,
          idempotencyKey: 'k',
        }),
      ),
    ).toBe('KV_BAD_REQUEST');
  });

  it('bad keys are KV_BAD_REQUEST', () => {
    for (const key of ['', 'has space', 'ü', 'x'.repeat(256)]) {
      expect(
        code(() =>
          applyPatch(emptyDocument(), inc, { actor: 'n1', nowMs: T0, idempotencyKey: key }),
        ),
      ).toBe('KV_BAD_REQUEST');
    }
  });

  it('[CRDT8] after the retention window a retry counts again; within it, it does not', () => {
    const first = applyPatch(emptyDocument(), inc, { actor: 'n1', nowMs: T0, idempotencyKey: 'k' });
    const within = applyPatch(first.state, inc, {
      actor: 'n1',
      nowMs: T0 + idempotencyRetentionMs,
      idempotencyKey: 'k',
    });
    expect(within.duplicate).toBe(true);
    const after = applyPatch(first.state, inc, {
      actor: 'n1',
      nowMs: T0 + idempotencyRetentionMs + 1,
      idempotencyKey: 'k',
    });
    expect(after.duplicate).toBe(false);
    expect(documentView(after.state).likes).toBe(2);
    expect(prune(first.state, T0 + idempotencyRetentionMs + 1).idempotency.applied.size).toBe(0);
  });

  it('[CRDT8] the table keeps the newest entriesMax keys', () => {
    let s = emptyDocument();
    for (let i = 0; i < 5; i++)
      s = applyPatch(s, inc, { actor: 'n1', nowMs: T0 + i, idempotencyKey: `k${i}` }).state;
    const pruned = prune(s, T0 + 10, { entriesMax: 2 });
    expect([...pruned.idempotency.applied.keys()].sort()).toEqual(['k3', 'k4']);
    expect(documentView(pruned).likes).toBe(5);
  });

  it('a compensation outlives the pruning of its key', () => {
    const atA = applyPatch(emptyDocument(), inc, { actor: 'n1', nowMs: T0, idempotencyKey: 'k' });
    const atB = applyPatch(emptyDocument(), inc, {
      actor: 'n2',
      nowMs: T0 + 1,
      idempotencyKey: 'k',
    });
    const merged = prune(mergeDocuments(atA.state, atB.state), T0 + idempotencyRetentionMs + 10);
    expect(merged.idempotency.applied.size).toBe(0);
    expect(documentView(merged).likes).toBe(1);
  });
});

describe('bounds', () => {
  it('fields per document', () => {
    let s = emptyDocument();
    for (let i = 0; i < fieldsMax; i += 200) {
      const body = Object.fromEntries(
        Array.from({ length: Math.min(200, fieldsMax - i) }, (_, j) => [`f${i + j}`, 1]),
      );
      s = apply(s, body);
    }
    expect(s.fields.size).toBe(fieldsMax);
    expect(code(() => apply(s, { extra: 1 }))).toBe('KV_PAYLOAD_TOO_LARGE');
    expect(code(() => apply(s, { f0: 2 }))).toBe('no error');
  });

  it('elements per set', () => {
    const s = apply(emptyDocument(), {
      s: { $add: Array.from({ length: setElementsMax }, (_, i) => i) },
    });
    expect(code(() => apply(s, { s: { $add: 'one more' } }))).toBe('KV_PAYLOAD_TOO_LARGE');
    expect(code(() => apply(s, { s: { $add: 0 } }))).toBe('no error');
  });

  it('counters stay within safe integers', () => {
    const s = apply(emptyDocument(), { c: { $inc: Number.MAX_SAFE_INTEGER } });
    expect(code(() => apply(s, { c: { $inc: 1 } }))).toBe('KV_BAD_REQUEST');
    expect(documentView(apply(s, { c: { $inc: -5 } })).c).toBe(Number.MAX_SAFE_INTEGER - 5);
  });
});

describe('[CRDT11] untrusted names', () => {
  it('__proto__, constructor and prototype are ordinary fields and values; Object.prototype stays clean', () => {
    const body = JSON.parse(
      '{"__proto__":{"$inc":2},"constructor":{"$add":["__proto__"]},"prototype":{"__proto__":{"polluted":1}}}',
    ) as unknown;
    const view = documentView(apply(emptyDocument(), body));
    expect(Object.getPrototypeOf(view)).toBe(Object.prototype);
    expect(JSON.stringify(view)).toBe(
      '{"__proto__":2,"constructor":["__proto__"],"prototype":{"__proto__":{"polluted":1}}}',
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
