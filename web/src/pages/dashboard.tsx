import type { ReactNode } from 'react';
import { useLab } from '../data/lab-source.ts';
import { NodeCards } from '../components/node-cards.tsx';
import { RingView } from '../components/ring-view.tsx';
import { PartitionEditor } from '../components/partition-editor.tsx';
import { MetricCharts } from '../components/metric-charts.tsx';
import { TrafficPanel } from '../components/traffic-panel.tsx';
import { CheckerPanel } from '../components/checker-panel.tsx';
import { ConvergenceList } from '../components/convergence-list.tsx';
import { EventLog } from '../components/event-log.tsx';

/** `/`: the cluster dashboard. Every panel renders a part of one snapshot of the Lab's state. */
export function Dashboard(): ReactNode {
  const { state, events } = useLab();
  if (!state) return <p className="panel">Connecting to the Lab…</p>;
  return (
    <div className="dashboard">
      <NodeCards nodes={state.nodes} />
      <div className="grid">
        <MetricCharts state={state} />
        <RingView ring={state.ring} nodes={state.nodes} />
        <PartitionEditor nodes={state.nodes} plan={state.plan} />
        <TrafficPanel traffic={state.traffic} n={state.ring?.n ?? 3} />
        <CheckerPanel checker={state.checker} />
        <ConvergenceList records={state.convergence} />
        <EventLog events={events} />
      </div>
    </div>
  );
}
