import { describe, expect, it } from 'vitest';
import { RegisterChecker, type HistoryOp } from '../../src/lab/checker.ts';
import { faultSpecsFor, NO_FAULTS } from '../../src/lab/fault-plan.ts';
import { healthOf } from '../../src/lab/cluster-monitor.ts';
import { parseKvScrape, pointBetween } from '../../src/lab/metrics-series.ts';

const ids = ['n1', 'n2', 'n3'];

describe('fault plan → node fault specs', () => {
  it('no faults: every node gets an empty spec', () => {
    expect([...faultSpecsFor(NO_FAULTS, ids).values()]).toEqual([{}, {}, {}]);
  });
  it('groups isolate each other; nodes in no group form one more group', () => {
    const s = faultSpecsFor({ groups: [['n1'], ['n2']], links: [], loss: {} }, [...ids, 'n4']);
    expect(s.get('n1')).toEqual({ isolate: ['n2', 'n3', 'n4'] });
    expect(s.get('n3')).toEqual({ isolate: ['n1', 'n2'] });
  });
  it('a delayed link is delayed at one end only; loss is per node', () => {
    const s = faultSpecsFor({ groups: [], links: [{ a: 'n3', b: 'n2', delayMs: 80 }], loss: { n1: 0.5 } }, ids);
    expect(s.get('n2')).toEqual({ delayMs: { n3: 80 } });
    expect(s.get('n3')).toEqual({});
    expect(s.get('n1')).toEqual({ dropRate: 0.5 });
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
  it('a counter that went down (restart) starts from zero', () => {
    const p = pointBetween(parseKvScrape(text(300, 300), 0), parseKvScrape(text(10, 10), 1000), 1000);
    expect(p.rps).toBe(10);
  });
});
