import type { Violation } from './checkers/violation.ts';
import type { SimResult } from './cluster-sim.ts';
import type { HistoryOp } from './history.ts';

/** Totals over many seeds, for `nosqldb sim --seeds N`. */
export interface SimSummary {
  seeds: number;
  failedSeeds: number[];
  ops: number;
  events: number;
  reads: number;
  staleReads: number;
  sloppyStaleReads: number;
  faults: Record<string, number>;
  violations: Record<string, number>;
  setupErrors: number;
}

export function emptySummary(): SimSummary {
  return { seeds: 0, failedSeeds: [], ops: 0, events: 0, reads: 0, staleReads: 0, sloppyStaleReads: 0, faults: {}, violations: {}, setupErrors: 0 };
}

export function addToSummary(s: SimSummary, r: SimResult): void {
  s.seeds++;
  s.ops += r.history.filter((o) => o.process !== 'final').length;
  s.events += r.events;
  s.reads += r.stats.reads;
  s.staleReads += r.stats.staleReads;
  s.sloppyStaleReads += r.stats.sloppyStaleReads;
  for (const [k, v] of Object.entries(r.faultCounts)) s.faults[k] = (s.faults[k] ?? 0) + v;
  for (const v of r.violations) s.violations[v.kind] = (s.violations[v.kind] ?? 0) + 1;
  if (r.setupError) s.setupErrors++;
  if (r.violations.length > 0 || r.setupError) s.failedSeeds.push(r.seed);
}

export function formatSummary(s: SimSummary, elapsedMs: number): string {
  const kv = (o: Record<string, number>): string =>
    Object.keys(o).length === 0
      ? 'none'
      : Object.entries(o)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([k, v]) => `${k}=${v}`)
          .join(' ');
  return [
    `seeds run:   ${s.seeds} (${s.failedSeeds.length} failed${s.setupErrors ? `, ${s.setupErrors} never formed a ring` : ''}) in ${(elapsedMs / 1000).toFixed(1)} s, ${((s.seeds * 1000) / Math.max(1, elapsedMs)).toFixed(1)} seeds/s`,
    `ops:         ${s.ops} client ops, ${s.events} simulated events`,
    `reads:       ${s.reads} ok; stale (R+W<=N, allowed) ${s.staleReads}; stale under sloppy quorum (allowed) ${s.sloppyStaleReads}`,
    `faults:      ${kv(s.faults)}`,
    `violations:  ${kv(s.violations)}`,
    ...(s.failedSeeds.length > 0 ? [`failed seeds: ${s.failedSeeds.slice(0, 20).join(' ')}${s.failedSeeds.length > 20 ? ' …' : ''}`] : []),
  ].join('\n');
}

/** One line per op, as the failure trace shows it. */
export function formatOp(o: HistoryOp): string {
  const q = o.r !== undefined ? ` r=${o.r}` : o.w !== undefined ? ` w=${o.w}` : '';
  const req = o.f === 'put' ? `=${o.value}` : '';
  const ctx = o.context ? ` ctx=${JSON.stringify(o.context)}` : o.context === null ? ' blind' : '';
  let res = '';
  if (o.type === 'ok' && (o.f === 'read' || o.f === 'local-read')) {
    res = o.result ? ` -> ${o.result.siblings.map((s) => `${s.dot}${s.deleted ? '†' : `=${s.value}`}`).join(' ') || '(empty)'} ctx=${JSON.stringify(o.result.context)}` : ' -> not found';
  } else if (o.type === 'ok' && o.dot !== undefined) res = ` -> ${o.dot}`;
  else if (o.error) res = ` -> ${o.error}`;
  const when = `${o.invokeMs.toFixed(0)}..${o.completeMs === null ? '?' : o.completeMs.toFixed(0)}ms`;
  return `#${o.id} ${when} ${o.process}@${o.node} ${o.f} ${o.key}${req}${q}${ctx} ${o.type}${res}`;
}

/**
 * The short trace of a failure: its violations, then only the ops on the keys involved and the
 * nemesis events, in time order. The full event log is `--seed S --verbose`.
 */
export function formatFailure(r: SimResult, violationsMax = 5): string {
  const lines = [`FAILED seed ${r.seed} (hinted handoff ${r.hintedHandoff ? 'on' : 'off'}; replay: nosqldb sim --seed ${r.seed} …same flags…)`];
  if (r.setupError) lines.push(`  setup: ${r.setupError}`);
  const shown: Violation[] = r.violations.slice(0, violationsMax);
  for (const v of shown) lines.push(`  ${v.kind} ${v.key}: ${v.message}`);
  if (r.violations.length > shown.length) lines.push(`  … and ${r.violations.length - shown.length} more`);
  const keys = new Set(shown.map((v) => v.key));
  const involved = new Set(shown.flatMap((v) => v.ops));
  const items: { atMs: number; text: string }[] = [];
  for (const o of r.history) {
    if (!keys.has(o.key)) continue;
    items.push({ atMs: o.invokeMs, text: `${involved.has(o.id) ? '>' : ' '} ${formatOp(o)}` });
  }
  for (const f of r.faultTimeline) items.push({ atMs: f.atMs, text: `  ~ ${f.atMs.toFixed(0)}ms ${f.text}` });
  items.sort((a, b) => a.atMs - b.atMs);
  lines.push(`  trace (ops on ${[...keys].join(', ')} and faults; > marks ops named above):`);
  for (const it of items) lines.push(`   ${it.text}`);
  lines.push(`  event-log hash ${r.hash}`);
  return lines.join('\n');
}
