import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { LabEvent, LabNode } from '../../src/lab/lab-types.ts';
import { api, startLabHarness, until, type LabHarness } from './lab-harness.ts';

// Lab API against a real cluster of three `nosqldb node` processes (ports 27101-27103, Lab 23001).
let h: LabHarness;
const events: LabEvent[] = [];
let socket: WebSocket;

const nodes = async (): Promise<LabNode[]> => (await api(h.url, 'GET', '/api/cluster')).json.nodes as LabNode[];
const health = async (id: string): Promise<string | undefined> => (await nodes()).find((n) => n.id === id)?.health;
const faultsOf = async (id: string): Promise<unknown> => (await (await fetch(`${h.cluster.urlOf(id)}/admin/faults`)).json()).faults;

beforeAll(async () => {
  h = await startLabHarness({ basePort: 27101, labPort: 23001, web: false });
  socket = new WebSocket(`ws://127.0.0.1:23001/api/events`);
  socket.on('message', (d: Buffer) => events.push(JSON.parse(d.toString('utf8')) as LabEvent));
  await new Promise((res, rej) => socket.once('open', res).once('error', rej));
}, 60_000);

afterAll(async () => {
  socket?.close();
  await h?.close();
});

describe('Lab control API', () => {
  it('lists three nodes, each up as its peers see it', async () => {
    const list = await until('three nodes up', 15_000, async () => {
      const ns = await nodes();
      return ns.length === 3 && ns.every((n) => n.health === 'up') && ns;
    });
    expect(list.map((n) => n.id)).toEqual(['n1', 'n2', 'n3']);
    for (const n of list) {
      expect(n.process).toBe('running');
      expect(n.url).toMatch(/^http:\/\/127\.0\.0\.1:2710[123]$/);
      expect(typeof n.keys).toBe('number');
      expect(Object.values(n.seenBy)).toEqual(['up', 'up']);
    }
  });

  it('refuses malformed requests with 4xx JSON errors', async () => {
    const cases: [string, string, unknown][] = [
      ['POST', '/api/partition', { groups: [['n1', 'n9'], ['n3']] }],
      ['POST', '/api/partition', { groups: 'n1' }],
      ['POST', '/api/partition', { groups: [['n1'], ['n1']] }],
      ['POST', '/api/partition', { groups: [['n1']], extra: 1 }],
      ['POST', '/api/partition', '{"groups": ['],
      ['POST', '/api/partition', []],
      ['POST', '/api/links', { links: [{ a: 'n1', b: 'n1', cut: true }] }],
      ['POST', '/api/links', { links: [{ a: 'n1', b: 'n2', delayMs: -5 }] }],
      ['POST', '/api/links', { loss: { n2: 2 } }],
      ['POST', '/api/traffic/start', { rate: 'fast' }],
      ['POST', '/api/traffic/start', { r: 7 }],
      ['POST', '/api/nodes', { zone: 'a b' }],
      ['POST', '/api/nodes/n1/restart', undefined],
    ];
    for (const [method, path, body] of cases) {
      const { status, json } = await api(h.url, method, path, body);
      expect(status, `${method} ${path} ${JSON.stringify(body)}`).toBe(400);
      expect(json.error.code).toBe('KV_BAD_REQUEST');
      expect(typeof json.error.message).toBe('string');
    }
    const missing = await api(h.url, 'POST', '/api/nodes/n9/kill');
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe('KV_NOT_FOUND');
    const unknown = await api(h.url, 'GET', '/api/nothing');
    expect(unknown.status).toBe(404);
  });

  it('partition sets isolate lists on every node, heal clears them and measures convergence', async () => {
    const res = await api(h.url, 'POST', '/api/partition', { groups: [['n1', 'n2'], ['n3']] });
    expect(res.status).toBe(200);
    expect(await faultsOf('n1')).toEqual({ isolate: ['n3'] });
    expect(await faultsOf('n2')).toEqual({ isolate: ['n3'] });
    expect(await faultsOf('n3')).toEqual({ isolate: ['n1', 'n2'] });
    // The minority side drops out as its peers notice (gossip-based liveness).
    await until('n3 seen as not up', 20_000, async () => (await health('n3')) === 'down' || (await health('n3')) === 'suspect');
    await until('lab.partition and node faults events', 5_000, () => events.some((e) => e.type === 'lab.partition') && events.some((e) => e.type === 'faults' && e.node === 'n3'));

    const healed = await api(h.url, 'POST', '/api/heal');
    expect(healed.status).toBe(200);
    for (const id of ['n1', 'n2', 'n3']) expect(await faultsOf(id)).toEqual({});
    const state = await until('a converged measurement', 30_000, async () => {
      const s = (await api(h.url, 'GET', '/api/state')).json;
      return s.convergence.some((c: { state: string }) => c.state === 'converged') && s;
    });
    expect(state.faults.find((f: { kind: string }) => f.kind === 'partition').endT).not.toBeNull();
    await until('n3 up again', 20_000, async () => (await health('n3')) === 'up');
  });

  it('single links: a cut isolates both ends, a delay is set on one end, loss per node', async () => {
    const res = await api(h.url, 'POST', '/api/links', { links: [{ a: 'n1', b: 'n3', cut: true }, { a: 'n2', b: 'n1', delayMs: 40 }], loss: { n2: 0.05 } });
    expect(res.status).toBe(200);
    expect(await faultsOf('n1')).toEqual({ isolate: ['n3'], delayMs: { n2: 40 } });
    expect(await faultsOf('n2')).toEqual({ dropRate: 0.05 });
    expect(await faultsOf('n3')).toEqual({ isolate: ['n1'] });
    await api(h.url, 'POST', '/api/heal');
    for (const id of ['n1', 'n2', 'n3']) expect(await faultsOf(id)).toEqual({});
  });

  it('kill makes a node down at once; restart brings it back up on its data', async () => {
    const pidBefore = (await nodes()).find((n) => n.id === 'n3')!.pid;
    const killed = await api(h.url, 'POST', '/api/nodes/n3/kill');
    expect(killed.status).toBe(200);
    expect(killed.json.node.process).toBe('killed');
    expect(killed.json.node.health).toBe('down');
    await expect(fetch(`${h.cluster.urlOf('n3')}/health`, { signal: AbortSignal.timeout(1000) })).rejects.toThrow();

    const restarted = await api(h.url, 'POST', '/api/nodes/n3/restart');
    expect(restarted.status).toBe(200);
    const up = await until('n3 up after restart', 20_000, async () => (await nodes()).find((n) => n.id === 'n3' && n.health === 'up'));
    expect(up.pid).not.toBe(pidBefore);
    expect(events.some((e) => e.type === 'lab.kill' && e.target === 'n3')).toBe(true);
    expect(events.some((e) => e.type === 'lab.restart' && e.target === 'n3')).toBe(true);
    // The Lab follows the restarted node's event stream again.
    const seen = events.length;
    await until('node events from the restarted n3', 10_000, async () => {
      await fetch(`${h.cluster.urlOf('n3')}/admin/faults`, { method: 'DELETE' });
      return events.slice(seen).some((e) => e.node === 'n3' && e.type === 'faults');
    });
  });

  it('traffic runs, is checked, and the run exports as history plus events', async () => {
    const started = await api(h.url, 'POST', '/api/traffic/start', { rate: 40, keys: 5 });
    expect(started.status).toBe(200);
    const s = await until('checked reads and writes', 15_000, async () => {
      const st = (await api(h.url, 'GET', '/api/state')).json;
      return st.checker.reads > 5 && st.checker.acknowledgedWrites > 5 && st;
    });
    expect(s.traffic.running).toBe(true);
    await until('a throughput point above zero', 10_000, async () => {
      const st = (await api(h.url, 'GET', '/api/state')).json;
      return Object.values(st.series as Record<string, { rps: number }[]>).some((pts) => pts.some((p) => p.rps > 0));
    });
    await api(h.url, 'POST', '/api/traffic/stop');
    const run = (await api(h.url, 'GET', '/api/run')).json;
    expect(run.format).toBe('nosqldb-lab-run/1');
    expect(run.history.length).toBeGreaterThan(10);
    const op = run.history[0];
    expect(Object.keys(op).sort()).toEqual(['completeT', 'f', 'id', 'invokeT', 'key', 'process', 'status', 'type', 'value']);
    expect(run.events.some((e: LabEvent) => e.type === 'lab.traffic-start')).toBe(true);
  });

  it('nodes serve /metrics in Prometheus text with request counts and latency histograms', async () => {
    const text = await (await fetch(`${h.cluster.urlOf('n1')}/metrics`)).text();
    expect(text).toMatch(/^# TYPE nosqldb_http_requests_total counter$/m);
    expect(text).toMatch(/^nosqldb_http_requests_total\{node="n1",op="put",status="200"\} \d+$/m);
    expect(text).toMatch(/^nosqldb_http_request_duration_seconds_bucket\{node="n1",op="get",status="\d+",le="\+Inf"\} \d+$/m);
    expect(text).toMatch(/^nosqldb_keys\{node="n1"\} \d+$/m);
  });
});
