import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../helpers/in-process-cluster.ts';

let c: TestCluster;
beforeAll(async () => {
  c = await startTestCluster(3);
});
afterAll(async () => {
  await c?.close();
});

const put = (i: number, key: string, body: string, headers: Record<string, string> = {}, query = '') =>
  fetch(`${c.url(i)}/kv/${key}${query}`, { method: 'PUT', headers: { 'content-type': 'application/json', ...headers }, body });
const get = (i: number, key: string, query = '') => fetch(`${c.url(i)}/kv/${key}${query}`);

describe('node HTTP API', () => {
  it('[KV1] a value written through one node is read through another, with its content type', async () => {
    const w = await put(0, 'greeting', '{"hello":"world"}');
    expect(w.status).toBe(200);
    const body = (await w.json()) as { context: string; vectorClock: Record<string, number> };
    expect(typeof body.context).toBe('string');
    expect(Object.values(body.vectorClock)).toEqual([1]);
    const r = await get(2, 'greeting');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(await r.json()).toEqual({ hello: 'world' });
    expect(r.headers.get('x-context')).toBe(body.context);
    expect(JSON.parse(r.headers.get('x-vector-clock')!)).toEqual(body.vectorClock);
  });

  it('[KV2] binary values keep their bytes and content type; keys may contain slashes', async () => {
    const bytes = new Uint8Array([0, 255, 1, 2, 3, 128]);
    const w = await fetch(`${c.url(1)}/kv/cdn/img/a.png`, { method: 'PUT', headers: { 'content-type': 'image/png' }, body: bytes });
    expect(w.status).toBe(200);
    const r = await get(0, 'cdn/img/a.png');
    expect(r.headers.get('content-type')).toBe('image/png');
    expect(new Uint8Array(await r.arrayBuffer())).toEqual(bytes);
  });

  it('[VV3] two blind writes through two nodes are siblings; a write with their context resolves them', async () => {
    await put(0, 'doc', '"alice"');
    await put(1, 'doc', '"bob"');
    const r = await get(2, 'doc');
    expect(r.status).toBe(300);
    const s = (await r.json()) as { siblings: { value: unknown; vectorClock: Record<string, number> }[]; context: string };
    expect(s.siblings.map((x) => x.value).sort()).toEqual(['alice', 'bob']);
    const [a, b] = s.siblings.map((x) => x.vectorClock);
    expect(concurrent(a!, b!)).toBe(true);
    const w = await put(2, 'doc', '"merged"', { 'x-context': s.context });
    const wc = ((await w.json()) as { vectorClock: Record<string, number> }).vectorClock;
    expect(dominates(wc, a!) && dominates(wc, b!)).toBe(true);
    for (const i of [0, 1, 2]) {
      const rr = await get(i, 'doc', '?r=3');
      expect(rr.status).toBe(200);
      expect(await rr.json()).toBe('merged');
    }
  });

  it('[VV4] a stale context produces a sibling, never a silent overwrite', async () => {
    const first = (await (await put(0, 'stale', '1')).json()) as { context: string };
    const second = await put(0, 'stale', '2', { 'x-context': first.context });
    expect(second.status).toBe(200);
    await put(1, 'stale', '3', { 'x-context': first.context });
    const r = await get(2, 'stale', '?r=3');
    expect(r.status).toBe(300);
    const s = (await r.json()) as { siblings: { value: unknown }[] };
    expect(s.siblings.map((x) => x.value).sort()).toEqual([2, 3]);
  });

  it('[KV3] delete hides the key and returns a context; listing skips it', async () => {
    const w = (await (await put(0, 'list/a', '1')).json()) as { context: string };
    await put(0, 'list/b', '2');
    const d = await fetch(`${c.url(1)}/kv/list/a`, { method: 'DELETE', headers: { 'x-context': w.context } });
    expect(d.status).toBe(200);
    expect(typeof ((await d.json()) as { context: string }).context).toBe('string');
    const r = await get(2, 'list/a');
    expect(r.status).toBe(404);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('KV_NOT_FOUND');
    const l = (await (await fetch(`${c.url(2)}/kv?prefix=list/`)).json()) as { keys: string[]; truncated: boolean };
    expect(l).toEqual({ keys: ['list/b'], truncated: false });
    const l1 = (await (await fetch(`${c.url(2)}/kv?prefix=list/&limit=1`)).json()) as { keys: string[]; truncated: boolean };
    expect(l1.keys.length).toBe(1);
  });

  it('[KV4] ?local=true shows what one node stores, and every replica stores a W=3 write', async () => {
    await put(0, 'everywhere', '"x"', {}, '?w=3');
    for (const i of [0, 1, 2]) {
      const r = await get(i, 'everywhere', '?local=true');
      expect(r.status).toBe(200);
      expect(await r.json()).toBe('x');
    }
  });

  it('[ERR1] bad input gets a 4xx with a stable code and stores nothing', async () => {
    const cases: [Promise<Response>, number, string][] = [
      [put(0, 'bad1', '{"a":'), 400, 'KV_BAD_REQUEST'],
      [put(0, 'bad2', '{"$inc":1}'), 400, 'KV_BAD_REQUEST'],
      [put(0, 'bad3', '{"a":{"b":{"$x":1}}}'), 400, 'KV_BAD_REQUEST'],
      [put(0, 'k'.repeat(513), '1'), 400, 'KV_BAD_REQUEST'],
      [fetch(`${c.url(0)}/kv/`, { method: 'PUT', body: '1' }), 400, 'KV_BAD_REQUEST'],
      [put(0, 'bad4', '1', {}, '?w=4'), 400, 'KV_BAD_REQUEST'],
      [put(0, 'bad5', '1', {}, '?w=zero'), 400, 'KV_BAD_REQUEST'],
      [get(0, 'bad6', '?r=0'), 400, 'KV_BAD_REQUEST'],
      [put(0, 'bad7', '1', {}, '?timeout=-1'), 400, 'KV_BAD_REQUEST'],
      [put(0, 'bad8', '1', { 'x-context': 'not a context!' }), 400, 'KV_BAD_REQUEST'],
      [put(0, 'bad9', '"' + 'x'.repeat(1024 * 1024 + 10) + '"'), 413, 'KV_PAYLOAD_TOO_LARGE'],
    ];
    for (const [p, status, code] of cases) {
      const res = await p;
      expect(res.status).toBe(status);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
    }
    const l = (await (await fetch(`${c.url(1)}/kv?prefix=bad`)).json()) as { keys: string[] };
    expect(l.keys).toEqual([]);
    // A 512-byte key is fine.
    expect((await put(0, 'k'.repeat(512), '1')).status).toBe(200);
  });

  it('[ADM1] status and ring describe the cluster', async () => {
    const s = (await (await fetch(`${c.url(0)}/admin/status`)).json()) as {
      id: string;
      members: { id: string; state: string }[];
      partitions: number[];
    };
    expect(s.id).toBe('n1');
    expect(s.members.map((m) => [m.id, m.state])).toEqual([
      ['n1', 'up'],
      ['n2', 'up'],
      ['n3', 'up'],
    ]);
    const ring = (await (await fetch(`${c.url(1)}/admin/ring`)).json()) as {
      n: number;
      partitions: { index: number; owner: string; preferenceList: string[]; start: string; end: string }[];
    };
    expect(ring.n).toBe(3);
    expect(ring.partitions.length).toBe(64);
    for (const p of ring.partitions) expect(new Set(p.preferenceList).size).toBe(3);
    expect(ring.partitions.filter((p) => p.owner === 'n1').map((p) => p.index)).toEqual(s.partitions);
  });
});

function dominates(a: Record<string, number>, b: Record<string, number>): boolean {
  return Object.entries(b).every(([k, v]) => (a[k] ?? 0) >= v);
}
function concurrent(a: Record<string, number>, b: Record<string, number>): boolean {
  return !dominates(a, b) && !dominates(b, a);
}
