import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster, waitForCluster } from '../../src/cluster/local-cluster.ts';
import { waitFor } from '../helpers/in-process-cluster.ts';

/**
 * Issue 5, acceptances 1 and 2 (scaled for CI): concurrent `$inc` through every node of a real
 * 3-process cluster while one node is SIGKILLed and restarted and later another is isolated
 * and healed. Every request increments `likes` by 1 (acceptance 1: every replica ends at
 * exactly the number of requests) and, in the same patch, `balance` by +1 or -1 (acceptance 2:
 * negative increments; every replica ends at the sum of the acknowledged deltas). Every client
 * retries a failed request with the same Idempotency-Key until it succeeds. Ports
 * 30601-30603 (HTTP) / 30611-30613 (peers). The full acceptance size is an opt-in:
 * `COUNTER_TEST_INCREMENTS=20000 npx vitest run test/node/counter-exactness.test.ts`
 * (deadlines grow with the size).
 */
const BASE = 30601;
const PEER_BASE = 30611;
const ids = ['n1', 'n2', 'n3'];
const url = (i: number) => `http://127.0.0.1:${BASE + i}`;
const TOTAL = Number(process.env.COUNTER_TEST_INCREMENTS ?? 1000);
const CLIENTS = 16;
/** Each quarter of the run must finish within this (at least 25 increments/s for long runs). */
const PHASE_MS = Math.max(60_000, (TOTAL / 4) * 40);
let dir: string;
let cluster: LocalCluster;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nosqldb-counter-'));
  cluster = new LocalCluster({ dataDir: dir, nodeArgs: ['--anti-entropy-interval-ms', '0'], onOutput: () => undefined });
  cluster.start(ids.map((id, i) => ({ id, port: BASE + i, extraArgs: ['--peer-port', String(PEER_BASE + i)] })));
  await waitForCluster([0, 1, 2].map(url), ids, 30_000);
}, 40_000);

afterAll(async () => {
  await cluster?.stop(2000);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function faults(i: number, body: unknown): Promise<void> {
  await fetch(`${url(i)}/admin/faults`, body === null ? { method: 'DELETE' } : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

describe('counters under failures', () => {
  it(`[CRDT7] ${TOTAL} retried $inc (likes +1, balance ±1) with kill/restart and isolation: every replica reports exactly ${TOTAL} likes and the balance's sum`, async () => {
    let next = 0;
    let acked = 0;
    let sum = 0;
    let retries = 0;
    const client = async (c: number): Promise<void> => {
      for (;;) {
        const k = next++;
        if (k >= TOTAL) return;
        const delta = k % 5 === 0 ? -1 : 1; // balance's step; likes always +1
        const key = `inc-${k}`;
        for (let attempt = 0; ; attempt++) {
          const node = (c + attempt) % 3;
          try {
            const r = await fetch(`${url(node)}/kv/likes?timeout=2000`, {
              method: 'PATCH',
              headers: { 'content-type': 'application/json', 'idempotency-key': key },
              body: JSON.stringify({ likes: { $inc: 1 }, balance: { $inc: delta } }),
              signal: AbortSignal.timeout(5000),
            });
            await r.arrayBuffer();
            if (r.status === 200) break;
          } catch {
            // Connection refused (killed node) or time-out: retry with the same key.
          }
          retries++;
          await new Promise((res) => setTimeout(res, 20));
        }
        acked++;
        sum += delta;
      }
    };
    const run = Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
    const started = Date.now();
    await waitFor('a quarter done', () => acked >= TOTAL / 4, PHASE_MS);
    cluster.kill('n3');
    await waitFor('half done', () => acked >= TOTAL / 2, PHASE_MS);
    cluster.restart('n3');
    await waitForCluster([0, 1, 2].map(url), ids, 30_000);
    await faults(1, { isolate: ['n1', 'n3'] });
    await faults(0, { isolate: ['n2'] });
    await faults(2, { isolate: ['n2'] });
    await waitFor('three quarters done', () => acked >= (TOTAL * 3) / 4, PHASE_MS);
    for (const i of [0, 1, 2]) await faults(i, null);
    await Promise.race([run, waitFor('all done', () => acked >= TOTAL, PHASE_MS)]);
    await run;
    const runMs = Date.now() - started;
    expect(acked).toBe(TOTAL);
    // Converge: a quorum read of all three replicas repairs the stale ones.
    let local: { likes: number; balance: number }[] = [];
    const exact = (v: { likes: number; balance: number }): boolean => v.likes === TOTAL && v.balance === sum;
    await waitFor('every replica exact', async () => {
      await fetch(`${url(0)}/kv/likes?r=3`);
      local = await Promise.all([0, 1, 2].map(async (i) => (await (await fetch(`${url(i)}/kv/likes?local=true`)).json()) as { likes: number; balance: number }));
      return local.every(exact);
    }, Math.max(30_000, TOTAL * 3));
    for (const v of local) expect(v).toEqual({ likes: TOTAL, balance: sum });
    console.log(
      `counter: ${TOTAL} requests acknowledged in ${(runMs / 1000).toFixed(1)} s, ${retries} retries; ` +
        `likes (+1 each) per replica ${local.map((v) => v.likes).join(' ')} = ${TOTAL}; ` +
        `balance (±1, sum of acknowledged deltas ${sum}) per replica ${local.map((v) => v.balance).join(' ')}: every replica exact`,
    );
  }, Math.max(240_000, 5 * PHASE_MS));
});
