// Responses are checked field by field; `any` keeps those checks short.
/* eslint-disable @typescript-eslint/no-explicit-any */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, waitFor, type TestCluster } from '../helpers/in-process-cluster.ts';

let c: TestCluster;
beforeAll(async () => {
  c = await startTestCluster(3);
}, 60_000);
afterAll(async () => {
  await c?.close();
});

const send = (i: number, method: string, key: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${c.url(i)}/kv/${key}`, { method, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
const json = async (r: Response): Promise<any> => r.json();
const local = async (i: number, key: string): Promise<any> => json(await fetch(`${c.url(i)}/kv/${key}?local=true`));

describe('CRDT documents over HTTP', () => {
  it('[CRDT-API1] the seed body works as written: PUT with $inc is a field update', async () => {
    const r = await send(0, 'PUT', 'tweet_12345', { likes: { $inc: 1 }, last_updated: 1700000000.5 });
    expect(r.status).toBe(200);
    expect(await json(r)).toEqual({ likes: 1, last_updated: 1700000000.5 });
    await send(1, 'PUT', 'tweet_12345', { likes: { $inc: 1 }, last_updated: 1700000001 });
    await send(2, 'PATCH', 'tweet_12345', { likes: { $inc: 3 } });
    const g = await fetch(`${c.url(1)}/kv/tweet_12345`);
    expect(g.status).toBe(200);
    expect(await json(g)).toEqual({ likes: 5, last_updated: 1700000001 });
  });

  it('[CRDT-API2] concurrent increments through every node are all counted, with no siblings', async () => {
    const N = 300;
    await Promise.all(Array.from({ length: N }, (_, k) => send(k % 3, 'PATCH', 'counter/a', { n: { $inc: k % 2 === 0 ? 2 : -1 } })));
    const expected = Array.from({ length: N }, (_, k) => (k % 2 === 0 ? 2 : -1)).reduce((a, b) => a + b, 0);
    const g = await fetch(`${c.url(0)}/kv/counter/a?r=3`);
    expect(g.status).toBe(200);
    expect((await json(g)).n).toBe(expected);
    await waitFor('every replica equal', async () => {
      const v = await Promise.all([0, 1, 2].map((i) => local(i, 'counter/a')));
      return v.every((x) => x.n === expected);
    });
  });

  it('[CRDT7] a retry with the same Idempotency-Key counts once, through any node, and says so', async () => {
    const h = { 'idempotency-key': 'order-42' };
    const first = await send(0, 'PATCH', 'stock/sku1', { units: { $inc: -2 } }, h);
    expect(first.status).toBe(200);
    expect(first.headers.get('idempotency-replayed')).toBeNull();
    for (const i of [0, 1, 2]) {
      const again = await send(i, 'PATCH', 'stock/sku1', { units: { $inc: -2 } }, h);
      expect(again.status).toBe(200);
      expect(again.headers.get('idempotency-replayed')).toBe('true');
    }
    expect((await json(await fetch(`${c.url(2)}/kv/stock/sku1?r=3`))).units).toBe(-2);
    const reused = await send(1, 'PATCH', 'stock/sku1', { units: { $inc: -5 } }, h);
    expect(reused.status).toBe(400);
  });

  it('[CRDT5] sets are add-wins; registers and $unset work; the view is plain JSON', async () => {
    await send(0, 'PATCH', 'user/bob', { followers: { $add: ['alice', 'carol'] }, name: 'Bob', tmp: { $set: 1 } });
    await send(1, 'PATCH', 'user/bob', { followers: { $remove: 'carol' }, tmp: { $unset: true } });
    const v = await json(await fetch(`${c.url(2)}/kv/user/bob?r=3`));
    expect(v).toEqual({ followers: ['alice'], name: 'Bob' });
  });

  it('[CRDT3][CRDT5] issue #5 acceptance 2: concurrent $add/$remove of one element is add-wins; negative increments sum to the acknowledged deltas', async () => {
    const key = 'inventory/sku9';
    const faults = (i: number, body: unknown) =>
      fetch(`${c.url(i)}/admin/faults`, body === null ? { method: 'DELETE' } : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    let sum = 0;
    const inc = async (i: number, by: number, extra: Record<string, unknown> = {}, w = 3) => {
      const r = await send(i, 'PATCH', `${key}?w=${w}`, { units: { $inc: by }, ...extra }, { 'idempotency-key': `acc2-${i}-${by}-${w}` });
      expect(r.status).toBe(200);
      sum += by;
    };
    await inc(0, 10, { tags: { $add: 'sale' } });
    // n1 on one side, n2 and n3 on the other: neither side sees the other's updates.
    await faults(0, { isolate: ['n2', 'n3'] });
    await faults(1, { isolate: ['n1'] });
    await faults(2, { isolate: ['n1'] });
    try {
      // n1 adds the element again (a new add the remove below cannot have seen) ...
      await inc(0, -3, { tags: { $add: 'sale' } }, 1);
      // ... while n2 removes it (it saw only the first add) and n3 decrements.
      await inc(1, -4, { tags: { $remove: 'sale' } }, 2);
      await inc(2, -5, {}, 2);
      expect((await local(0, key)).tags).toEqual(['sale']);
      expect((await local(1, key)).tags).toEqual([]);
    } finally {
      for (const i of [0, 1, 2]) await faults(i, null);
    }
    expect(sum).toBe(-2);
    await waitFor('every replica converged, add-wins', async () => {
      await fetch(`${c.url(0)}/kv/${key}?r=3`);
      const views = await Promise.all([0, 1, 2].map((i) => local(i, key)));
      return views.every((v) => v.units === sum && JSON.stringify(v.tags) === '["sale"]');
    }, 20_000);
    // A remove that has seen every add does remove the element.
    const r = await send(2, 'PATCH', `${key}?w=3`, { tags: { $remove: 'sale' } });
    expect((await json(r)).tags).toEqual([]);
  });

  it('[CRDT-API3] type mismatches get 409; bad operators 400; hostile names are harmless', async () => {
    await send(0, 'PUT', 'plain/x', { a: 1 });
    const m1 = await send(1, 'PATCH', 'plain/x', { a: { $inc: 1 } });
    expect(m1.status).toBe(409);
    expect((await json(m1)).error.code).toBe('KV_TYPE_MISMATCH');
    await send(0, 'PATCH', 'doc/x', { a: { $inc: 1 } });
    const m2 = await send(2, 'PUT', 'doc/x', { a: 5 });
    expect(m2.status).toBe(409);
    const m3 = await send(1, 'PATCH', 'doc/x', { a: { $set: 'text' } });
    expect(m3.status).toBe(409);
    for (const bad of [{ a: { $inc: 'x' } }, { a: { $inc: 1.5 } }, { $a: 1 }, {}, { a: { $add: { o: 1 } } }, { a: { $unset: false } }]) {
      const r = await send(0, 'PATCH', 'doc/bad', bad);
      expect(r.status).toBe(400);
      expect((await json(r)).error.code).toBe('KV_BAD_REQUEST');
    }
    const p = await fetch(`${c.url(0)}/kv/doc/proto`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"__proto__":{"$set":{"polluted":true}},"constructor":{"$inc":1}}' });
    expect(p.status).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
