import { cpus, totalmem } from 'node:os';
import type { RunResult, Progress } from './load-runner.ts';
import type { RestartResult } from './restart-probe.ts';

/** The machine a result was measured on; load averages sit next to every result as well. */
export interface MachineInfo {
  readonly cores: number;
  readonly cpu: string;
  readonly memoryMb: number;
  readonly node: string;
}

/** A run, and which round (`--rounds`, from 1) it belongs to. */
export type RoundResult = RunResult & { readonly round: number };

/** Everything one `nosqldb bench` invocation measured (`--json` prints exactly this). */
export interface BenchReport {
  readonly date: string;
  readonly machine: MachineInfo;
  readonly settings: Record<string, string | number | boolean | null>;
  /** Prefill runs (the `load` workload), one per target that needed it. */
  readonly prefill: readonly RoundResult[];
  readonly results: readonly RoundResult[];
  /** `nosql-db / other` throughput, per compared target: the median of `ratioRounds`. */
  readonly ratios: Record<string, number>;
  /** The same ratio in each round, in order. */
  readonly ratioRounds: Record<string, number[]>;
  /**
   * With `--rate half`, per system: the p99 (ms) of the paced run at half the maximum, the median
   * of `halfLoadP99Rounds` (each round's, in order). One run says little on a machine that
   * drifts; the median of several rounds is what issue 12's target is judged by.
   */
  readonly halfLoadP99Ms: Record<string, number>;
  readonly halfLoadP99Rounds: Record<string, number[]>;
  readonly restart: RestartResult | null;
  readonly notes: readonly string[];
}

export function machineInfo(): MachineInfo {
  const c = cpus();
  return {
    cores: c.length,
    cpu: c[0]?.model ?? 'unknown',
    memoryMb: Math.round(totalmem() / 2 ** 20),
    node: process.version,
  };
}

/** The human-readable report. */
export function formatReport(report: BenchReport): string {
  const m = report.machine;
  const lines: string[] = [];
  lines.push(
    `bench ${Object.entries(report.settings)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );
  lines.push(
    `machine: ${m.cores} cores (${m.cpu}), ${Math.round(m.memoryMb / 1024)} GiB, node ${m.node}, ${report.date}`,
  );
  const rounds = Math.max(1, ...report.results.map((r) => r.round));
  const name = (r: RoundResult): string => (rounds > 1 ? `${r.target} (${r.round})` : r.target);
  for (const p of report.prefill) {
    lines.push(
      `prefill ${name(p)}: ${p.ok} keys in ${p.durationS.toFixed(1)} s (${fmtInt(p.throughput)}/s)${errorText(p.errors)}`,
    );
  }
  lines.push('');
  lines.push(table(report.results, name));
  const ratioText = (x: number): string => `${x.toFixed(2)}x`;
  for (const [other, ratio] of Object.entries(report.ratios)) {
    const each = roundsText(report.ratioRounds[other], ratioText);
    lines.push(`nosql-db / ${other}: ${ratioText(ratio)} throughput${each}`);
  }
  for (const [target, p99] of Object.entries(report.halfLoadP99Ms)) {
    const each = roundsText(report.halfLoadP99Rounds[target], fmtMs);
    lines.push(`${target}: p99 at half the maximum ${fmtMs(p99)} ms${each}`);
  }
  for (const r of report.results)
    if (Object.keys(r.errors).length > 0) lines.push(`errors ${name(r)}:${errorText(r.errors)}`);
  if (report.restart) {
    const r = report.restart;
    lines.push(
      `restart ${r.node} (${r.keys ?? '?'} keys): healthy after ${r.healthyMs} ms, serving after ${r.servingMs} ms; ` +
        `RSS ${r.rssBeforeMb ?? '?'} MB before stop, ${r.rssAfterMb ?? '?'} MB after restart`,
    );
  }
  for (const n of report.notes) lines.push(`note: ${n}`);
  return lines.join('\n');
}

function table(results: readonly RoundResult[], name: (r: RoundResult) => string): string {
  const header = [
    'target',
    'ops/s',
    'p50 ms',
    'p95 ms',
    'p99 ms',
    'p99.9 ms',
    'max ms',
    'errors',
    'cpu ms/op',
    'load avg',
  ];
  const rows = results.map((r) => [
    r.rate === null ? name(r) : `${name(r)} @${fmtInt(r.rate)}/s`,
    fmtInt(r.throughput),
    fmtMs(r.latencyMs.p50),
    fmtMs(r.latencyMs.p95),
    fmtMs(r.latencyMs.p99),
    fmtMs(r.latencyMs.p999),
    fmtMs(r.latencyMs.max),
    String(r.ops - r.ok),
    r.serverCpuMsPerOp === null ? '-' : r.serverCpuMsPerOp.toFixed(3),
    r.loadAverage.map((x) => x.toFixed(2)).join(' '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const fmt = (row: string[]): string =>
    row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [fmt(header), ...rows.map(fmt)].join('\n');
}

/** The progress line (written with `\r` on a TTY only). */
export function progressLine(target: string, p: Progress): string {
  const total = p.totalMs > 0 ? `/${(p.totalMs / 1000).toFixed(0)}s` : '';
  const width = 20;
  const done = p.totalMs > 0 ? Math.min(width, Math.round((p.elapsedMs / p.totalMs) * width)) : 0;
  const bar = p.totalMs > 0 ? `[${'#'.repeat(done)}${'.'.repeat(width - done)}] ` : '';
  return `${bar}${target} ${(p.elapsedMs / 1000).toFixed(0)}s${total}  ${fmtInt(p.ops)} ops  ${fmtInt(p.opsPerSec)} ops/s  ${p.errors} errors`;
}

function errorText(errors: Record<string, number>): string {
  const e = Object.entries(errors);
  return e.length === 0 ? '' : ` ${e.map(([k, v]) => `${k}=${v}`).join(' ')}`;
}

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** ` (median of N rounds: a b c)` when there was more than one round, else nothing. */
function roundsText(each: readonly number[] | undefined, fmt: (x: number) => string): string {
  return each !== undefined && each.length > 1
    ? ` (median of ${each.length} rounds: ${each.map(fmt).join(' ')})`
    : '';
}

function fmtMs(n: number): string {
  return n < 10 ? n.toFixed(2) : n.toFixed(1);
}
