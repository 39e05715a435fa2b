import { useMemo, type ReactNode } from 'react';
import type { ChartDataset } from 'chart.js';
import type { LabState, MetricPoint } from '../../../src/lab/lab-types.ts';
import { nodeColor } from './colors.ts';
import { TimeChart, type Marks } from './time-chart.tsx';

type Points = { x: number; y: number | null }[];

/**
 * Throughput, latency and replication backlog per node (from each node's /metrics) and the
 * generator's outcomes, all on one time axis with the fault bands.
 */
export function MetricCharts(props: { state: LabState }): ReactNode {
  const { series, faults, nowT, checker, trafficSeries } = props.state;
  const marks: Marks = useMemo(() => ({ faults, nowT, anomalies: checker.anomalies.map((a) => a.t) }), [faults, nowT, checker]);
  // Rebuilt only when the Lab's state (not every event) changes: each new dataset array makes
  // Chart.js redraw, and events arrive many times a second.
  const { rps, latency, backlog, outcomes } = useMemo(() => datasetsOf(series, trafficSeries), [series, trafficSeries]);
  return (
    <section className="panel charts wide" data-testid="charts">
      <h2>Throughput, latency and replication lag</h2>
      <div className="chart-grid">
        <TimeChart title="requests/s per node" yLabel="req/s" datasets={rps} marks={marks} testId="chart-throughput" />
        <TimeChart title="latency p50 (solid) / p99 (dashed)" yLabel="ms" datasets={latency} marks={marks} testId="chart-latency" />
        <TimeChart title="replication lag: writes owed to replicas (hints pending + handoff keys) per node" yLabel="writes" datasets={backlog} marks={marks} testId="chart-lag" />
        <TimeChart title="traffic generator: outcomes per second (red ticks: checker anomalies)" yLabel="ops/s" datasets={outcomes} marks={marks} testId="chart-traffic" />
      </div>
      <p className="hint legend-faults">
        Bands: <span className="band kill">kill</span> <span className="band partition">partition</span> <span className="band links">links</span> <span className="band skew">clock skew</span>
      </p>
    </section>
  );
}

function line(label: string, color: string, data: Points, dash?: number[]): ChartDataset<'line', Points> {
  return { label, data, borderColor: color, backgroundColor: color, ...(dash ? { borderDash: dash } : {}) };
}

function datasetsOf(series: LabState['series'], trafficSeries: LabState['trafficSeries']): Record<'rps' | 'latency' | 'backlog' | 'outcomes', ChartDataset<'line', Points>[]> {
  const ids = Object.keys(series).sort();
  const points = (id: string, y: (p: MetricPoint) => number | null): Points => (series[id] ?? []).map((p) => ({ x: p.t / 1000, y: y(p) }));
  return {
    rps: ids.map((id) => line(id, nodeColor(id), points(id, (p) => p.rps))),
    latency: ids.flatMap((id) => [line(`${id} p50`, nodeColor(id), points(id, (p) => p.p50Ms)), line(`${id} p99`, nodeColor(id), points(id, (p) => p.p99Ms), [4, 3])]),
    // Replication lag as a backlog (docs/LAB.md): writes a replica is still owed, held here as
    // hints or waiting in a handoff. A gap where the node did not answer, never a made-up zero.
    backlog: ids.map((id) => line(id, nodeColor(id), points(id, (p) => (p.hintsPending === null || p.hintsPending === undefined ? null : p.hintsPending + (p.handoffKeysPending ?? 0))))),
    outcomes: [
      line('ok', '#16a34a', trafficSeries.map((p) => ({ x: p.t / 1000, y: p.ok }))),
      line('failed / unknown', '#dc2626', trafficSeries.map((p) => ({ x: p.t / 1000, y: p.failed }))),
    ],
  };
}
