import { describe, expect, it } from 'vitest';
import { Histogram } from '../../src/bench/histogram.ts';
import { keyChooser } from '../../src/bench/key-chooser.ts';
import { seededRandom } from '../../src/core/seeded-random.ts';
import { halfLoadP99, runBench } from '../../src/bench/bench-run.ts';
import type { BenchOptions } from '../../src/bench/bench-run.ts';
import { formatReport, type BenchReport } from '../../src/bench/report.ts';
import { runLoad, type RunResult } from '../../src/bench/load-runner.ts';
import type { BenchTarget } from '../../src/bench/target.ts';
import { runBenchCommand } from '../../src/cli/bench-command.ts';
import { assertReachable } from '../../src/bench/reachable.ts';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

describe('bench histogram', () => {
  it('reports nearest-rank percentiles within its 1% bucket error', () => {
    const random = seededRandom(7);
    const samples = Array.from({ length: 20_000 }, () => Math.round(random() ** 3 * 200_000));
    const h = new Histogram();
    for (const s of samples) h.record(s);
    const sorted = [...samples].sort((a, b) => a - b);
    for (const p of [50, 95, 99, 99.9, 100]) {
      const exact = sorted[Math.ceil((p / 100) * sorted.length) - 1]!;
      const got = h.percentileUs(p);
      expect(got).toBeGreaterThanOrEqual(exact);
      expect(got).toBeLessThanOrEqual(exact * 1.01 + 1);
    }
    expect(h.count).toBe(samples.length);
    expect(h.maxUs).toBe(sorted.at(-1));
  });

  it('merges histograms as if all samples went into one', () => {
    const a = new Histogram();
    const b = new Histogram();
    for (let i = 1; i <= 100; i++) (i % 2 ? a : b).record(i * 1000);
    a.merge(b);
    expect(a.count).toBe(100);
    expect(a.percentileUs(50)).toBeGreaterThanOrEqual(50_000);
    expect(a.percentileUs(50)).toBeLessThan(51_000);
  });
});

describe('bench key chooser', () => {
  it('keeps zipfian picks in range and skewed towards a few keys', () => {
    const keys = 1000;
    const pick = keyChooser('zipfian', keys, seededRandom(1));
    const counts = new Map<number, number>();
    for (let i = 0; i < 50_000; i++) {
      const k = pick();
      expect(k).toBeGreaterThanOrEqual(0);
      expect(k).toBeLessThan(keys);
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    const top = Math.max(...counts.values());
    // Uniform would give each key about 50; the hottest zipfian key gets far more.
    expect(top).toBeGreaterThan(1000);
  });
});

/** What every run below shares: one node started for it, with N = R = W = 1. */
function oneNodeBench(
  settings: Omit<
    BenchOptions,
    'urls' | 'start' | 'nodes' | 'nodeArgs' | 'blind' | 'requestTimeoutMs' | 'prefill'
  >,
): BenchOptions {
  return {
    urls: [],
    start: true,
    nodes: 1,
    nodeArgs: ['--n', '1', '--r', '1', '--w', '1'],
    blind: false,
    requestTimeoutMs: 5000,
    prefill: false,
    ...settings,
  };
}

const quiet = { progress: () => undefined, info: () => undefined };

describe('bench p99 at half the maximum', () => {
  const run = (target: string, rate: number | null, p99: number): RunResult => ({
    target,
    workload: 'write',
    connections: 64,
    rate,
    durationS: 10,
    ops: 1,
    ok: 1,
    throughput: rate ?? 2 * p99,
    latencyMs: { p50: 1, p95: 2, p99, p999: p99 + 1, max: p99 + 2, mean: 1 },
    errors: {},
    statuses: {},
    serverCpuMsPerOp: null,
    clientCpuMsPerOp: 0,
    loadAverage: [0, 0, 0],
  });

  it('takes the paced run of every round per system, never a flat-out one, and their median', () => {
    // Three rounds of nosql-db and etcd, each flat out (rate null, p99 99) then paced.
    const results = [
      [13.6, 20],
      [9.98, 18],
      [9.6, 25],
    ].flatMap(([db, etcd]) => [
      run('nosql-db', null, 99),
      run('nosql-db', 7000, db!),
      run('etcd', null, 99),
      run('etcd', 4000, etcd!),
    ]);
    const { halfLoadP99Ms, halfLoadP99Rounds } = halfLoadP99(results);
    expect(halfLoadP99Rounds).toEqual({ 'nosql-db': [13.6, 9.98, 9.6], etcd: [20, 18, 25] });
    expect(halfLoadP99Ms).toEqual({ 'nosql-db': 9.98, etcd: 20 });
    const report: BenchReport = {
      date: '2026-12-06T00:00:00.000Z',
      machine: { cores: 2, cpu: 'x', memoryMb: 1024, node: 'v20' },
      settings: {},
      prefill: [],
      results: results.map((r, i) => ({ ...r, round: 1 + Math.floor(i / 4) })),
      ratios: {},
      ratioRounds: {},
      halfLoadP99Ms,
      halfLoadP99Rounds,
      restart: null,
      notes: [],
    };
    const text = formatReport(report);
    expect(text).toMatch(
      /^nosql-db: p99 at half the maximum 9\.98 ms \(median of 3 rounds: 13\.6 9\.98 9\.60\)$/m,
    );
    expect(text).toMatch(
      /^etcd: p99 at half the maximum 20\.0 ms \(median of 3 rounds: 20\.0 18\.0 25\.0\)$/m,
    );
  });
});

describe('bench paced latency', () => {
  it('charges a paced request at least the time its answer took, even when the timer woke early', async () => {
    // Every answer comes 5 ms after its request arrived, as closely as the server can: a timer
    // to 4 ms, then polling the clock (a timer alone may wake early or late by a millisecond).
    // Charged from an early send instead, latencies came out ~0.5 ms short of it.
    const answerMs = 5;
    const server = createServer((req, res) => {
      const arrived = performance.now();
      const answer = (): void => {
        if (performance.now() - arrived < answerMs) setImmediate(answer);
        else res.end('ok');
      };
      req.resume();
      req.on('end', () => setTimeout(answer, answerMs - 1));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const target: BenchTarget = {
      name: 'slow',
      urls: [`http://127.0.0.1:${port}`],
      supports: () => true,
      request: (_kind, key) => ({ method: 'GET', path: `/k/${key}`, headers: {}, body: null }),
      outcome: (_kind, _key, status) => (status === 200 ? null : `HTTP_${status}`),
    };
    try {
      const result = await runLoad({
        target,
        workload: 'read',
        connections: 4,
        durationMs: 600,
        warmupMs: 100,
        keys: 10,
        distribution: 'uniform',
        seed: 3,
        rate: 200,
        requestTimeoutMs: 2000,
      });
      expect(result.ok).toBeGreaterThan(50);
      // Nearest-rank percentiles sit within the histogram's 0.8% bucket error.
      expect(result.latencyMs.p50).toBeGreaterThanOrEqual(answerMs * 0.99);
      expect(result.latencyMs.mean).toBeGreaterThanOrEqual(answerMs * 0.99);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('nosqldb bench', () => {
  it('drives a started cluster and the baseline, and reports well-formed results', async () => {
    const options = oneNodeBench({
      // Below the ephemeral port range (32768-60999), so no outbound connection can hold it.
      basePort: 29501,
      workload: 'mixed',
      connections: 4,
      durationMs: 600,
      warmupMs: 100,
      keys: 50,
      distribution: 'zipfian',
      valueBytes: 32,
      seed: 3,
      compare: ['baseline'],
      restartProbe: true,
    });
    const infos: string[] = [];
    const report = await runBench(options, {
      progress: () => undefined,
      info: (m) => infos.push(m),
    });

    expect(report.results.map((r) => r.target)).toEqual(['nosql-db', 'baseline']);
    expect(report.prefill.map((r) => [r.target, r.ok])).toEqual([
      ['nosql-db', 50],
      ['baseline', 50],
    ]);
    for (const r of report.results) {
      expect(r.ok).toBeGreaterThan(0);
      expect(r.ops).toBe(r.ok + Object.values(r.errors).reduce((a, b) => a + b, 0));
      expect(r.throughput).toBeGreaterThan(0);
      const l = r.latencyMs;
      expect(l.p50).toBeGreaterThan(0);
      expect(l.p50).toBeLessThanOrEqual(l.p95);
      expect(l.p95).toBeLessThanOrEqual(l.p99);
      expect(l.p99).toBeLessThanOrEqual(l.p999);
      expect(l.p999).toBeLessThanOrEqual(l.max);
      expect(r.loadAverage).toHaveLength(3);
    }
    expect(report.results[0]!.errors).toEqual({});
    expect(report.ratios.baseline).toBeGreaterThan(0);
    expect(report.restart?.servingMs).toBeGreaterThan(0);
    expect(report.restart?.keys).toBe(50);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
    expect(formatReport(report)).toMatch(/nosql-db \/ baseline: [0-9.]+x throughput/);
  });

  it('--rate half runs flat out, then paced at half the rate it reached', async () => {
    const report = await runBench(
      oneNodeBench({
        basePort: 29521,
        workload: 'write',
        connections: 4,
        durationMs: 600,
        warmupMs: 100,
        keys: 50,
        distribution: 'uniform',
        valueBytes: 32,
        rate: 'half',
        seed: 5,
        compare: [],
        restartProbe: false,
      }),
      quiet,
    );
    const [max, half] = report.results;
    expect(report.results).toHaveLength(2);
    expect(max!.rate).toBeNull();
    expect(max!.throughput).toBeGreaterThan(0);
    expect(half!.rate).toBe(Math.max(1, Math.round(max!.throughput / 2)));
    // Paced: the second run never goes faster than asked (it may go slower on a busy machine).
    expect(half!.throughput).toBeLessThanOrEqual(half!.rate! * 1.05 + 5);
    expect(half!.ok).toBeGreaterThan(0);
    expect(formatReport(report)).toMatch(
      new RegExp(`nosql-db @${half!.rate!.toLocaleString('en-US')}/s`),
    );
    // The target's figure: the paced run's p99 (not the flat-out run's), summed up per system.
    expect(report.halfLoadP99Rounds).toEqual({ 'nosql-db': [half!.latencyMs.p99] });
    expect(report.halfLoadP99Ms['nosql-db']).toBe(half!.latencyMs.p99);
    expect(formatReport(report)).toMatch(/^nosql-db: p99 at half the maximum [0-9.]+ ms$/m);
  });

  it('refuses a --url that accepts no connections before running, naming it and the reason', async () => {
    // Port 29599: below the ephemeral range and used by nothing in this suite.
    const options: BenchOptions = {
      ...oneNodeBench({
        basePort: 29599,
        workload: 'write',
        connections: 2,
        durationMs: 300,
        warmupMs: 0,
        keys: 10,
        distribution: 'uniform',
        valueBytes: 16,
        seed: 1,
        compare: [],
        restartProbe: false,
      }),
      start: false,
      urls: ['http://127.0.0.1:29599'],
    };
    await expect(runBench(options, quiet)).rejects.toThrow(
      'cannot reach http://127.0.0.1:29599 (ECONNREFUSED): is a cluster running there? (or use --start)',
    );
  });

  it('checks reachability with a bare TCP connection: no HTTP request reaches the server', async () => {
    let requests = 0;
    const server = createServer(() => requests++);
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    const { port } = server.address() as AddressInfo;
    try {
      await assertReachable([`http://127.0.0.1:${port}`]);
      expect(requests).toBe(0);
    } finally {
      await new Promise((res) => server.close(res));
    }
    await expect(assertReachable([`http://127.0.0.1:${port}`])).rejects.toThrow(/ECONNREFUSED/);
  });

  it('--rounds alternates the systems, round after round, and reports the median ratio', async () => {
    const report = await runBench(
      oneNodeBench({
        basePort: 29541,
        workload: 'read',
        connections: 2,
        durationMs: 300,
        warmupMs: 50,
        keys: 20,
        distribution: 'uniform',
        valueBytes: 16,
        seed: 7,
        compare: ['baseline'],
        restartProbe: true,
        rounds: 3,
      }),
      quiet,
    );
    expect(report.results.map((r) => [r.target, r.round])).toEqual([
      ['nosql-db', 1],
      ['baseline', 1],
      ['nosql-db', 2],
      ['baseline', 2],
      ['nosql-db', 3],
      ['baseline', 3],
    ]);
    // Every round starts and prefills its systems afresh.
    expect(report.prefill.map((r) => [r.target, r.round, r.ok])).toEqual(
      [1, 2, 3].flatMap((round) => [
        ['nosql-db', round, 20],
        ['baseline', round, 20],
      ]),
    );
    const each = report.results
      .filter((r) => r.target === 'nosql-db')
      .map(
        (r, i) =>
          r.throughput / report.results.filter((x) => x.target === 'baseline')[i]!.throughput,
      );
    expect(report.ratioRounds.baseline).toEqual(each);
    expect(report.ratios.baseline).toBe([...each].sort((a, b) => a - b)[1]);
    // The restart probe runs once, on the last round's cluster.
    expect(report.restart?.keys).toBe(20);
    expect(formatReport(report)).toMatch(
      /nosql-db \/ baseline: [0-9.]+x throughput \(median of 3 rounds: [0-9.]+x [0-9.]+x [0-9.]+x\)/,
    );
    expect(formatReport(report)).toMatch(/^nosql-db \(2\) /m);
  });
});

describe('nosqldb bench flags', () => {
  it('--rate takes a number or half, and says so when it gets anything else', async () => {
    await expect(runBenchCommand(['--rate', 'abc'])).rejects.toThrow(
      /--rate takes a number of requests per second, or half \(got "abc"\)/,
    );
    await expect(runBenchCommand(['--rate', '0'])).rejects.toThrow(/--rate must be between 1/);
  });
});
