import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { LabEvent, LabNode, LabRun, MetricPoint } from '../../src/lab/lab-types.ts';
import { parseRun, stateAt } from '../../src/lab/run-replay.ts';
import { api, startLabHarness, until, type LabHarness } from './lab-harness.ts';

// Lab API against a real cluster of three `nosqldb node` processes (HTTP 27620-27622, peers 23620-23622, Lab 23625).
let h: LabHarness;
const events: LabEvent[] = [];
let socket: WebSocket;

const nodes = async (): Promise<LabNode[]> => (await api(h.url, 'GET', '/api/cluster')).json.nodes as LabNode[];
const health = async (id: string): Promise<string | undefined> => (await nodes()).find((n) => n.id === id)?.health;
const faultsOf = async (id: string): Promise<unknown> => (await (await fetch(`${h.cluster.urlOf(id)}/admin/faults`)).json()).faults;

beforeAll(async () => {
  h = await startLabHarness({ basePort: 27620, peerBasePort: 23620, labPort: 23625, web: false });
  socket = new WebSocket(`ws://127.0.0.1:23625/api/events`);
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
      expect(n.url).toMatch(/^http:\/\/127\.0\.0\.1:2762[012]$/);
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
      ['POST', '/api/nodes/n1/skew', { clockSkewMs: '1h' }],
      ['POST', '/api/nodes/n1/skew', { clockSkewMs: 0.5 }],
      ['POST', '/api/nodes/n1/skew', { clockSkewMs: 86_400_001 }],
      ['POST', '/api/nodes/n1/skew', {}],
      ['POST', '/api/nodes/n1/skew', { clockSkewMs: 1000, by: 'me' }],
      ['POST', '/api/nodes/n1/skew', [1000]],
    ];
    for (const [method, path, body] of cases) {
      const { status, json } = await api(h.url, method, path, body);
      expect(status, `${method} ${path} ${JSON.stringify(body)}`).toBe(400);
      expect(json.error.code).toBe('KV_BAD_REQUEST');
      expect(typeof json.error.message).toBe('string');
    }
    const missing = await api(h.url, 'POST', '/api/nodes/n9/kill');
    expect(missing.status).toBe(404);
    expect((await api(h.url, 'POST', '/api/nodes/n9/skew', { clockSkewMs: 1000 })).json.error.code).toBe('KV_NOT_FOUND');
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

  it('clock skew per node: set on the node with the rest of its faults, shown on its card, as a band and in the events; heal sets it right', async () => {
    const res = await api(h.url, 'POST', '/api/nodes/n3/skew', { clockSkewMs: 3_600_000 });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.json.plan.skewMs).toEqual({ n3: 3_600_000 });
    expect(await faultsOf('n3')).toEqual({ clockSkewMs: 3_600_000 });
    expect(await faultsOf('n1')).toEqual({});
    // Skew and network faults travel together in the node's one fault set.
    await api(h.url, 'POST', '/api/partition', { groups: [['n1', 'n2'], ['n3']] });
    expect(await faultsOf('n3')).toEqual({ isolate: ['n1', 'n2'], clockSkewMs: 3_600_000 });
    await until('n3 card to show its skew', 5_000, async () => (await nodes()).find((n) => n.id === 'n3')?.clockSkewMs === 3_600_000);
    const state = (await api(h.url, 'GET', '/api/state')).json;
    expect(state.faults.find((f: { kind: string; endT: unknown }) => f.kind === 'skew' && f.endT === null).label).toBe('n3 clock +1h');
    const nodeEvent = await until('n3 faults event stamped by its own clock', 5_000, () =>
      events.find((e) => e.node === 'n3' && e.type === 'faults' && (e.faults as { clockSkewMs?: number }).clockSkewMs === 3_600_000),
    );
    expect(nodeEvent.atMs - nodeEvent.receivedAtMs!).toBeGreaterThan(3_600_000 - 5_000);
    expect(events.some((e) => e.type === 'lab.skew' && e.target === 'n3' && e.skewMs === 3_600_000)).toBe(true);

    await api(h.url, 'POST', '/api/heal');
    for (const id of ['n1', 'n2', 'n3']) expect(await faultsOf(id)).toEqual({});
    const healed = (await api(h.url, 'GET', '/api/state')).json;
    expect(healed.plan.skewMs).toEqual({});
    expect(healed.faults.filter((f: { kind: string; endT: unknown }) => f.kind === 'skew' && f.endT === null)).toEqual([]);
    // Setting 0 is how one node's clock is set right without healing the rest.
    await api(h.url, 'POST', '/api/nodes/n2/skew', { clockSkewMs: -30_000 });
    expect(await faultsOf('n2')).toEqual({ clockSkewMs: -30_000 });
    await api(h.url, 'POST', '/api/nodes/n2/skew', { clockSkewMs: 0 });
    expect(await faultsOf('n2')).toEqual({});
    await until('n3 up again', 20_000, async () => (await health('n3')) === 'up');
  });

  it('replication lag: hints for a killed replica show as backlog on the others, and drain after its restart', async () => {
    const backlog = async (): Promise<Record<string, number | null>> => {
      const series = (await api(h.url, 'GET', '/api/state')).json.series as Record<string, MetricPoint[]>;
      return Object.fromEntries(Object.entries(series).map(([id, pts]) => {
        const p = pts[pts.length - 1];
        return [id, p && p.hintsPending !== null ? p.hintsPending + (p.handoffKeysPending ?? 0) : null];
      }));
    };
    await api(h.url, 'POST', '/api/nodes/n3/kill');
    await api(h.url, 'POST', '/api/traffic/start', { rate: 30, readRatio: 0.5, keys: 20 });
    const during = await until('a backlog on n1 or n2 while n3 is down', 20_000, async () => {
      const b = await backlog();
      return ((b.n1 ?? 0) > 0 || (b.n2 ?? 0) > 0) && b;
    });
    expect(during.n3).toBeNull(); // a killed node has no gauge: a gap, not a zero
    await api(h.url, 'POST', '/api/traffic/stop');
    await api(h.url, 'POST', '/api/nodes/n3/restart');
    await until('the backlog to drain once n3 is back', 40_000, async () => {
      const b = await backlog();
      return b.n1 === 0 && b.n2 === 0 && b.n3 === 0;
    });
    const text = await (await fetch(`${h.cluster.urlOf('n1')}/metrics`)).text();
    expect(text).toMatch(/^nosqldb_handoff_keys_pending\{node="n1"\} \d+$/m);
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
    const run = parseRun((await api(h.url, 'GET', '/api/run')).json) as LabRun & Required<Pick<LabRun, 'series' | 'nodeStates' | 'checkerSeries' | 'rings' | 'endT'>>;
    expect(run.format).toBe('nosqldb-lab-run/2');
    expect(run.history.length).toBeGreaterThan(10);
    const op = run.history[0]!;
    expect(Object.keys(op).sort()).toEqual(['completeT', 'f', 'id', 'invokeT', 'key', 'process', 'status', 'type', 'value']);
    expect(run.events.some((e: LabEvent) => e.type === 'lab.traffic-start')).toBe(true);
    // What a replay needs: timestamped samples, node states, checker counters, rings, faults.
    expect(Object.keys(run.series).sort()).toEqual(['n1', 'n2', 'n3']);
    expect(run.series.n1!.some((p) => p.rps > 0 && typeof p.hintsPending === 'number' && typeof p.keys === 'number')).toBe(true);
    expect(run.nodeStates.some((s) => s.id === 'n3' && s.health === 'down')).toBe(true);
    expect(run.checkerSeries[run.checkerSeries.length - 1]!.reads).toBe(run.checker.reads);
    expect(run.rings.length).toBeGreaterThan(0);
    expect(run.faults.some((f) => f.kind === 'kill')).toBe(true);
    expect(run.events.every((e) => typeof e.receivedAtMs === 'number')).toBe(true);
    // The dashboard as of a moment n3 was killed shows it down, and before that up.
    const kill = run.faults.find((f) => f.kind === 'kill' && f.endT !== null)!;
    expect(stateAt(run, (kill.startT + kill.endT!) / 2).state.nodes.find((n) => n.id === 'n3')!.health).toBe('down');
    expect(stateAt(run, kill.startT - 1).state.nodes.find((n) => n.id === 'n3')!.health).toBe('up');
    expect(stateAt(run, run.endT).state.checker.reads).toBe(run.checker.reads);
  });

  it('nodes serve /metrics in Prometheus text with request counts and latency histograms', async () => {
    const text = await (await fetch(`${h.cluster.urlOf('n1')}/metrics`)).text();
    expect(text).toMatch(/^# TYPE nosqldb_http_requests_total counter$/m);
    expect(text).toMatch(/^nosqldb_http_requests_total\{node="n1",op="put",status="200"\} \d+$/m);
    expect(text).toMatch(/^nosqldb_http_request_duration_seconds_bucket\{node="n1",op="get",status="\d+",le="\+Inf"\} \d+$/m);
    expect(text).toMatch(/^nosqldb_keys\{node="n1"\} \d+$/m);
  });
});
