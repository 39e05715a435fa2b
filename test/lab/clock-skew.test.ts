import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabEvent } from '../../src/lab/lab-types.ts';
import { startTestCluster, waitFor, type TestCluster } from '../helpers/in-process-cluster.ts';

// The clock-skew fault (src/server/clock-skew.ts) on three in-process nodes: HTTP 27610-27612,
// peers 23610-23612. A skewed node's clock is the one it stamps HLC timestamps and events with.
const HOUR_MS = 3_600_000;
let c: TestCluster;

beforeAll(async () => {
  c = await startTestCluster(3, {}, { http: 27610, peer: 23610 });
}, 60_000);

afterAll(async () => {
  await c?.close();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- responses are checked field by field
async function call(i: number, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${c.url(i)}${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

const faults = (i: number, body: unknown) => call(i, 'POST', '/admin/faults', body);

/**
 * n3 is cut off, a `$set` goes through n3 (W=1), then — later in real time — another `$set`
 * of the same field goes through n1 (W=2). Heal, and return the value every replica settles on.
 */
async function concurrentSets(key: string, n3Skew: number): Promise<string> {
  expect((await faults(2, { isolate: ['n1', 'n2'], ...(n3Skew ? { clockSkewMs: n3Skew } : {}) })).status).toBe(200);
  expect((await faults(0, { isolate: ['n3'] })).status).toBe(200);
  expect((await faults(1, { isolate: ['n3'] })).status).toBe(200);
  const first = await call(2, 'PATCH', `/kv/${key}?w=1`, { color: { $set: 'earlier-via-n3' } });
  expect(first.status, JSON.stringify(first.json)).toBe(200);
  // Strictly later by the real clock, so without skew the n1 write must win (no tie for the node id to break).
  const firstDone = Date.now();
  await waitFor('the real clock to move on', () => Date.now() > firstDone + 2);
  const second = await call(0, 'PATCH', `/kv/${key}?w=2`, { color: { $set: 'later-via-n1' } });
  expect(second.status, JSON.stringify(second.json)).toBe(200);
  for (const i of [0, 1, 2]) expect((await call(i, 'DELETE', '/admin/faults')).status).toBe(200);
  // Converged: every replica itself holds the same document (hints and read repair carry the other write over).
  let settled = '';
  await waitFor(
    `${key} to converge on all three replicas`,
    async () => {
      await call(1, 'GET', `/kv/${key}?r=3`);
      const local = await Promise.all([0, 1, 2].map((i) => call(i, 'GET', `/kv/${key}?local=true`)));
      const colors = local.map((r) => (r.status === 200 ? (r.json as { color?: string }).color : undefined));
      settled = colors[0] ?? '';
      return colors.every((v) => v !== undefined && v === colors[0]);
    },
    30_000,
  );
  return settled;
}

describe('clock skew fault', () => {
  it('[SKEW1] POST /admin/faults sets clockSkewMs; GET and /admin/status report it; DELETE clears it', async () => {
    const set = await faults(2, { clockSkewMs: 90_000 });
    expect(set.status).toBe(200);
    expect(set.json.faults).toEqual({ clockSkewMs: 90_000 });
    expect((await call(2, 'GET', '/admin/faults')).json.faults).toEqual({ clockSkewMs: 90_000 });
    expect((await call(2, 'GET', '/admin/status')).json.faults).toEqual({ clockSkewMs: 90_000 });
    expect(c.nodes[2]!.clock.now() - Date.now()).toBeGreaterThanOrEqual(90_000 - 50);
    // A POST replaces the whole set: a spec without clockSkewMs sets the clock right.
    expect((await faults(2, { dropRate: 0 })).json.faults).toEqual({ dropRate: 0 });
    await faults(2, { clockSkewMs: -5000 });
    expect((await call(2, 'DELETE', '/admin/faults')).json.faults).toEqual({});
    expect(c.nodes[2]!.clock.skewMs).toBe(0);
  });

  it('[SKEW2] a bad clockSkewMs is 400 KV_BAD_REQUEST and changes nothing', async () => {
    await faults(2, { clockSkewMs: 1000 });
    for (const body of [{ clockSkewMs: '1h' }, { clockSkewMs: 1.5 }, { clockSkewMs: 86_400_001 }, { clockSkewMs: -86_400_001 }, { clockSkewMs: null }, { clockSkewMs: 5, isolate: 'n1' }]) {
      const r = await faults(2, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error.code).toBe('KV_BAD_REQUEST');
    }
    expect((await faults(2, { clockSkewMs: 'x' })).json.error.details.field).toBe('clockSkewMs');
    expect((await call(2, 'GET', '/admin/faults')).json.faults).toEqual({ clockSkewMs: 1000 });
    await call(2, 'DELETE', '/admin/faults');
  });

  it('[SKEW3] a skewed node stamps its events with its own clock', async () => {
    const seen: LabEvent[] = [];
    const off = c.nodes[2]!.node.events.subscribe((e) => void seen.push(e as LabEvent));
    try {
      await faults(2, { clockSkewMs: HOUR_MS });
      const e = seen.find((x) => x.type === 'faults');
      expect(e).toBeDefined();
      expect(e!.atMs - Date.now()).toBeGreaterThan(HOUR_MS - 5000);
      expect((e as unknown as { faults: unknown }).faults).toEqual({ clockSkewMs: HOUR_MS });
    } finally {
      off();
      await call(2, 'DELETE', '/admin/faults');
    }
  });

  it('[SKEW5] a node whose clock jumps an hour keeps seeing its peers up (failure detection runs on the real clock)', async () => {
    const n3 = c.nodes[2]!.node;
    try {
      expect((await faults(2, { clockSkewMs: HOUR_MS })).status).toBe(200);
      // Over two gossip rounds and more, n3 must never judge n1 or n2 anything but up.
      const until = Date.now() + 1_500;
      while (Date.now() < until) {
        expect([n3.memberState('n1'), n3.memberState('n2')]).toEqual(['up', 'up']);
        await new Promise((r) => setTimeout(r, 20));
      }
      expect((await faults(2, { clockSkewMs: -HOUR_MS })).status).toBe(200);
      expect([n3.memberState('n1'), n3.memberState('n2')]).toEqual(['up', 'up']);
    } finally {
      await call(2, 'DELETE', '/admin/faults');
    }
  });

  it('[SKEW4] LWW: without skew the later $set wins; with n3 an hour ahead, its earlier $set wins (documented last-writer-wins by HLC)', async () => {
    expect(await concurrentSets('skew/control', 0)).toBe('later-via-n1');
    expect(await concurrentSets('skew/ahead', HOUR_MS)).toBe('earlier-via-n3');
  }, 90_000);
});
