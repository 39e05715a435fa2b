import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Histogram } from './histogram.ts';
import { HttpConnection, endpointOf } from './http-sender.ts';
import { keyChooser } from './key-chooser.ts';
import type { Distribution } from './key-chooser.ts';
import { seededRandom } from '../core/seeded-random.ts';
import type { BenchTarget } from './target.ts';
import { opPicker } from './workload.ts';
import type { Workload } from './workload.ts';

export interface RunOptions {
  readonly target: BenchTarget;
  readonly workload: Workload;
  readonly connections: number;
  /** Timed part of the run; ignored by `load`, which ends when every key is written once. */
  readonly durationMs: number;
  /** Requests before the timed part (JIT, connections, caches), not counted. */
  readonly warmupMs: number;
  readonly keys: number;
  readonly distribution: Distribution;
  readonly seed: number;
  /** Total requests per second, paced (open loop); omitted = as fast as answers come (closed loop). */
  readonly rate?: number | undefined;
  readonly requestTimeoutMs: number;
  /** CPU used so far by the system under test (ms), to report its CPU cost per request. */
  readonly serverCpuMs?: (() => number | null) | undefined;
  /** Called about once a second while running. */
  readonly onProgress?: ((p: Progress) => void) | undefined;
}

export interface Progress {
  readonly elapsedMs: number;
  readonly totalMs: number;
  readonly ops: number;
  readonly opsPerSec: number;
  readonly errors: number;
}

/** What one run measured; latencies cover successful requests only, in milliseconds. */
export interface RunResult {
  readonly target: string;
  readonly workload: Workload;
  readonly connections: number;
  readonly rate: number | null;
  readonly durationS: number;
  readonly ops: number;
  readonly ok: number;
  /** Successful requests per second over the timed part. */
  readonly throughput: number;
  readonly latencyMs: {
    p50: number;
    p95: number;
    p99: number;
    p999: number;
    max: number;
    mean: number;
  };
  readonly errors: Record<string, number>;
  readonly statuses: Record<string, number>;
  /** CPU the system under test spent per request over the timed part (all its processes), if known. */
  readonly serverCpuMsPerOp: number | null;
  /** CPU this load generator spent per request over the timed part. */
  readonly clientCpuMsPerOp: number;
  /** The machine's 1/5/15-minute load average when the run ended (the machine may be shared). */
  readonly loadAverage: readonly [number, number, number];
}

/**
 * Drives a target with `connections` keep-alive connections, each issuing one request at a time
 * (closed loop), or paced to `rate` in total (open loop, latency counted from each request's
 * intended start so a stall is not hidden: wrk2's correction for coordinated omission).
 */
export async function runLoad(options: RunOptions): Promise<RunResult> {
  const { target, connections } = options;
  const random = seededRandom(options.seed);
  const nextKind = opPicker(options.workload, random);
  const choose = keyChooser(options.distribution, options.keys, random);
  const loading = options.workload === 'load';
  let nextSequential = 0;
  const nextKey = loading ? () => (nextSequential < options.keys ? nextSequential++ : -1) : choose;

  const endpoints = target.urls.map(endpointOf);
  const open: HttpConnection[] = [];
  const histogram = new Histogram();
  const errors: Record<string, number> = {};
  const statuses: Record<string, number> = {};
  let ops = 0;
  let errorCount = 0;

  const startedAt = performance.now();
  const measureFrom = loading ? startedAt : startedAt + options.warmupMs;
  const endAt = loading ? Number.POSITIVE_INFINITY : measureFrom + options.durationMs;
  const intervalMs = options.rate ? (1000 * connections) / options.rate : 0;

  const worker = async (i: number): Promise<void> => {
    // Each worker has its own connection, as wrk's do; its socket opens with the first request.
    const connection = new HttpConnection(endpoints[i % endpoints.length]!);
    open.push(connection);
    let intended = startedAt + (intervalMs * i) / connections;
    for (;;) {
      let now = performance.now();
      if (intervalMs > 0) {
        if (intended > now) {
          await sleep(intended - now);
          now = performance.now();
        }
      } else {
        intended = now;
      }
      if (intended >= endAt) return;
      // Counted from the intended start, or from the send when the timer woke early (Node's
      // timers run on the loop's cached millisecond clock, up to ~1 ms before `intended`): an
      // early send must not shorten the latency it is charged. Whichever came first.
      const from = Math.min(intended, now);
      const key = nextKey();
      if (key < 0) return;
      let kind = nextKind();
      if (!target.supports(kind)) kind = 'write';
      let label: string | null;
      let status = 'network';
      try {
        const reply = await connection.send(target.request(kind, key), options.requestTimeoutMs);
        status = String(reply.status);
        label = target.outcome(kind, key, reply.status, reply.headers, reply.body);
      } catch (e) {
        label = (e as { code?: string }).code ?? 'NETWORK_ERROR';
      }
      const done = performance.now();
      if (intended >= measureFrom && intended < endAt) {
        ops++;
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (label === null) histogram.record((done - from) * 1000);
        else {
          errors[label] = (errors[label] ?? 0) + 1;
          errorCount++;
        }
      }
      intended += intervalMs;
    }
  };

  // CPU is sampled when the timed part starts and when it ends.
  let serverCpuAtStart: number | null = null;
  let clientCpuAtStart = process.cpuUsage();
  const sampleCpu = (): void => {
    serverCpuAtStart = options.serverCpuMs?.() ?? null;
    clientCpuAtStart = process.cpuUsage();
  };
  if (measureFrom > startedAt) setTimeout(sampleCpu, measureFrom - startedAt);
  else sampleCpu();

  let lastOps = 0;
  let lastAt = startedAt;
  const ticker = options.onProgress
    ? setInterval(() => {
        const now = performance.now();
        const rate = ((ops - lastOps) * 1000) / Math.max(1, now - lastAt);
        lastOps = ops;
        lastAt = now;
        options.onProgress?.({
          elapsedMs: now - startedAt,
          totalMs: loading ? 0 : options.warmupMs + options.durationMs,
          ops,
          opsPerSec: rate,
          errors: errorCount,
        });
      }, 1000)
    : undefined;

  try {
    await Promise.all(Array.from({ length: connections }, (_, i) => worker(i)));
  } finally {
    if (ticker) clearInterval(ticker);
    for (const connection of open) connection.close();
  }
  const finishedAt = performance.now();
  const serverCpuAtEnd = options.serverCpuMs?.() ?? null;
  const client = process.cpuUsage(clientCpuAtStart);
  // Counted requests are those that started inside the timed window, so that window is the divisor.
  const measuredMs = Math.max(1, loading ? finishedAt - measureFrom : options.durationMs);
  const ok = histogram.count;
  const ms = (us: number): number => Math.round(us) / 1000;
  const [l1, l5, l15] = loadavg();
  return {
    target: target.name,
    workload: options.workload,
    connections,
    rate: options.rate ?? null,
    durationS: measuredMs / 1000,
    ops,
    ok,
    throughput: (ok * 1000) / measuredMs,
    latencyMs: {
      p50: ms(histogram.percentileUs(50)),
      p95: ms(histogram.percentileUs(95)),
      p99: ms(histogram.percentileUs(99)),
      p999: ms(histogram.percentileUs(99.9)),
      max: ms(histogram.maxUs),
      mean: ms(histogram.meanUs),
    },
    errors,
    statuses,
    serverCpuMsPerOp:
      serverCpuAtStart !== null && serverCpuAtEnd !== null && ops > 0
        ? round3((serverCpuAtEnd - serverCpuAtStart) / ops)
        : null,
    clientCpuMsPerOp: ops > 0 ? round3((client.user + client.system) / 1000 / ops) : 0,
    loadAverage: [round2(l1 ?? 0), round2(l5 ?? 0), round2(l15 ?? 0)],
  };
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
