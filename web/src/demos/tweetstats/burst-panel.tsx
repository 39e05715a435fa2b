import { useMemo, useState, type ReactNode } from 'react';
import type { ChartDataset } from 'chart.js';
import type { BurstStatus, LiveSnapshot } from '../../../../src/lab/demo-types.ts';
import type { FaultInterval } from '../../../../src/lab/lab-types.ts';
import { ActionButton } from '../../components/action-button.tsx';
import { nodeColor } from '../../components/colors.ts';
import { TimeChart } from '../../components/time-chart.tsx';
import { demoApi } from '../../data/demo-live-source.ts';
import { fieldValue } from './replication-model.ts';

type Series = ChartDataset<'line', { x: number; y: number | null }[]>[];

/** Each replica's count, and how far behind the highest it is, on the Lab's time axis. */
function series(history: readonly LiveSnapshot[], key: string, field: string, labStartMs: number): { values: Series; lag: Series } {
  const nodes = [...new Set(history.flatMap((s) => Object.keys(s.values[key] ?? {})))].sort();
  const values: Series = [];
  const lag: Series = [];
  for (const id of nodes) {
    const v: { x: number; y: number | null }[] = [];
    const l: { x: number; y: number | null }[] = [];
    for (const s of history) {
      const all = Object.values(s.values[key] ?? {}).map((x) => (x.state === 'ok' ? fieldValue(x.value, field) : null));
      const top = Math.max(0, ...all.map((x) => x ?? 0));
      const rv = s.values[key]?.[id];
      const y = rv && rv.state === 'ok' ? fieldValue(rv.value, field) : null;
      const x = (s.atMs - labStartMs) / 1000;
      v.push({ x, y });
      l.push({ x, y: y === null ? null : top - y });
    }
    values.push({ label: id, data: v, borderColor: nodeColor(id), backgroundColor: nodeColor(id) });
    lag.push({ label: `${id} behind`, data: l, borderColor: nodeColor(id), backgroundColor: nodeColor(id) });
  }
  return { values, lag };
}

/** "Simulate high traffic": a burst of likes over every node, charted live, checked at the end. */
export function BurstPanel(props: { tweetKey: string; history: readonly LiveSnapshot[]; burst: BurstStatus | null; w: number; labStartMs: number; nowT: number; faults: readonly FaultInterval[] }): ReactNode {
  const [rate, setRate] = useState(50);
  const [duration, setDuration] = useState(15);
  const { values, lag } = useMemo(() => series(props.history, props.tweetKey, 'likes', props.labStartMs), [props.history, props.tweetKey, props.labStartMs]);
  const marks = { faults: props.faults, anomalies: [], nowT: props.nowT };
  const b = props.burst?.config.key === props.tweetKey ? props.burst : null;
  const running = b !== null && b.phase !== 'done';
  const r = b?.result;
  return (
    <section className="panel ts-burst" data-testid="burst">
      <h2>Simulate high traffic</h2>
      <div className="row fields">
        <label>
          likes / s
          <input type="number" min={1} max={500} value={rate} onChange={(e) => setRate(Number(e.target.value))} data-testid="burst-rate" />
        </label>
        <label>
          seconds
          <input type="number" min={1} max={120} value={duration} onChange={(e) => setDuration(Number(e.target.value))} data-testid="burst-duration" />
        </label>
        <ActionButton label={running ? 'Burst running…' : 'Start burst'} kind="primary" disabled={running} testId="burst-start" onClick={() => demoApi.burst({ key: props.tweetKey, field: 'likes', rate, durationS: duration, w: props.w })} />
        <span className="hint">spread round-robin over every running node, W={props.w}; a failed like is retried on the next node with the same Idempotency-Key</span>
      </div>
      {b && (
        <div className="numbers" data-testid="burst-status" data-phase={b.phase}>
          <Stat label="phase" value={b.phase} />
          <Stat label="issued" value={b.issued} />
          <Stat label="acknowledged" value={b.acknowledged} testId="burst-acked" />
          <Stat label="retries" value={b.retries} />
          <Stat label="in flight" value={b.inFlight} />
          <Stat label="unresolved" value={b.unresolved} bad={b.unresolved > 0} />
          <Stat label="per node" value={Object.entries(b.perNode).map(([id, n]) => `${id}:${n}`).join(' ') || '—'} />
        </div>
      )}
      {r && (
        <div className={`ts-verdict ${r.lost === 0 && r.converged && r.extra === 0 ? 'ok' : 'bad'}`} data-testid="burst-result" data-lost={r.lost} data-converged={String(r.converged)}>
          <b>
            {r.lost === 0 && r.converged && r.extra === 0 ? '✅ 0 lost' : r.lost > 0 ? `❌ ${r.lost} lost` : !r.converged ? '⏳ replicas had not converged at the deadline' : `⚠️ ${r.extra} counted beyond the acknowledged`}
          </b>{' '}
          — before the burst {r.baseline.toLocaleString('en-US')}, + {b?.acknowledged ?? 0} acknowledged = expected {r.expected.toLocaleString('en-US')}; final on every replica:{' '}
          {Object.entries(r.finals).map(([id, v]) => (
            <span key={id} className="ts-final" data-testid={`burst-final-${id}`}>
              {id} {v === null ? '—' : v.toLocaleString('en-US')}
            </span>
          ))}
          {b && b.unresolved > 0 && <span> ({b.unresolved} increments never acknowledged: their outcome is unknown, so they may or may not count)</span>}
        </div>
      )}
      <div className="chart-grid">
        <TimeChart title="Likes on each replica (its own copy)" datasets={values} marks={marks} yLabel="likes" testId="chart-replica-values" />
        <TimeChart title="Replication lag: likes behind the highest replica" datasets={lag} marks={marks} yLabel="likes behind" testId="chart-replica-lag" />
      </div>
    </section>
  );
}

function Stat(props: { label: string; value: string | number; bad?: boolean; testId?: string }): ReactNode {
  return (
    <div className={`stat ${props.bad ? 'bad' : ''}`} data-testid={props.testId}>
      <span className="value">{props.value}</span>
      <span className="label">{props.label}</span>
    </div>
  );
}
