import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, waitFor, type TestCluster } from '../helpers/in-process-cluster.ts';

/**
 * Failure handling on five in-process nodes (real HTTP and TCP, memory storage): sloppy
 * quorum, hinted handoff, read repair, fault injection.
 */
let c: TestCluster;
beforeAll(async () => {
  // Anti-entropy off: these tests show what hints and read repair do on their own.
  c = await startTestCluster(5, { antiEntropyIntervalMs: 0 });
}, 60_000);
afterAll(async () => {
  await c?.close();
});

const put = (i: number, key: string, value: unknown, q = '') =>
  fetch(`${c.url(i)}/kv/${key}${q}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) });
const local = async (i: number, key: string): Promise<unknown> => {
  const r = await fetch(`${c.url(i)}/kv/${key}?local=true`);
  return r.status === 200 ? r.json() : r.status;
};
const indexOf = (id: string) => Number(id.slice(1)) - 1;

async function ring(): Promise<{ partitions: { index: number; preferenceList: string[] }[] }> {
  return (await (await fetch(`${c.url(0)}/admin/ring`)).json()) as { partitions: { index: number; preferenceList: string[] }[] };
}
function replicasOf(key: string): readonly string[] {
  return c.nodes[0]!.node.placement(key).replicas;
}

describe('surviving failures', () => {
  it('[HH1] with two of a key\'s three replicas isolated, W=2 writes succeed through fallbacks and reach the owners after healing', async () => {
    const key = 'hh/one';
    const [keep, down1, down2] = replicasOf(key) as [string, string, string];
    // Cut the two replicas off from everyone (both directions, on every node).
    for (const n of c.nodes) {
      if (n.node.id === down1 || n.node.id === down2) n.faults.setFaults({ isolate: c.nodes.map((x) => x.node.id).filter((x) => x !== n.node.id) });
      else n.faults.setFaults({ isolate: [down1, down2] });
    }
    const coordinator = indexOf(keep);
    await waitFor('replicas seen down', () => c.nodes[coordinator]!.node.memberState(down1) === 'down' && c.nodes[coordinator]!.node.memberState(down2) === 'down', 15_000);
    const res = await put(coordinator, key, { v: 1 });
    expect(res.status).toBe(200);
    const holder = c.nodes.find((n) => n.node.hints.pending().total > 0);
    expect(holder).toBeDefined();
    expect(await local(indexOf(down1), key)).toBe(404);
    for (const n of c.nodes) n.faults.clearFaults();
    await waitFor('hints delivered to both owners', async () => (await local(indexOf(down1), key)) !== 404 && (await local(indexOf(down2), key)) !== 404, 15_000);
    expect(await local(indexOf(down1), key)).toEqual({ v: 1 });
    expect(await local(indexOf(down2), key)).toEqual({ v: 1 });
    await waitFor('hints removed', () => c.nodes.every((n) => n.node.hints.pending().total === 0), 10_000);
  }, 60_000);

  it('[RR1] a replica that missed a write is repaired by the next R=3 read', async () => {
    const key = 'rr/one';
    const [a, b, missed] = replicasOf(key) as [string, string, string];
    c.nodes[indexOf(missed)]!.faults.setFaults({ isolate: c.nodes.map((x) => x.node.id).filter((x) => x !== missed) });
    // No hints: the fallback would deliver them and we want read repair to do the work.
    for (const n of c.nodes) if (n.node.id !== missed) n.faults.setFaults({ isolate: [missed] });
    const res = await put(indexOf(a), key, 'fresh', '?w=2');
    expect(res.status).toBe(200);
    for (const n of c.nodes) n.faults.clearFaults();
    // Drop any hint that may have been written, so only read repair can bring the value.
    expect(await local(indexOf(missed), key)).toBe(404);
    const before = c.nodes[indexOf(b)]!.node.stats.readRepairs;
    const r = await fetch(`${c.url(indexOf(b))}/kv/${key}?r=3`);
    expect(r.status).toBe(200);
    await waitFor('read repair', async () => (await local(indexOf(missed), key)) === 'fresh', 10_000);
    expect(c.nodes[indexOf(b)]!.node.stats.readRepairs).toBeGreaterThan(before);
  }, 60_000);

  it('[FI1] /admin/faults validates its body and heals with DELETE', async () => {
    const bad = await fetch(`${c.url(0)}/admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"dropRate":7}' });
    expect(bad.status).toBe(400);
    const ok = await fetch(`${c.url(0)}/admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"delayMs":{"n2":10}}' });
    expect(ok.status).toBe(200);
    expect(((await (await fetch(`${c.url(0)}/admin/faults`)).json()) as { faults: unknown }).faults).toEqual({ delayMs: { n2: 10 } });
    expect((await fetch(`${c.url(0)}/admin/faults`, { method: 'DELETE' })).status).toBe(200);
    expect(((await (await fetch(`${c.url(0)}/admin/faults`)).json()) as { faults: unknown }).faults).toEqual({});
    expect((await ring()).partitions.length).toBe(64);
  });
});
