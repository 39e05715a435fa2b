import { startBaseline } from './baseline-process.ts';
import { startBenchCluster } from './bench-cluster.ts';
import { assertReachable } from './reachable.ts';
import type { BenchCluster } from './bench-cluster.ts';
import { startEtcdCluster, etcdVersion } from './etcd-cluster.ts';
import { etcdTarget } from './etcd-target.ts';
import { keyName } from './key-chooser.ts';
import type { Distribution } from './key-chooser.ts';
import { kvTarget } from './kv-target.ts';
import { runLoad } from './load-runner.ts';
import type { Progress, RunResult } from './load-runner.ts';
import { machineInfo } from './report.ts';
import type { BenchReport, RoundResult } from './report.ts';
import { probeRestart } from './restart-probe.ts';
import { totalCpuMs } from './process-cpu.ts';
import type { RestartResult } from './restart-probe.ts';
import type { BenchTarget } from './target.ts';
import { needsPrefill } from './workload.ts';
import type { Workload } from './workload.ts';

export type CompareWith = 'etcd' | 'baseline';

/** Everything `nosqldb bench` can be asked to do (bench-command.ts parses the flags). */
export interface BenchOptions {
  /** Nodes of a running cluster; ignored with `start`. */
  readonly urls: readonly string[];
  readonly start: boolean;
  readonly nodes: number;
  /** Nodes at base..; etcd clients at base+1100.., peers base+1110..; the baseline at base+1200. */
  readonly basePort: number;
  readonly dataDir?: string | undefined;
  readonly nodeArgs: readonly string[];
  readonly workload: Workload;
  readonly connections: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly keys: number;
  readonly distribution: Distribution;
  readonly valueBytes: number;
  readonly r?: string | undefined;
  readonly w?: string | undefined;
  readonly blind: boolean;
  /** Requests per second, paced; 'half': flat out first, then paced at half the rate reached. */
  readonly rate?: number | 'half' | undefined;
  readonly seed: number;
  readonly requestTimeoutMs: number;
  /** Prefill every key before the timed run: always for reads; `true` forces it for writes. */
  readonly prefill: boolean;
  readonly compare: readonly CompareWith[];
  readonly restartProbe: boolean;
  /**
   * How many times to run every system, alternating (nosql-db, then each compared one, then
   * again): this machine's speed drifts by up to 2× within minutes, so one pass can flatter
   * either side. Ratios are the median of the rounds' ratios. Default 1.
   */
  readonly rounds?: number | undefined;
}

/** Where progress goes: a line to redraw (TTY) and one-off messages. */
export interface BenchOutput {
  progress(target: string, p: Progress): void;
  info(message: string): void;
}

/** Offsets from `--base-port` of the comparison systems' ports (docs/BENCHMARKS.md). */
const ETCD_PORT_OFFSET = 1100;
const BASELINE_PORT_OFFSET = 1200;

/**
 * Runs the benchmark against nosql-db and then each compared system, one after another, and all
 * of that `rounds` times. Each round starts afresh every system it starts (a `--url` cluster
 * keeps running), and prefills each one that needs it.
 */
export async function runBench(options: BenchOptions, out: BenchOutput): Promise<BenchReport> {
  const rounds = options.rounds ?? 1;
  const prefill: RoundResult[] = [];
  const results: RoundResult[] = [];
  const notes = new Set<string>();
  const ratioRounds: Record<string, number[]> = {};
  let restart: RestartResult | null = null;
  for (let round = 1; round <= rounds; round++) {
    if (rounds > 1) out.info(`round ${round} of ${rounds}`);
    // The restart probe restarts a node of this round's cluster: once, in the last round.
    const probe = options.restartProbe && round === rounds;
    const r = await runRound({ ...options, restartProbe: probe }, out, notes);
    prefill.push(...r.prefill.map((x) => ({ ...x, round })));
    results.push(...r.results.map((x) => ({ ...x, round })));
    for (const [name, ratio] of Object.entries(roundRatios(r.results)))
      (ratioRounds[name] ??= []).push(ratio);
    restart = r.restart ?? restart;
  }
  const ratios = medians(ratioRounds);
  const { halfLoadP99Ms, halfLoadP99Rounds } =
    options.rate === 'half' ? halfLoadP99(results) : { halfLoadP99Ms: {}, halfLoadP99Rounds: {} };
  return {
    date: new Date().toISOString(),
    machine: machineInfo(),
    settings: {
      workload: options.workload,
      connections: options.connections,
      durationS: options.durationMs / 1000,
      warmupS: options.warmupMs / 1000,
      keys: options.keys,
      distribution: options.distribution,
      valueBytes: options.valueBytes,
      r: options.r ?? 'default',
      w: options.w ?? 'default',
      rate: options.rate ?? 'max',
      blind: options.blind,
      seed: options.seed,
      rounds,
    },
    prefill,
    results,
    ratios,
    ratioRounds,
    halfLoadP99Ms,
    halfLoadP99Rounds,
    restart,
    notes: [...notes],
  };
}

/**
 * `nosql-db / other` throughput for one round. Like is compared with like: the flat-out runs
 * when there are any (`--rate half` also has paced ones).
 */
function roundRatios(results: readonly RunResult[]): Record<string, number> {
  const flatOut = results.filter((r) => r.rate === null);
  const compared = flatOut.length > 0 ? flatOut : results;
  const main = compared[0];
  const ratios: Record<string, number> = {};
  for (const r of compared.slice(1))
    if (main && r.target !== main.target && r.throughput > 0)
      ratios[r.target] = main.throughput / r.throughput;
  return ratios;
}

/**
 * Issue 12's "p99 at half the maximum" of `--rate half` results, per system: each round's paced
 * run's p99 in round order, and their median.
 */
export function halfLoadP99(results: readonly RunResult[]): {
  halfLoadP99Ms: Record<string, number>;
  halfLoadP99Rounds: Record<string, number[]>;
} {
  const halfLoadP99Rounds: Record<string, number[]> = {};
  for (const r of results)
    if (r.rate !== null) (halfLoadP99Rounds[r.target] ??= []).push(r.latencyMs.p99);
  return { halfLoadP99Ms: medians(halfLoadP99Rounds), halfLoadP99Rounds };
}

/** Each system's median of its rounds. */
function medians(rounds: Record<string, number[]>): Record<string, number> {
  return Object.fromEntries(Object.entries(rounds).map(([name, list]) => [name, median(list)]));
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** One round: nosql-db (and the restart probe), then each compared system. */
async function runRound(
  options: BenchOptions,
  out: BenchOutput,
  notes: Set<string>,
): Promise<{ prefill: RunResult[]; results: RunResult[]; restart: RestartResult | null }> {
  const prefill: RunResult[] = [];
  const results: RunResult[] = [];
  let restart: RestartResult | null = null;

  let cluster: BenchCluster | null = null;
  try {
    let urls = options.urls;
    if (options.start) {
      out.info(
        `starting ${options.nodes} nodes on ports ${options.basePort}..${options.basePort + options.nodes - 1}`,
      );
      cluster = await startBenchCluster({
        nodes: options.nodes,
        basePort: options.basePort,
        dataDir: options.dataDir,
        nodeArgs: options.nodeArgs,
      });
      urls = cluster.urls;
    } else await assertReachable(urls);
    const target = kvTarget({
      urls,
      keys: options.keys,
      valueBytes: options.valueBytes,
      r: options.r,
      w: options.w,
      blind: options.blind,
    });
    const started = cluster;
    const pids = started ? () => totalCpuMs(started.cluster.nodes().map((n) => n.pid)) : undefined;
    await measure(target, options, out, prefill, results, pids);
    if (options.restartProbe) {
      if (!cluster) notes.add('--restart-probe needs --start (it restarts a node it started)');
      else {
        out.info(`restarting ${cluster.ids[0]}`);
        restart = await probeRestart(
          cluster.cluster,
          cluster.ids[0]!,
          `/kv/${keyName(0, options.keys)}`,
        );
      }
    }
  } finally {
    await cluster?.stop();
  }

  for (const other of options.compare) {
    if (other === 'etcd') {
      if (options.workload === 'counter') {
        notes.add('etcd has no counter operation: not compared on the counter workload');
        continue;
      }
      if (etcdVersion() === null) {
        notes.add('etcd is not on PATH (apt-get install etcd-server): not compared');
        continue;
      }
      out.info('starting a 3-member etcd');
      const etcd = await startEtcdCluster(options.basePort + ETCD_PORT_OFFSET);
      try {
        notes.add(
          `etcd ${etcd.version}, 3 members, default settings (fsync on commit), linearizable ranges`,
        );
        const target = etcdTarget({
          urls: etcd.urls,
          keys: options.keys,
          valueBytes: options.valueBytes,
        });
        await measure(target, options, out, prefill, results, () => totalCpuMs(etcd.pids));
      } finally {
        await etcd.stop();
      }
    } else {
      out.info('starting the bare Node.js baseline server');
      const baseline = await startBaseline(options.basePort + BASELINE_PORT_OFFSET);
      try {
        const target = kvTarget({
          name: 'baseline',
          urls: [baseline.url],
          keys: options.keys,
          valueBytes: options.valueBytes,
          blind: true,
        });
        await measure(target, options, out, prefill, results, () => totalCpuMs([baseline.pid]));
      } finally {
        await baseline.stop();
      }
    }
  }

  return { prefill, results, restart };
}

/** Prefills when needed, then runs the timed workload, against one target. */
async function measure(
  target: BenchTarget,
  options: BenchOptions,
  out: BenchOutput,
  prefill: RunResult[],
  results: RunResult[],
  serverCpuMs?: () => number | null,
): Promise<void> {
  const common = {
    target,
    connections: options.connections,
    keys: options.keys,
    distribution: options.distribution,
    seed: options.seed,
    requestTimeoutMs: options.requestTimeoutMs,
    onProgress: (p: Progress) => out.progress(target.name, p),
    serverCpuMs,
  };
  if (options.workload !== 'load' && (options.prefill || needsPrefill(options.workload))) {
    out.info(`prefilling ${options.keys} keys on ${target.name}`);
    prefill.push(await runLoad({ ...common, workload: 'load', durationMs: 0, warmupMs: 0 }));
  }
  const run = (rate: number | undefined): Promise<RunResult> =>
    runLoad({
      ...common,
      workload: options.workload,
      durationMs: options.durationMs,
      warmupMs: options.warmupMs,
      rate,
    });
  if (options.rate !== 'half') {
    results.push(await run(options.rate));
    return;
  }
  // Latency "at half of the maximum throughput": the maximum is this run's, on this machine now.
  const max = await run(undefined);
  results.push(max);
  const half = Math.max(1, Math.round(max.throughput / 2));
  out.info(
    `${target.name}: ${Math.round(max.throughput)} ops/s flat out; now paced at ${half} ops/s`,
  );
  results.push(await run(half));
}
