import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, waitFor, type TestCluster } from '../helpers/in-process-cluster.ts';
import type { RunningNode } from '../../src/server/start-node.ts';

/**
 * Anti-entropy on three in-process nodes (real HTTP and TCP, memory storage), with hinted
 * handoff off so only anti-entropy can repair a replica that missed writes (issue 4).
 */
let c: TestCluster;
const GRACE_MS = 1500;
beforeAll(async () => {
  c = await startTestCluster(3, {
    hintedHandoff: false,
    antiEntropyIntervalMs: 1000,
    tombstoneGraceMs: GRACE_MS,
  });
}, 60_000);
afterAll(async () => {
  await c?.close();
});

const json = async <T>(url: string, init?: RequestInit): Promise<T> =>
  (await (await fetch(url, init)).json()) as T;
const roots = (i: number) =>
  json<{ roots: Record<string, string> }>(`${c.url(i)}/admin/merkle`).then((r) => r.roots);
const status = (i: number) =>
  json<{
    tombstones: number;
    keys: number;
    antiEntropy: { totals: { bytes: number; keysFetched: number; keysSent: number } };
  }>(`${c.url(i)}/admin/status`);
const local = async (i: number, key: string): Promise<unknown> => {
  const r = await fetch(`${c.url(i)}/kv/${key}?local=true`);
  return r.status === 200 ? r.json() : r.status;
};
const runAe = (i: number, body?: unknown) =>
  json<{
    partitionsCompared: number;
    bytes: number;
    keysSent: number;
    keysFetched: number;
    segmentsDiffering: number;
  }>(`${c.url(i)}/admin/anti-entropy`, {
    method: 'POST',
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });

/** Cuts `node` off from every other node, in both directions. */
function isolate(index: number): void {
  const id = c.nodes[index]!.node.id;
  for (const n of c.nodes) {
    if (n.node.id === id)
      n.faults.setFaults({ isolate: c.nodes.map((x) => x.node.id).filter((x) => x !== id) });
    else n.faults.setFaults({ isolate: [id] });
  }
}
function heal(): void {
  for (const n of c.nodes) n.faults.clearFaults();
}
async function allRootsEqual(): Promise<boolean> {
  const [a, b, d] = await Promise.all([roots(0), roots(1), roots(2)]);
  return (
    Object.keys(a).length === 64 &&
    JSON.stringify(a) === JSON.stringify(b) &&
    JSON.stringify(a) === JSON.stringify(d)
  );
}
async function writeMany(node: RunningNode, keys: string[], concurrency = 64): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < keys.length) {
      const key = keys[next++]!;
      await node.node.write({
        kind: 'put',
        key,
        value: new TextEncoder().encode(JSON.stringify({ k: key })),
        contentType: 'application/json',
        context: null,
        idempotencyKey: null,
        w: 2,
        timeoutMs: 3000,
        hops: 0,
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

describe('anti-entropy', () => {
  it('[AE1] a replica isolated during 10,000 W=2 writes holds identical data within 10 s of healing, without reads', async () => {
    await waitFor('trees built', async () => Object.keys(await roots(2)).length === 64, 10_000);
    isolate(2);
    const keys = Array.from({ length: 10_000 }, (_, i) => `ae1/${i}`);
    const t0 = Date.now();
    await writeMany(c.nodes[0]!, keys);
    const writeMs = Date.now() - t0;
    expect(await local(2, keys[0]!)).toBe(404);
    expect(await allRootsEqual()).toBe(false);
    const before = await Promise.all([0, 1, 2].map(status));
    const healedAt = Date.now();
    heal();
    let seenUpMs = -1;
    await waitFor(
      'all three replicas identical',
      async () => {
        if (seenUpMs < 0 && c.nodes[0]!.node.memberState('n3') === 'up')
          seenUpMs = Date.now() - healedAt;
        return allRootsEqual();
      },
      10_000,
    );
    const convergedMs = Date.now() - healedAt;
    const after = await Promise.all([0, 1, 2].map(status));
    const bytes = after.reduce(
      (n, s, i) => n + s.antiEntropy.totals.bytes - before[i]!.antiEntropy.totals.bytes,
      0,
    );
    const repaired = after.reduce(
      (n, s, i) =>
        n +
        s.antiEntropy.totals.keysFetched -
        before[i]!.antiEntropy.totals.keysFetched +
        s.antiEntropy.totals.keysSent -
        before[i]!.antiEntropy.totals.keysSent,
      0,
    );
    console.log(
      `[AE1] wrote 10000 keys in ${writeMs} ms; converged ${convergedMs} ms after healing (n1 saw n3 up after ${seenUpMs} ms); anti-entropy moved ${bytes} bytes, ${repaired} records`,
    );
    expect(after.map((s) => s.keys)).toEqual([10_000, 10_000, 10_000]);
    for (const i of [0, 1234, 5678, 9999]) expect(await local(2, keys[i]!)).toEqual({ k: keys[i] });
  }, 60_000);

  it('[AE2] a round with no differences sends at most 1 KiB per partition', async () => {
    await waitFor('identical', allRootsEqual, 10_000);
    const r = await runAe(0);
    expect(r.partitionsCompared).toBe(64);
    expect(r.keysSent + r.keysFetched).toBe(0);
    console.log(
      `[AE2] no-difference round: ${r.bytes} bytes for ${r.partitionsCompared} partitions (${Math.round(r.bytes / r.partitionsCompared)} B each)`,
    );
    expect(r.bytes / r.partitionsCompared).toBeLessThanOrEqual(1024);
  }, 30_000);

  it('[AE3] a key deleted while a replica was away stays deleted everywhere, and its tombstone is reaped after the grace interval', async () => {
    const key = 'ae3/gone';
    const put = await fetch(`${c.url(0)}/kv/${key}?w=3`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '"alive"',
    });
    expect(put.status).toBe(200);
    const context = (await fetch(`${c.url(0)}/kv/${key}`)).headers.get('x-context')!;
    isolate(2);
    expect(
      (
        await fetch(`${c.url(0)}/kv/${key}?w=2`, {
          method: 'DELETE',
          headers: { 'x-context': context },
        })
      ).status,
    ).toBe(200);
    // Longer than the grace: the tombstone must not be reaped while a replica still holds the value.
    await new Promise((r) => setTimeout(r, GRACE_MS + 1500));
    expect(await local(2, key)).toBe('alive');
    expect(await local(0, key)).toBe(404);
    expect((await status(0)).tombstones).toBe(1);
    heal();
    const partition = c.nodes[0]!.node.placement(key).partition;
    for (let round = 0; round < 8; round++) {
      for (const i of [0, 1, 2]) {
        await runAe(i, { partition });
        expect((await fetch(`${c.url(i)}/kv/${key}?r=3`)).status).toBe(404);
        expect((await fetch(`${c.url(i)}/kv/${key}`)).status).toBe(404);
      }
      for (const i of [0, 1, 2]) expect(await local(i, key)).toBe(404);
    }
    await waitFor(
      'tombstones reaped everywhere',
      async () => (await Promise.all([0, 1, 2].map(status))).every((s) => s.tombstones === 0),
      15_000,
    );
    for (const i of [0, 1, 2]) {
      await runAe(i, { partition });
      expect((await fetch(`${c.url(i)}/kv/${key}?r=3`)).status).toBe(404);
      expect(await local(i, key)).toBe(404);
    }
    expect((await Promise.all([0, 1, 2].map(status))).map((s) => s.tombstones)).toEqual([0, 0, 0]);
    expect(await allRootsEqual()).toBe(true);
  }, 60_000);

  it('[AE5] /admin/merkle and /admin/anti-entropy validate their input', async () => {
    const tree = await json<{ partition: number; root: string; levels: string[][] }>(
      `${c.url(0)}/admin/merkle?partition=3&depth=4`,
    );
    expect(tree.partition).toBe(3);
    expect(tree.levels.map((l) => l.length)).toEqual([1, 2, 4, 8]);
    expect(tree.levels[0]![0]).toBe(tree.root);
    expect(tree.root).toBe((await roots(0))['3']);
    for (const q of [
      'partition=64',
      'partition=-1',
      'partition=abc',
      'partition=1&depth=0',
      'partition=1&depth=99',
      'depth=x',
    ]) {
      const r = await fetch(`${c.url(0)}/admin/merkle?${q}`);
      expect(r.status, q).toBe(400);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('KV_BAD_REQUEST');
    }
    for (const body of [
      '[1]',
      '{"partition":"x"}',
      '{"partition":99}',
      '{"peer":"nobody"}',
      '{"peer":"n1"}',
      'not json',
    ]) {
      const r = await fetch(`${c.url(0)}/admin/anti-entropy`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(r.status, body).toBe(400);
    }
    const one = await runAe(0, { partition: 5, peer: 'n2' });
    expect(one.partitionsCompared).toBe(1);
    const st = await json<{
      antiEntropy: {
        enabled: boolean;
        intervalMs: number;
        exchanges: unknown[];
        totals: Record<string, number>;
      };
    }>(`${c.url(0)}/admin/status`);
    expect(st.antiEntropy.enabled).toBe(true);
    expect(st.antiEntropy.intervalMs).toBe(1000);
    expect(st.antiEntropy.exchanges.length).toBeGreaterThan(0);
    expect(st.antiEntropy.totals.exchanges).toBeGreaterThan(0);
  }, 30_000);
});
