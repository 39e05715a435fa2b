import type { ReactNode } from 'react';
import type { FaultInterval } from '../../../src/lab/lab-types.ts';
import { FAULT_COLORS } from './colors.ts';

/** The faults injected so far, open ones first: what a replay shows where the live dashboard has its editor. */
export function FaultList(props: { faults: readonly FaultInterval[]; nowT: number }): ReactNode {
  const open = props.faults.filter((f) => f.endT === null);
  const ended = props.faults.filter((f) => f.endT !== null).reverse();
  return (
    <section className="panel faults" data-testid="fault-list">
      <h2>Faults</h2>
      {props.faults.length === 0 ? (
        <p className="hint">No fault injected by this time.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>fault</th>
              <th>from</th>
              <th>until</th>
            </tr>
          </thead>
          <tbody>
            {[...open, ...ended].map((f) => (
              <tr key={f.id} data-testid="fault-row" data-open={f.endT === null} style={{ background: FAULT_COLORS[f.kind] }}>
                <td>{f.label}</td>
                <td className="num">{(f.startT / 1000).toFixed(1)} s</td>
                <td className="num">{f.endT === null ? `ongoing (${((props.nowT - f.startT) / 1000).toFixed(1)} s)` : `${(f.endT / 1000).toFixed(1)} s`}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
