import type { ReactNode } from 'react';
import type { CheckerReport } from '../../../src/lab/lab-types.ts';

/** What the online checker sees in the traffic generator's history, live. */
export function CheckerPanel(props: { checker: CheckerReport }): ReactNode {
  const c = props.checker;
  const recent = [...c.anomalies].reverse().slice(0, 8);
  return (
    <section className="panel checker" data-testid="checker">
      <h2>Consistency checker</h2>
      <p className="hint">{c.name}</p>
      <div className="numbers">
        <Stat label="reads" value={c.reads} />
        <Stat label="acked writes" value={c.acknowledgedWrites} />
        <Stat label="stale reads" value={c.staleReads} bad={c.staleReads > 0} testId="checker-stale" />
        <Stat label="lost writes" value={c.lostWrites} bad={c.lostWrites > 0} testId="checker-lost" />
        <Stat label="sibling rate" value={`${(c.siblingRate * 100).toFixed(1)}%`} bad={c.siblingReads > 0} testId="checker-siblings" />
      </div>
      {recent.length > 0 && (
        <ul className="anomalies" data-testid="anomalies">
          {recent.map((a, i) => (
            <li key={`${a.t}-${i}`}>
              <b>{a.kind}</b> <code>{a.key}</code> at {(a.t / 1000).toFixed(1)} s: {a.detail}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Stat(props: { label: string; value: number | string; bad?: boolean; testId?: string }): ReactNode {
  return (
    <div className={`stat ${props.bad ? 'bad' : ''}`} data-testid={props.testId}>
      <span className="value">{props.value}</span>
      <span className="label">{props.label}</span>
    </div>
  );
}
