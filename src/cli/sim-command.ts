import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { checkHistory } from '../sim/checkers/check-history.ts';
import type { SimOptions, SimResult } from '../sim/cluster-sim.ts';
import { nodeCounters } from '../sim/node-counter-adapter.ts';
import { runSimulation, SIM_DEFAULTS } from '../sim/cluster-sim.ts';
import { parseFaults } from '../sim/faults.ts';
import { historyFromJsonl, historyToJsonl } from '../sim/history.ts';
import { plantedBug } from '../sim/planted-bugs.ts';
import { addToSummary, emptySummary, formatFailure, formatSummary } from '../sim/report.ts';
import { shrink } from '../sim/shrink.ts';
import { intFlag } from './flags.ts';
import { UsageError } from './usage.ts';

export const SIM_USAGE = `nosqldb sim [--seeds 100] [--start 1] | --seed S [--verbose] [--shrink] | --check FILE
   [--nodes 5] [--faults all|none|drop,delay,reorder,duplicate,partition,one-way,crash,skew,disk-full]
   [--ops 200] [--clients 4] [--keys 6] [--n 3] [--hinted-handoff on|off|seed]
   [--plant ack-before-durable|drop-tombstones|blind-forward|no-read-repair|forget-on-read]
   [--history FILE]   (see docs/TESTING.md)`;

/**
 * `nosqldb sim`: the deterministic simulator. Many seeds print a summary (exit 1 if any seed
 * failed, each failure with its seed and a short trace); `--seed S` replays one run exactly
 * and prints its event-log hash; `--check FILE` re-checks an exported history.
 */
export async function runSim(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      seeds: { type: 'string' },
      start: { type: 'string' },
      seed: { type: 'string' },
      nodes: { type: 'string' },
      faults: { type: 'string' },
      ops: { type: 'string' },
      clients: { type: 'string' },
      keys: { type: 'string' },
      n: { type: 'string' },
      'hinted-handoff': { type: 'string' },
      plant: { type: 'string' },
      history: { type: 'string' },
      check: { type: 'string' },
      verbose: { type: 'boolean' },
      shrink: { type: 'boolean' },
    },
  });
  if (values.check !== undefined) return checkFile(values.check);
  const nodes = intFlag(values.nodes, 'nodes', SIM_DEFAULTS.nodes, 3, 9);
  let faults;
  try {
    faults = parseFaults(values.faults ?? 'all');
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const hh = values['hinted-handoff'] ?? 'seed';
  if (!['on', 'off', 'seed'].includes(hh)) throw new UsageError('--hinted-handoff must be on, off or seed');
  let plant;
  try {
    plant = values.plant === undefined ? undefined : plantedBug(values.plant);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const base: Omit<SimOptions, 'seed'> = {
    nodes,
    faults,
    ops: intFlag(values.ops, 'ops', SIM_DEFAULTS.ops, 1, 100_000),
    clients: intFlag(values.clients, 'clients', SIM_DEFAULTS.clients, 1, 64),
    keys: intFlag(values.keys, 'keys', SIM_DEFAULTS.keys, 1, 10_000),
    n: intFlag(values.n, 'n', Math.min(SIM_DEFAULTS.n, nodes), 1, nodes),
    hintedHandoff: hh === 'seed' ? undefined : hh === 'on',
    plant,
    counters: nodeCounters(),
  };

  if (values.seed !== undefined) {
    const seed = intFlag(values.seed, 'seed', 1, 0, 2 ** 32 - 1);
    const opts: SimOptions = { ...base, seed, onEvent: values.verbose ? (line) => console.log(line) : undefined };
    let result = await runSimulation(opts);
    let used = opts;
    if (values.shrink && result.violations.length > 0) {
      const small = await shrink(opts, result);
      if (small.options.ops < opts.ops) console.log(`shrunk: --ops ${small.options.ops} still fails (from ${opts.ops})`);
      result = small.result;
      used = small.options;
    }
    if (values.history) writeHistory(values.history, used, result);
    console.log(result.violations.length > 0 || result.setupError ? formatFailure(result) : `seed ${seed}: ok, ${result.history.length} ops, ${result.events} events`);
    console.log(`event-log hash ${result.hash}`);
    if (result.violations.length > 0 || result.setupError) process.exitCode = 1;
    return;
  }

  const count = intFlag(values.seeds, 'seeds', 100, 1, 1_000_000);
  const start = intFlag(values.start, 'start', 1, 0, 2 ** 32 - 1);
  const summary = emptySummary();
  const t0 = performance.now();
  let failuresPrinted = 0;
  for (let seed = start; seed < start + count; seed++) {
    const result = await runSimulation({ ...base, seed });
    addToSummary(summary, result);
    if (result.violations.length > 0 || result.setupError) {
      // The first few failures in full; the rest are listed in the summary.
      if (failuresPrinted++ < 3) console.log(formatFailure(result));
      if (values.history && failuresPrinted === 1) writeHistory(values.history, { ...base, seed }, result);
    }
  }
  console.log(formatSummary(summary, performance.now() - t0));
  if (summary.failedSeeds.length > 0) process.exitCode = 1;
}

function writeHistory(path: string, o: SimOptions, r: SimResult): void {
  writeFileSync(path, historyToJsonl({ seed: o.seed, nodes: o.nodes, n: o.n, hintedHandoff: r.hintedHandoff, faults: [...o.faults], hash: r.hash }, r.history));
  console.log(`history of seed ${o.seed} written to ${path}`);
}

function checkFile(path: string): void {
  const { run, ops } = historyFromJsonl(readFileSync(path, 'utf8'));
  const report = checkHistory(ops, { n: run.n, sloppy: run.hintedHandoff });
  for (const v of report.violations) console.log(`${v.kind} ${v.key}: ${v.message}`);
  console.log(`${ops.length} ops of seed ${run.seed}: ${report.violations.length} violations; stats ${JSON.stringify(report.stats)}`);
  if (report.violations.length > 0) process.exitCode = 1;
}
