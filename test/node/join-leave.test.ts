// Responses are checked field by field; `any` keeps those checks short.
/* eslint-disable @typescript-eslint/no-explicit-any */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/node/config.ts';
import { startNode, type RunningNode } from '../../src/server/start-node.ts';
import { rangePorts, startTestCluster, waitFor, type TestCluster } from '../helpers/in-process-cluster.ts';

/**
 * Issue 3, acceptance 4 (scaled for CI): a 3-node cluster with keys under continuous load; a
 * 4th node joins and takes its share of partitions through handoff, then decommissions:
 * no failed request, no lost key, handoff progress visible throughout.
 */
const KEYS = Number(process.env.JOIN_TEST_KEYS ?? 2000);
let c: TestCluster;
let n4: RunningNode | undefined;
beforeAll(async () => {
  c = await startTestCluster(3, { antiEntropyIntervalMs: 0 });
}, 60_000);
afterAll(async () => {
  await n4?.close();
  await c?.close();
});

const status = async (url: string): Promise<any> => (await fetch(`${url}/admin/status`)).json();

describe('join and leave with handoff', () => {
  it('[HO1] a joining node takes ⌊Q/4⌋..⌈Q/4⌉ partitions and their data; leaving hands it back; nothing fails or is lost', async () => {
    const put = (i: number, k: number) =>
      fetch(`${c.url(i % 3)}/kv/load/${k}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ k }) });
    for (let k = 0; k < KEYS; k += 50) {
      const batch = await Promise.all(Array.from({ length: Math.min(50, KEYS - k) }, (_, j) => put(k + j, k + j)));
      expect(batch.every((r) => r.status === 200)).toBe(true);
    }
    // CRDT documents with idempotency tables (stored one row per key): handoff carries them whole.
    const DOCS = 10;
    const KEYED = 25;
    for (let d = 0; d < DOCS; d++) {
      const incs = await Promise.all(
        Array.from({ length: KEYED }, (_, j) =>
          fetch(`${c.url(j % 3)}/kv/doc/${d}`, { method: 'PATCH', headers: { 'content-type': 'application/json', 'idempotency-key': `d${d}-k${j}` }, body: '{"likes":{"$inc":1}}' }),
        ),
      );
      expect(incs.every((r) => r.status === 200)).toBe(true);
    }
    // Continuous load: reads of written keys and new writes, counting failures.
    let failures = 0;
    let requests = 0;
    let stop = false;
    const failed: string[] = [];
    const load = (async () => {
      for (let i = 0; !stop; i++) {
        const k = i % KEYS;
        const t0 = Date.now();
        const r = await fetch(`${c.url(i % 3)}/kv/load/${k}`);
        if (Date.now() - t0 > 500) console.log(`slow GET load/${k} via n${(i % 3) + 1}: ${Date.now() - t0} ms → ${r.status}`);
        requests++;
        if (r.status !== 200) {
          failures++;
          failed.push(`GET load/${k} → ${r.status}`);
        }
        await r.arrayBuffer();
        if (i % 4 === 0) {
          const w = await put(i, KEYS + i);
          requests++;
          if (w.status !== 200) {
            failures++;
            failed.push(`PUT load/${KEYS + i} → ${w.status} ${await w.text()}`);
          } else await w.arrayBuffer();
        }
      }
    })();

    const ports = rangePorts();
    n4 = await startNode({
      host: '127.0.0.1',
      port: ports?.http ?? 0,
      ...(ports ? { peerPort: ports.peer } : {}),
      config: { ...DEFAULTS, gossipIntervalMs: 200, antiEntropyIntervalMs: 0, id: 'n4', seeds: [c.url(0).replace('http://', '')] },
    });
    const sawProgress = { value: false };
    await waitFor(
      'n4 joined and every handoff finished',
      async () => {
        const all = await Promise.all([...c.nodes.map((n) => n.url), n4!.url].map(status));
        if (all.some((s) => s.handoff.active)) sawProgress.value = true;
        // Each of n4's replicated partitions displaced one old replica, which hands it over.
        const handedOver = all.reduce((n, s) => n + s.handoff.totals.partitions, 0);
        return (
          handedOver >= all[3].replicatedPartitions &&
          all.every((s) => s.members.length === 4 && s.members.every((m: any) => m.partitions > 0) && !s.handoff.active && s.ringVersion === all[0].ringVersion)
        );
      },
      60_000,
    );
    const s4 = await status(n4.url);
    expect(s4.partitions.length).toBeGreaterThanOrEqual(16);
    expect(s4.partitions.length).toBeLessThanOrEqual(16);
    const received = n4.node.stats.keys;
    // It holds its partitions' replicas: about 3/4 of all keys, and not more than its share.
    expect(received).toBeGreaterThan(KEYS * 0.6);
    expect(received).toBeLessThan(KEYS * 0.95 + requests);
    console.log(`join: n4 owns ${s4.partitions.length} partitions, replicates ${s4.replicatedPartitions}, holds ${received} keys`);
    // The documents n4 now replicates came with their whole tables.
    let docsHeld = 0;
    for (let d = 0; d < DOCS; d++) {
      const doc = n4.node.readLocal(`doc/${d}`)?.doc;
      if (!doc) continue;
      docsHeld++;
      expect(doc.idempotency.applied.size).toBe(KEYED);
    }
    expect(docsHeld).toBeGreaterThan(0);

    // Decommission n4: it hands its partitions back and ends `left`.
    expect((await fetch(`${n4.url}/admin/leave`, { method: 'POST' })).status).toBe(200);
    await waitFor('n4 left', async () => (await status(n4!.url)).members.find((m: any) => m.id === 'n4')?.status === 'left', 60_000);
    stop = true;
    await load;
    expect(failed.slice(0, 5)).toEqual([]);
    expect(failures).toBe(0);
    expect(n4.node.stats.keys).toBe(0);
    // Handing a document back removed its table rows too.
    expect(n4.node.services.storage.count('doc-tables')).toBe(0);
    for (let d = 0; d < DOCS; d++) {
      const r = await fetch(`${c.url(d % 3)}/kv/doc/${d}`, { method: 'PATCH', headers: { 'content-type': 'application/json', 'idempotency-key': `d${d}-k0` }, body: '{"likes":{"$inc":1}}' });
      expect(r.headers.get('idempotency-replayed')).toBe('true');
      expect(((await r.json()) as { likes: number }).likes).toBe(KEYED);
    }
    // Every key is still there, on a quorum of the remaining nodes.
    await n4.close();
    n4 = undefined;
    await waitFor('n4 seen down', () => c.nodes.every((n) => n.node.memberState('n4') === 'down'), 20_000);
    for (let k = 0; k < KEYS; k += 97) {
      const r = await fetch(`${c.url(k % 3)}/kv/load/${k}`);
      expect(r.status).toBe(200);
    }
    console.log(`join/leave: ${requests} requests under load, ${failures} failed; handoff progress seen: ${sawProgress.value}`);
  }, 180_000);
});
