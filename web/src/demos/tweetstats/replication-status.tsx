import type { ReactNode } from 'react';
import { ActionButton } from '../../components/action-button.tsx';
import { nodeColor } from '../../components/colors.ts';
import { labApi } from '../../data/lab-source.ts';
import { ago, type ReplicaRow } from './replication-model.ts';

const ICON: Record<ReplicaRow['status'], string> = { synced: '✅', syncing: '⏳', down: '❌', missing: '∅' };

/** One row per replica: its own stored count, sync state, lag, last catch-up, and its faults. */
export function ReplicationStatus(props: {
  rows: readonly ReplicaRow[];
  field: string;
  nowMs: number;
  repairs: Readonly<Record<string, string | null>>;
  isolated: readonly string[];
  n: number;
  w: number;
  r: number;
  onW: (w: number) => void;
  onR: (r: number) => void;
}): ReactNode {
  const others = (id: string): string[] => props.rows.map((x) => x.node).filter((x) => x !== id);
  return (
    <section className="panel ts-replication" data-testid="replication-status">
      <h2>Replication Status</h2>
      <table>
        <tbody>
          {props.rows.map((row) => (
            <tr key={row.node} data-testid={`replica-row-${row.node}`} data-status={row.status} data-value={row.value ?? ''}>
              <td>
                <span className="swatch" style={{ background: nodeColor(row.node) }} />
                <b>Node-{row.node.replace(/^n/, '')}</b> <span className="hint">({row.primary ? 'Primary' : 'Replica'})</span>
              </td>
              <td className="num">
                <span className="ts-icon">{ICON[row.status]}</span> <b data-testid={`replica-value-${row.node}`}>{row.value === null ? '—' : row.value.toLocaleString('en-US')}</b> {props.field}
              </td>
              <td className="ts-sync" data-testid={`replica-sync-${row.node}`}>
                {row.status === 'synced' && row.syncedAtMs !== null && <>synced {ago(Math.max(0, props.nowMs - row.syncedAtMs))} ago</>}
                {row.status === 'syncing' && (
                  <>
                    syncing… {row.behind} behind, lag <b data-testid={`replica-lag-${row.node}`}>{ago(row.lagMs)}</b>
                  </>
                )}
                {row.status === 'down' && <>down — its copy is frozen</>}
                {row.status === 'missing' && <>no copy yet</>}
                {row.lastCatchUp && (
                  <div className="hint" data-testid={`replica-catchup-${row.node}`}>
                    last catch-up took {ago(row.lastCatchUp.ms)} ({ago(Math.max(0, props.nowMs - row.lastCatchUp.atMs))} ago)
                  </div>
                )}
                {props.repairs[row.node] && <div className="hint">{props.repairs[row.node]}</div>}
              </td>
              <td className="ts-actions">
                {row.status === 'down' ? (
                  <ActionButton label="Restart" testId={`ts-restart-${row.node}`} onClick={() => labApi.restart(row.node)} />
                ) : (
                  <ActionButton label="Kill" kind="danger" testId={`ts-kill-${row.node}`} onClick={() => labApi.kill(row.node)} />
                )}
                {props.isolated.includes(row.node) ? (
                  <ActionButton label="Heal" testId={`ts-heal-${row.node}`} onClick={() => labApi.heal()} />
                ) : (
                  <ActionButton label="Isolate" testId={`ts-isolate-${row.node}`} onClick={() => labApi.partition([[row.node], others(row.node)])} />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="row ts-quorum">
        <span>
          Replication Factor: <b data-testid="rf">{props.n}</b>
        </span>
        <label>
          Write Quorum W{' '}
          <select value={props.w} onChange={(e) => props.onW(Number(e.target.value))} data-testid="w-select">
            {Array.from({ length: props.n }, (_, i) => i + 1).map((v) => (
              <option key={v}>{v}</option>
            ))}
          </select>
        </label>
        <label>
          Read Quorum R{' '}
          <select value={props.r} onChange={(e) => props.onR(Number(e.target.value))} data-testid="r-select">
            {Array.from({ length: props.n }, (_, i) => i + 1).map((v) => (
              <option key={v}>{v}</option>
            ))}
          </select>
        </label>
        <span className="hint">{props.w + props.r > props.n ? 'R + W > N: every read overlaps the latest acknowledged write' : 'R + W ≤ N: a read may miss the latest write'}</span>
      </div>
    </section>
  );
}
