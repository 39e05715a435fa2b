import type { ReactNode } from 'react';
import type { ConvergenceRecord } from '../../../src/lab/lab-types.ts';
import { Link } from '../router.tsx';
import { downloadWithToken } from '../data/lab-source.ts';

/** Convergence time per fault: heal or restart → every replica holds the same data. Live, with the run's export and replay. */
export function ConvergenceList(props: { records: readonly ConvergenceRecord[]; live?: boolean }): ReactNode {
  const rows = [...props.records].reverse();
  return (
    <section className="panel convergence" data-testid="convergence">
      <h2>Convergence</h2>
      {rows.length === 0 ? (
        <p className="hint">Heal a partition or restart a node: the time until all replicas agree appears here.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>after</th>
              <th>time</th>
              <th>how</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.id} data-state={r.state} data-testid="convergence-row">
                <td>{r.fault}</td>
                <td className="num" data-testid={r.state === 'converged' ? 'convergence-ms' : undefined}>
                  {r.state === 'converged' ? `${(r.ms! / 1000).toFixed(2)} s` : r.state === 'gave-up' ? 'gave up' : 'measuring…'}
                </td>
                <td title={r.detail}>
                  {r.method === 'merkle' ? 'Merkle roots' : 'local reads'} <span className="hint">{r.detail}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {props.live !== false && (
        <p className="row">
          <a href="/api/run?download=1" download data-testid="export" onClick={downloadWithToken}>
            Export run (history + events, JSON)
          </a>
          <Link to="/replay">Replay a run</Link>
        </p>
      )}
    </section>
  );
}
