import { useState, type ReactNode } from 'react';
import type { LabNode } from '../../../../src/lab/lab-types.ts';
import { displayName, REGIONS } from '../../../../src/lab/cdn-regions.ts';
import { ActionButton } from '../../components/action-button.tsx';
import { cdnApi, formatBytes, type Summary } from './cdn-source.ts';

interface HandoffStatus {
  readonly active?: number | boolean;
  readonly partitions?: readonly { partition: number; targets?: readonly string[]; keysSent?: number; keysTotal?: number; percent?: number }[];
}

/** [Add Node] [Remove Node] [Rebalance], handoff progress and the measured migration. */
export function MigrationPanel(props: { nodes: readonly LabNode[]; summary: Summary | null }): ReactNode {
  const used = new Set(props.nodes.map((n) => n.zone));
  const free = REGIONS.filter((r) => !used.has(r.id));
  const [zone, setZone] = useState('');
  const [victim, setVictim] = useState('');
  const addZone = zone && free.some((r) => r.id === zone) ? zone : (free[0]?.id ?? 'us-east');
  const running = props.nodes.filter((n) => n.process === 'running');
  const removeId = victim && running.some((n) => n.id === victim) ? victim : (running[running.length - 1]?.id ?? '');
  const migrations = props.summary?.migrations ?? [];
  const last = migrations[migrations.length - 1];
  const busy = last !== undefined && last.phase !== 'done' && last.phase !== 'failed';
  const handoffs = props.nodes.flatMap((n) => ((n.handoff as HandoffStatus | null)?.partitions ?? []).map((p) => ({ node: n.id, ...p })));
  const s = last?.stats;

  return (
    <section className="panel cdn-migration" data-testid="migration">
      <h2>Nodes &amp; rebalancing</h2>
      <div className="row">
        <select value={addZone} onChange={(e) => setZone(e.target.value)} data-testid="add-zone">
          {(free.length ? free : REGIONS).map((r) => (
            <option key={r.id} value={r.id}>
              Node-{r.name}
            </option>
          ))}
        </select>
        <ActionButton label="Add Node" onClick={() => cdnApi.addNode(addZone)} testId="add-node" kind="primary" disabled={busy} />
        <select value={removeId} onChange={(e) => setVictim(e.target.value)} data-testid="remove-which">
          {running.map((n) => (
            <option key={n.id} value={n.id}>
              {displayName(n.id, n.zone, props.nodes)} ({n.id})
            </option>
          ))}
        </select>
        <ActionButton label="Remove Node" onClick={() => cdnApi.removeNode(removeId)} testId="remove-node" kind="danger" disabled={busy || running.length <= 3} />
        <ActionButton label="Rebalance" onClick={() => cdnApi.rebalance()} testId="rebalance" />
      </div>
      <p className="hint">
        Add/Remove are real joins and leaves: the ring reassigns only the partitions balance needs and the nodes hand those over. Rebalance runs an anti-entropy exchange on every node now, so every replica holds its copies, and re-counts them. At least 3 nodes stay (N=3).
      </p>
      {handoffs.length > 0 && (
        <div className="handoffs" data-testid="handoffs">
          <b>Handoff in progress</b>
          {handoffs.slice(0, 12).map((h) => (
            <div key={`${h.node}-${h.partition}`} className="handoff-row">
              <span>
                {h.node} → {(h.targets ?? []).join(', ')} · partition {h.partition}
              </span>
              <progress max={100} value={h.percent ?? (h.keysTotal ? ((h.keysSent ?? 0) / h.keysTotal) * 100 : 0)} />
              <span>
                {h.keysSent ?? 0}/{h.keysTotal ?? '?'} keys
              </span>
            </div>
          ))}
        </div>
      )}
      {last && (
        <div className="migration-stats" data-testid="migration-stats" data-phase={last.phase} data-ratio={s ? s.ratioToMinimum.toFixed(3) : ''} data-read-failures={last.reads.failed}>
          <p>
            <b>
              {last.kind === 'add' ? 'Added' : 'Removed'} {last.target}
            </b>{' '}
            — {last.phase === 'done' ? 'done' : last.phase === 'failed' ? `failed: ${last.error}` : `${last.phase}…`}
            {last.endedAtMs ? ` in ${((last.endedAtMs - last.startedAtMs) / 1000).toFixed(1)} s` : ''}
          </p>
          <p data-testid="readability">
            Reads of every file during the change: {last.reads.ok} ok, <b className={last.reads.failed ? 'bad' : 'good'}>{last.reads.failed} failed</b>
            {last.reads.lastError ? ` (${last.reads.lastError})` : ''}
          </p>
          {s && (
            <table className="stats">
              <tbody>
                <tr>
                  <th>partitions moved</th>
                  <td className="num">{s.partitionsMoved}</td>
                </tr>
                <tr>
                  <th>files with a new copy</th>
                  <td className="num">
                    {s.filesMoved} of {s.files}
                  </td>
                </tr>
                <tr>
                  <th>replica copies moved</th>
                  <td className="num" data-testid="copies-moved">
                    {s.copiesMoved} of {s.copiesBefore} ({s.copiesBefore ? ((s.copiesMoved / s.copiesBefore) * 100).toFixed(1) : 0}%) · {formatBytes(s.bytesMoved)}
                  </td>
                </tr>
                <tr>
                  <th>theoretical minimum (all copies ÷ {last.kind === 'add' ? 'n+1' : 'n'})</th>
                  <td className="num" data-testid="minimum">
                    {s.minimumCopies} → measured is <b>{s.ratioToMinimum.toFixed(2)}×</b> the minimum
                  </td>
                </tr>
                <tr>
                  <th>with modulo-N hashing instead</th>
                  <td className="num" data-testid="modulo">
                    {s.moduloCopies} copies ({s.copiesBefore ? ((s.moduloCopies / s.copiesBefore) * 100).toFixed(0) : 0}%) would have moved
                  </td>
                </tr>
                <tr>
                  <th>files whose primary changed: ring vs modulo-N</th>
                  <td className="num" data-testid="primaries">
                    {s.primariesMoved} vs {s.moduloPrimaries} of {s.files}
                  </td>
                </tr>
              </tbody>
            </table>
          )}
          {s && s.nodesBefore <= 3 && (
            <p className="hint">With 3 nodes and N=3 every node holds every file, so modulo-N can only add copies too; its cost shows in the primaries it reshuffles (and in copies once there are more nodes than N).</p>
          )}
        </div>
      )}
    </section>
  );
}
