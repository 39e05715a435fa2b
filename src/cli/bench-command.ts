import { parseArgs } from 'node:util';
import { runBench } from '../bench/bench-run.ts';
import { runCleanups } from '../bench/cleanup.ts';
import type { BenchOptions, BenchOutput, CompareWith } from '../bench/bench-run.ts';
import { formatReport, progressLine } from '../bench/report.ts';
import { WORKLOADS } from '../bench/workload.ts';
import type { Workload } from '../bench/workload.ts';
import type { Distribution } from '../bench/key-chooser.ts';
import { intFlag } from './flags.ts';
import { UsageError } from './usage.ts';

export const BENCH_USAGE = `usage: nosqldb bench [options]   (docs/BENCHMARKS.md)
  --url URL,URL,...       nodes of a running cluster (default http://127.0.0.1:7001)
  --start [--nodes 3]     start a local cluster on a temporary data dir, stop it afterwards
  --base-port 7101        with --start: node ports; etcd uses base+1100.., the baseline base+1200
  --data-dir DIR          with --start: keep the nodes' data here instead of a temp dir
  --node-arg ARG          extra flag for every started node (repeatable), e.g. --node-arg=--w --node-arg=1
  --workload write|read|mixed|95-5|counter|load   (default write; load = write every key once)
  --connections 64  --duration 10s  --warmup 1s  --keys 10000  --distribution uniform|zipfian
  --value-size 100  --r R  --w W  --rate OPS (paced, open loop)  --timeout 10000 (ms)
  --rate half             run flat out, then paced at half the rate reached (issue 12's p99 target)
  --blind                 writes without X-Context (they pile up siblings)
  --prefill               prefill keys before a write workload too (reads always prefill)
  --compare etcd,baseline also run the same workload against a 3-member etcd / a bare Node server
  --rounds 1              run every system this many times, alternating; ratios (and with
                          --rate half, the p99 at half load) are the medians of the rounds
  --restart-probe         with --start: afterwards restart n1, time it and measure its RSS
  --seed N  --json`;

/** `nosqldb bench`: the load generator (issue 12). */
export async function runBenchCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      url: { type: 'string' },
      start: { type: 'boolean' },
      nodes: { type: 'string' },
      'base-port': { type: 'string' },
      'data-dir': { type: 'string' },
      'node-arg': { type: 'string', multiple: true },
      workload: { type: 'string' },
      connections: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      keys: { type: 'string' },
      distribution: { type: 'string' },
      'value-size': { type: 'string' },
      r: { type: 'string' },
      w: { type: 'string' },
      rate: { type: 'string' },
      timeout: { type: 'string' },
      seed: { type: 'string' },
      blind: { type: 'boolean' },
      prefill: { type: 'boolean' },
      compare: { type: 'string', multiple: true },
      'restart-probe': { type: 'boolean' },
      rounds: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(BENCH_USAGE);
    return;
  }
  const workload = (values.workload ?? 'write') as Workload;
  if (!WORKLOADS.includes(workload))
    throw new UsageError(`--workload must be one of ${WORKLOADS.join(', ')} (got "${workload}")`);
  const distribution = (values.distribution ?? 'uniform') as Distribution;
  if (distribution !== 'uniform' && distribution !== 'zipfian')
    throw new UsageError(`--distribution must be uniform or zipfian (got "${distribution}")`);
  const compare = (values.compare ?? []).flatMap((c) => c.split(',')).filter(Boolean);
  for (const c of compare)
    if (c !== 'etcd' && c !== 'baseline')
      throw new UsageError(`--compare takes etcd and/or baseline (got "${c}")`);
  const urls = (values.url ?? process.env.NOSQLDB_URL ?? 'http://127.0.0.1:7001')
    .split(',')
    .map((u) => u.trim().replace(/\/$/, ''))
    .filter(Boolean);
  for (const u of urls)
    if (!/^http:\/\/[^/]+$/.test(u))
      throw new UsageError(`--url takes http://HOST:PORT addresses (got "${u}")`);
  const restartProbe = values['restart-probe'] ?? false;
  if (restartProbe && !values.start) throw new UsageError('--restart-probe needs --start');
  const rate =
    values.rate === undefined
      ? undefined
      : values.rate === 'half'
        ? 'half'
        : /^[0-9]+$/.test(values.rate)
          ? intFlag(values.rate, 'rate', 0, 1, 10_000_000)
          : badRate(values.rate);

  const options: BenchOptions = {
    urls,
    start: values.start ?? false,
    nodes: intFlag(values.nodes, 'nodes', 3, 1, 32),
    basePort: intFlag(values['base-port'], 'base-port', 7101, 1, 65535 - 1300),
    dataDir: values['data-dir'],
    nodeArgs: values['node-arg'] ?? [],
    workload,
    connections: intFlag(values.connections, 'connections', 64, 1, 4096),
    durationMs: durationFlag(values.duration, 'duration', 10_000),
    warmupMs: durationFlag(values.warmup, 'warmup', 1000),
    keys: intFlag(values.keys, 'keys', 10_000, 1, 100_000_000),
    distribution,
    valueBytes: intFlag(values['value-size'], 'value-size', 100, 0, 16 * 2 ** 20),
    r: consistencyFlag(values.r, 'r'),
    w: consistencyFlag(values.w, 'w'),
    blind: values.blind ?? false,
    rate,
    seed: intFlag(values.seed, 'seed', 42, 0, 2 ** 31 - 1),
    requestTimeoutMs: intFlag(values.timeout, 'timeout', 10_000, 1, 600_000),
    prefill: values.prefill ?? false,
    compare: compare as CompareWith[],
    restartProbe,
    rounds: intFlag(values.rounds, 'rounds', 1, 1, 100),
  };

  const json = values.json ?? false;
  const tty = process.stderr.isTTY && !json;
  const out: BenchOutput = {
    progress: (target, p) => {
      if (tty) process.stderr.write(`\r\x1b[K${progressLine(target, p)}`);
    },
    info: (message) => {
      if (tty) process.stderr.write('\r\x1b[K');
      if (!json) process.stderr.write(`${message}\n`);
    },
  };
  // Ctrl-C does not run finally blocks: stop every process the benchmark started, then exit.
  const interrupted = (signal: string): void => {
    process.stderr.write(`\n${signal}: stopping what the benchmark started\n`);
    setTimeout(() => process.exit(130), 8000).unref();
    void runCleanups().then(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  const report = await runBench(options, out);
  process.off('SIGINT', interrupted);
  process.off('SIGTERM', interrupted);
  if (tty) process.stderr.write('\r\x1b[K');
  console.log(json ? JSON.stringify(report, null, 2) : formatReport(report));
}

/** `10s`, `500ms`, `2m` or plain seconds. */
function durationFlag(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m)?$/.exec(value);
  if (!m) throw new UsageError(`--${name} takes a duration like 10s, 500ms or 2m (got "${value}")`);
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
  if (ms > 24 * 3_600_000) throw new UsageError(`--${name} is longer than a day`);
  return Math.round(ms);
}

function consistencyFlag(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (!/^([0-9]+|one|quorum|all)$/.test(value))
    throw new UsageError(`--${name} takes 1..N, one, quorum or all (got "${value}")`);
  return value;
}

function badRate(value: string): never {
  throw new UsageError(`--rate takes a number of requests per second, or half (got "${value}")`);
}
