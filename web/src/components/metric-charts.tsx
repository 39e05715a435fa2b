import { useMemo, type ReactNode } from 'react';
import type { ChartDataset } from 'chart.js';
import type { LabState } from '../../../src/lab/lab-types.ts';
import { nodeColor } from './colors.ts';
import { TimeChart, type Marks } from './time-chart.tsx';

type Points = { x: number; y: number | null }[];

/** Throughput and latency per node (from each node's /metrics) and the generator's outcomes. */
export function MetricCharts(props: { state: LabState }): ReactNode {
  const { series, faults, nowT, checker, trafficSeries } = props.state;
  const marks: Marks = useMemo(() => ({ faults, nowT, anomalies: checker.anomalies.map((a) => a.t) }), [faults, nowT, checker]);
  const ids = Object.keys(series).sort();
  const line = (label: string, color: string, data: Points, dash?: number[]): ChartDataset<'line', Points> => ({
    label,
    data,
    borderColor: color,
    backgroundColor: color,
    ...(dash ? { borderDash: dash } : {}),
  });
  const rps = ids.map((id) => line(id, nodeColor(id), (series[id] ?? []).map((p) => ({ x: p.t / 1000, y: p.rps }))));
  const latency = ids.flatMap((id) => [
    line(`${id} p50`, nodeColor(id), (series[id] ?? []).map((p) => ({ x: p.t / 1000, y: p.p50Ms }))),
    line(`${id} p99`, nodeColor(id), (series[id] ?? []).map((p) => ({ x: p.t / 1000, y: p.p99Ms })), [4, 3]),
  ]);
  const outcomes = [
    line('ok', '#16a34a', trafficSeries.map((p) => ({ x: p.t / 1000, y: p.ok }))),
    line('failed / unknown', '#dc2626', trafficSeries.map((p) => ({ x: p.t / 1000, y: p.failed }))),
  ];
  return (
    <section className="panel charts wide" data-testid="charts">
      <h2>Throughput and latency</h2>
      <div className="chart-grid">
        <TimeChart title="requests/s per node" yLabel="req/s" datasets={rps} marks={marks} testId="chart-throughput" />
        <TimeChart title="latency p50 (solid) / p99 (dashed)" yLabel="ms" datasets={latency} marks={marks} testId="chart-latency" />
        <TimeChart title="traffic generator: outcomes per second (red ticks: checker anomalies)" yLabel="ops/s" datasets={outcomes} marks={marks} testId="chart-traffic" />
      </div>
      <p className="hint legend-faults">
        Bands: <span className="band kill">kill</span> <span className="band partition">partition</span> <span className="band links">links</span>
      </p>
    </section>
  );
}
