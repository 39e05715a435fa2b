import { describe, expect, it } from 'vitest';
import { RegisterChecker, type HistoryOp } from '../../src/lab/checker.ts';
import { faultSpecsFor, NO_FAULTS } from '../../src/lab/fault-plan.ts';
import { healthOf } from '../../src/lab/cluster-monitor.ts';
import { parseKvScrape, pointBetween } from '../../src/lab/metrics-series.ts';
import { parseRun, runEndT, stateAt, RunFormatError } from '../../src/lab/run-replay.ts';
import { skewLabel } from '../../src/lab/skew-label.ts';
import type { LabEvent, LabRun, MetricPoint } from '../../src/lab/lab-types.ts';

const ids = ['n1', 'n2', 'n3'];

describe('fault plan → node fault specs', () => {
  it('no faults: every node gets an empty spec', () => {
    expect([...faultSpecsFor(NO_FAULTS, ids).values()]).toEqual([{}, {}, {}]);
  });
  it('groups isolate each other; nodes in no group form one more group', () => {
    const s = faultSpecsFor({ groups: [['n1'], ['n2']], links: [], loss: {}, skewMs: {} }, [...ids, 'n4']);
    expect(s.get('n1')).toEqual({ isolate: ['n2', 'n3', 'n4'] });
    expect(s.get('n3')).toEqual({ isolate: ['n1', 'n2'] });
  });
  it('a delayed link is delayed at one end only; loss is per node', () => {
    const s = faultSpecsFor({ groups: [], links: [{ a: 'n3', b: 'n2', delayMs: 80 }], loss: { n1: 0.5 }, skewMs: {} }, ids);
    expect(s.get('n2')).toEqual({ delayMs: { n3: 80 } });
    expect(s.get('n3')).toEqual({});
    expect(s.get('n1')).toEqual({ dropRate: 0.5 });
  });
  it('clock skew is per node and travels with the network faults; 0 is no fault', () => {
    const s = faultSpecsFor({ groups: [['n1', 'n2'], ['n3']], links: [], loss: {}, skewMs: { n3: 3_600_000, n2: 0 } }, ids);
    expect(s.get('n3')).toEqual({ isolate: ['n1', 'n2'], clockSkewMs: 3_600_000 });
    expect(s.get('n2')).toEqual({ isolate: ['n3'] });
  });
  it('skew labels read as durations', () => {
    expect([skewLabel(3_600_000), skewLabel(-30_000), skewLabel(5_400_000), skewLabel(250), skewLabel(0), skewLabel(86_400_000 + 1500)]).toEqual(['+1h', '-30s', '+1h 30m', '+250ms', '±0', '+1d 1s 500ms']);
  });
});

describe('register checker', () => {
  const op = (o: Partial<HistoryOp> & Pick<HistoryOp, 'f' | 'value' | 'invokeT' | 'completeT'>): HistoryOp => ({ id: 0, process: 'n1', key: 'k', type: 'ok', status: 200, ...o });
  it('flags a read that missed a write acknowledged before it began, not one concurrent with it', () => {
    const c = new RegisterChecker();
    c.observe(op({ f: 'write', value: 'a', invokeT: 0, completeT: 10 }));
    c.observe(op({ f: 'write', value: 'b', invokeT: 20, completeT: 30 }));
    expect(c.observe(op({ f: 'read', value: ['a'], invokeT: 25, completeT: 40 }))).toEqual([]);
    expect(c.observe(op({ f: 'read', value: ['b'], invokeT: 35, completeT: 40 }))).toEqual([]);
    expect(c.observe(op({ f: 'read', value: ['a'], invokeT: 35, completeT: 45 }))[0]?.kind).toBe('stale-read');
    expect(c.observe(op({ f: 'read', value: ['a', 'b'], invokeT: 50, completeT: 55 }))).toEqual([]);
    const r = c.report();
    expect([r.reads, r.staleReads, r.siblingReads]).toEqual([4, 1, 1]);
  });
  it('flags a lost write once replicas agree without it', () => {
    const c = new RegisterChecker();
    c.observe(op({ f: 'write', value: 'a', invokeT: 0, completeT: 10 }));
    c.observe(op({ f: 'write', value: 'b', invokeT: 20, completeT: 30 }));
    expect(c.final('k', ['b'], 100)).toEqual([]);
    expect(c.final('k', ['a'], 100)[0]?.kind).toBe('lost-write');
    expect(c.final('k', ['a'], 200)).toEqual([]);
    expect(c.report().lostWrites).toBe(1);
  });
  it('a read may return a write still in flight: that is not stale', () => {
    const c = new RegisterChecker();
    c.observe(op({ f: 'write', value: 'a', invokeT: 0, completeT: 10 }));
    c.invoke('write', 'k', 'b', 20);
    expect(c.observe(op({ f: 'read', value: ['b'], invokeT: 25, completeT: 30 }))).toEqual([]);
  });
});

describe('node health on a card', () => {
  it('a killed process is down whatever its peers say; a serving node takes its peers majority', () => {
    expect(healthOf({ state: 'killed' }, false, { n1: 'up', n2: 'up' })).toBe('down');
    expect(healthOf({ state: 'running' }, true, { n1: 'down', n2: 'down' })).toBe('down');
    expect(healthOf({ state: 'running' }, true, { n2: 'up', n3: 'down' })).toBe('up');
    expect(healthOf({ state: 'running' }, false, { n1: 'up' })).toBe('down');
    expect(healthOf({ state: 'starting' }, false, {})).toBe('starting');
  });
});

describe('metrics scrape', () => {
  const text = (n: number, fast: number): string =>
    [
      `nosqldb_http_requests_total{node="n1",op="get",status="200"} ${n}`,
      `nosqldb_http_requests_total{node="n1",op="admin",status="200"} 99`,
      `nosqldb_http_request_duration_seconds_bucket{node="n1",op="get",status="200",le="0.001"} ${fast}`,
      `nosqldb_http_request_duration_seconds_bucket{node="n1",op="get",status="200",le="0.01"} ${n}`,
      `nosqldb_http_request_duration_seconds_bucket{node="n1",op="get",status="200",le="+Inf"} ${n}`,
    ].join('\n');
  it('rates and quantiles come from the difference of two scrapes, admin requests excluded', () => {
    const a = parseKvScrape(text(100, 100), 0);
    const b = parseKvScrape(text(300, 200), 2000);
    const p = pointBetween(a, b, 2000);
    expect(p.rps).toBe(100);
    expect(p.p50Ms).toBeCloseTo(1);
    expect(p.p99Ms).toBeGreaterThan(9);
    expect(p.p99Ms).toBeLessThanOrEqual(10);
  });
  it('replication gauges (hints, handoff keys, keys) are copied into the point; absent ones are null', () => {
    const gauges = ['nosqldb_hints_pending{node="n1"} 7', 'nosqldb_handoff_keys_pending{node="n1"} 3', 'nosqldb_keys{node="n1"} 40', 'constructor{node="n1"} 1'].join('\n');
    const p = pointBetween(undefined, parseKvScrape(`${text(1, 1)}\n${gauges}`, 0), 0);
    expect([p.hintsPending, p.handoffKeysPending, p.keys]).toEqual([7, 3, 40]);
    const q = pointBetween(undefined, parseKvScrape(text(1, 1), 0), 0);
    expect([q.hintsPending, q.handoffKeysPending, q.keys]).toEqual([null, null, null]);
  });
  it('a counter that went down (restart) starts from zero', () => {
    const p = pointBetween(parseKvScrape(text(300, 300), 0), parseKvScrape(text(10, 10), 1000), 1000);
    expect(p.rps).toBe(10);
  });
});

describe('replay of a recorded run', () => {
  const START = 1_700_000_000_000;
  const ev = (t: number, type: string, fields: Record<string, unknown> = {}, node = 'lab'): LabEvent => ({ ...fields, type, node, atMs: START + t, receivedAtMs: START + t });
  const point = (t: number, hints: number | null, keys = 5): MetricPoint => ({ t, rps: 10, p50Ms: 1, p99Ms: 2, errorsPerS: 0, hintsPending: hints, handoffKeysPending: hints === null ? null : 0, keys });
  const run: LabRun = {
    format: 'nosqldb-lab-run/2',
    startedAtMs: START,
    exportedAtMs: START + 20_000,
    endT: 20_000,
    nodes: ['n1', 'n2', 'n3'].map((id, i) => ({ id, url: `http://127.0.0.1:${7001 + i}`, zone: 'default' })),
    history: [
      { id: 1, process: 'n1', f: 'write', key: 'lab/k0', value: 'a', invokeT: 1000, completeT: 1010, type: 'ok', status: 200 },
      { id: 2, process: 'n2', f: 'read', key: 'lab/k0', value: ['a'], invokeT: 6000, completeT: 6010, type: 'ok', status: 200 },
      { id: 3, process: 'n3', f: 'write', key: 'lab/k0', value: 'b', invokeT: 9000, completeT: 11_000, type: 'info', status: 0 },
    ],
    events: [
      ev(500, 'lab.traffic-start', { config: { rate: 5, readRatio: 0.5, keys: 1, r: 2, w: 2 } }),
      // A heal before the skew must not undo it (the plan is folded in order).
      ev(4000, 'lab.heal'),
      ev(5000, 'lab.kill', { target: 'n3' }),
      // A node an hour ahead: its own stamp is off, the Lab's receipt is not.
      { type: 'faults', node: 'n2', atMs: START + 3_600_000 + 7000, receivedAtMs: START + 7000 },
      ev(8000, 'lab.skew', { target: 'n2', skewMs: 3_600_000 }),
      ev(12_000, 'lab.heal'),
      ev(15_000, 'lab.traffic-stop'),
    ],
    faults: [
      { id: 1, kind: 'kill', label: 'n3 killed', startT: 5000, endT: 10_000 },
      { id: 2, kind: 'skew', label: 'n2 clock +1h', startT: 8000, endT: 12_000 },
    ],
    convergence: [{ id: 1, fault: 'restart n3', startT: 10_000, endT: 13_000, ms: 3000, method: 'merkle', state: 'converged', detail: '' }],
    checker: { name: 'register', reads: 1, writes: 2, acknowledgedWrites: 1, staleReads: 1, lostWrites: 0, siblingReads: 0, siblingRate: 0, anomalies: [{ t: 6010, kind: 'stale-read', key: 'lab/k0', detail: 'x' }] },
    series: { n1: [point(1000, 0), point(6000, 4), point(11_000, 0)], n3: [point(1000, 0), point(6000, null)] },
    trafficSeries: [{ t: 1000, ok: 1, failed: 0 }],
    nodeStates: [
      { t: 100, id: 'n3', health: 'up', process: 'running' },
      { t: 5005, id: 'n3', health: 'down', process: 'killed' },
      { t: 10_500, id: 'n3', health: 'up', process: 'running' },
    ],
    checkerSeries: [
      { t: 2000, reads: 0, writes: 1, acknowledgedWrites: 1, staleReads: 0, lostWrites: 0, siblingReads: 0 },
      { t: 7000, reads: 1, writes: 1, acknowledgedWrites: 1, staleReads: 1, lostWrites: 0, siblingReads: 0 },
    ],
    rings: [],
  };
  const at = (t: number) => stateAt(parseRun(JSON.parse(JSON.stringify(run))), t);

  it('shows every view as of the slider: node health, charts, faults, checker, convergence, traffic, events', () => {
    const early = at(3000);
    expect(early.state.nodes.find((n) => n.id === 'n3')!.health).toBe('up');
    expect(early.state.series.n1!.map((p) => p.t)).toEqual([1000]);
    expect(early.state.faults).toEqual([]);
    expect(early.state.checker.reads).toBe(0);
    expect(early.state.traffic).toMatchObject({ running: true, ops: 1, ok: 1 });
    expect(early.events.map((e) => e.type)).toEqual(['lab.traffic-start']);

    const down = at(9500);
    expect(down.state.nodes.find((n) => n.id === 'n3')).toMatchObject({ health: 'down', process: 'killed', hintsPending: null });
    expect(down.state.nodes.find((n) => n.id === 'n1')).toMatchObject({ hintsPending: 4, keys: 5 });
    expect(down.state.nodes.find((n) => n.id === 'n2')!.clockSkewMs).toBe(3_600_000);
    expect(down.state.plan.skewMs).toEqual({ n2: 3_600_000 });
    expect(down.state.faults.map((f) => [f.label, f.endT])).toEqual([['n3 killed', null], ['n2 clock +1h', null]]);
    expect(down.state.checker).toMatchObject({ reads: 1, staleReads: 1 });
    expect(down.state.checker.anomalies).toHaveLength(1);
    expect(down.state.traffic.inFlight).toBe(1);
    // Ordered by the Lab's receipt: the skewed node's event sits at 7 s, not an hour later.
    expect(down.events.map((e) => e.type)).toEqual(['lab.skew', 'faults', 'lab.kill', 'lab.heal', 'lab.traffic-start']);
    expect(down.state.convergence).toEqual([]);

    const healing = at(12_500);
    expect(healing.state.faults.map((f) => f.endT)).toEqual([10_000, 12_000]);
    expect(healing.state.nodes.find((n) => n.id === 'n2')!.clockSkewMs).toBe(0);
    expect(healing.state.convergence[0]).toMatchObject({ state: 'measuring', ms: null, endT: null });
    expect(at(13_000).state.convergence[0]).toMatchObject({ state: 'converged', ms: 3000 });
    expect(at(16_000).state.traffic.running).toBe(false);
    expect(at(20_000).state.nodes.find((n) => n.id === 'n3')!.health).toBe('up');
  });

  it('the slider ends at the run end; a version-1 run (no series) replays what it has', () => {
    expect(runEndT(run)).toBe(20_000);
    const { series: _s, nodeStates: _n, checkerSeries: _c, trafficSeries: _t, rings: _r, endT: _e, ...v1 } = { ...run, format: 'nosqldb-lab-run/1' as const };
    const old = parseRun(JSON.parse(JSON.stringify(v1)));
    expect(runEndT(old)).toBe(15_000);
    const s = stateAt(old, 7000).state;
    expect(s.series).toEqual({});
    // Counted from the history when no samples were recorded.
    expect(s.checker).toMatchObject({ reads: 1, writes: 1, acknowledgedWrites: 1, staleReads: 1 });
  });

  it('refuses what is not a Lab run, saying where', () => {
    const bad: [unknown, RegExp][] = [
      ['text', /must hold a JSON object/],
      [{ ...run, format: 'other/1' }, /format must be one of/],
      [{ ...run, startedAtMs: 'x' }, /run\.startedAtMs must be a number/],
      [{ ...run, events: [{ type: 'x', node: 'n1' }] }, /run\.events\[0\]\.atMs must be a number/],
      [{ ...run, history: [{ ...run.history[0], f: 'cas' }] }, /run\.history\[0\]\.f/],
      [{ ...run, series: { n1: [{ t: 'soon' }] } }, /series\.n1\[0\]\.t/],
      [{ ...run, checker: {} }, /checker must be/],
    ];
    for (const [value, message] of bad) {
      expect(() => parseRun(value)).toThrow(RunFormatError);
      expect(() => parseRun(value)).toThrow(message);
    }
  });
});
