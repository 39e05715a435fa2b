import type { ReactNode } from 'react';
import type { LabEvent, LabState } from '../../../src/lab/lab-types.ts';
import { useLab } from '../data/lab-source.ts';
import { NodeCards } from '../components/node-cards.tsx';
import { RingView } from '../components/ring-view.tsx';
import { PartitionEditor } from '../components/partition-editor.tsx';
import { FaultList } from '../components/fault-list.tsx';
import { MetricCharts } from '../components/metric-charts.tsx';
import { TrafficPanel } from '../components/traffic-panel.tsx';
import { CheckerPanel } from '../components/checker-panel.tsx';
import { ConvergenceList } from '../components/convergence-list.tsx';
import { EventLog } from '../components/event-log.tsx';

/** `/`: the cluster dashboard, live. */
export function Dashboard(): ReactNode {
  const { state, events } = useLab();
  if (!state) return <p className="panel">Connecting to the Lab…</p>;
  return <DashboardView state={state} events={events} live />;
}

/**
 * Every panel renders a part of one snapshot of the Lab's state: the live one (`live`: with
 * the controls), or a recorded run's as of the replay slider (read-only; faults listed where
 * the editor would be).
 */
export function DashboardView(props: { state: LabState; events: readonly LabEvent[]; live: boolean }): ReactNode {
  const { state, events, live } = props;
  return (
    <div className="dashboard">
      <NodeCards nodes={state.nodes} readOnly={!live} />
      <div className="grid">
        <MetricCharts state={state} />
        <RingView ring={state.ring} nodes={state.nodes} />
        {live ? <PartitionEditor nodes={state.nodes} plan={state.plan} /> : <FaultList faults={state.faults} nowT={state.nowT} />}
        <TrafficPanel traffic={state.traffic} n={state.ring?.n ?? 3} readOnly={!live} />
        <CheckerPanel checker={state.checker} />
        <ConvergenceList records={state.convergence} live={live} />
        <EventLog events={events} />
      </div>
    </div>
  );
}
