import { useState, type ReactNode } from 'react';
import type { AutoSyncStatus } from '../../../../src/lab/demo-types.ts';
import { ActionButton } from '../../components/action-button.tsx';
import { warehouse } from './inventory-model.ts';

export interface AeView {
  readonly partitioned: boolean;
  readonly discrepancies: number;
  /** Discrepancies found when the current repair began (heal or manual sync), if one did. */
  readonly foundAtStart: number | null;
  readonly rootsAgree: boolean;
  readonly progress: Readonly<Record<string, { percent: number; done: number; total: number; trigger: string }>>;
  readonly repairs: readonly string[];
  readonly convergedInMs: number | null;
}

/** 🔄 Anti-Entropy Status: detection, progress from the nodes' `ae-progress` events, the switches. */
export function AeStatus(props: { view: AeView; autoSync: AutoSyncStatus | null; onManual: () => Promise<unknown>; onAuto: (on: boolean) => Promise<unknown>; onTrees: () => void; treesOpen: boolean }): ReactNode {
  const v = props.view;
  // Shown switched at once; the Lab's status (on the live socket) confirms it a moment later.
  const [wanted, setWanted] = useState<boolean | null>(null);
  const on = wanted ?? props.autoSync?.on ?? false;
  if (wanted !== null && props.autoSync?.on === wanted) setWanted(null);
  const entries = Object.entries(v.progress);
  const overall = entries.length ? Math.min(...entries.map(([, p]) => p.percent)) : null;
  const intervals = Object.values(props.autoSync?.nodeIntervalMs ?? {}).filter((x): x is number => typeof x === 'number');
  const nodeInterval = intervals.length ? Math.max(...intervals) : null;
  let headline: ReactNode;
  if (v.partitioned) headline = <>Network partition in place: {v.discrepancies} SKU(s) differ; anti-entropy cannot reach the cut-off warehouse until the network heals.</>;
  else if (!v.rootsAgree)
    headline = (
      <>
        Detecting inconsistencies… found <b data-testid="ae-found">{v.foundAtStart ?? v.discrepancies}</b> discrepanc{(v.foundAtStart ?? v.discrepancies) === 1 ? 'y' : 'ies'}
        {v.discrepancies === 0 && ' (SKU values agree; Merkle roots still differ)'}
      </>
    );
  else
    headline = (
      <>
        ✅ All warehouses consistent — Merkle roots match{v.foundAtStart !== null && v.foundAtStart > 0 && `; ${v.foundAtStart} discrepanc${v.foundAtStart === 1 ? 'y' : 'ies'} repaired`}
        {v.convergedInMs !== null && ` in ${(v.convergedInMs / 1000).toFixed(1)} s`}
      </>
    );
  return (
    <section className="panel inv-ae" data-testid="ae-status" data-state={v.partitioned ? 'partitioned' : v.rootsAgree ? 'consistent' : 'syncing'}>
      <h2>🔄 Anti-Entropy Status</h2>
      <p data-testid="ae-headline">{headline}</p>
      {entries.length > 0 && (
        <div className="inv-progress" data-testid="ae-progress" data-percent={overall ?? ''}>
          {entries.map(([node, p]) => (
            <div key={node} className="inv-bar-row" data-testid={`ae-progress-${node}`} data-percent={p.percent}>
              <span className="inv-bar-label">
                {p.percent < 100 ? 'Syncing' : 'Synced'} {warehouse(node).short}
              </span>
              <span className="inv-bar">
                <span style={{ width: `${p.percent}%` }} />
              </span>
              <span className="num">
                {p.percent}% <span className="hint">({p.done}/{p.total} partitions, {p.trigger})</span>
              </span>
            </div>
          ))}
        </div>
      )}
      {v.repairs.length > 0 && (
        <ul className="inv-repairs" data-testid="ae-repairs">
          {v.repairs.slice(0, 6).map((r, i) => (
            <li key={i}>{r}</li>
          ))}
        </ul>
      )}
      <div className="row">
        <ActionButton label="Manual Sync" kind="primary" testId="manual-sync" onClick={props.onManual} />
        <button type="button" onClick={props.onTrees} data-testid="view-trees">
          {props.treesOpen ? 'Hide Merkle Trees' : 'View Merkle Trees'}
        </button>
        <label className="inv-toggle">
          <input type="checkbox" checked={on}
            onChange={(e) => {
              const next = e.target.checked;
              setWanted(next);
              props.onAuto(next).catch(() => setWanted(null));
            }} data-testid="auto-sync" /> Automatic sync (every{' '}
          {((props.autoSync?.periodMs ?? 3000) / 1000).toFixed(0)} s, and right after a heal)
        </label>
      </div>
      <p className="hint">
        The switch is the Lab's: while on, the Lab asks every warehouse for an exchange round every {((props.autoSync?.periodMs ?? 3000) / 1000).toFixed(0)} s
        {props.autoSync?.rounds ? ` (${props.autoSync.rounds} so far)` : ''}. The nodes also run their own rounds
        {nodeInterval ? ` every ${(nodeInterval / 1000).toFixed(0)} s` : ''} and soon after a peer comes back — a node setting (<code>--anti-entropy-interval-ms</code>) with no
        runtime switch, so switching off here does not stop those. Hinted handoff may deliver missed orders first; the Merkle roots are the proof that nothing is left.
      </p>
    </section>
  );
}
