import { useState, type ReactNode } from 'react';
import type { LabNode } from '../../../src/lab/lab-types.ts';
import { skewLabel } from '../../../src/lab/skew-label.ts';
import { labApi } from '../data/lab-source.ts';
import { ActionButton } from './action-button.tsx';
import { nodeColor } from './colors.ts';

/** What the skew field accepts, in seconds: the node's own bound (±1 day, src/server/clock-skew.ts). */
const SKEW_S_MAX = 86_400;

/**
 * A card per node: health, what its peers say, its data, its clock, and Kill / Restart /
 * Remove / clock skew. `readOnly` (a replay) shows the same card without the controls.
 */
export function NodeCards(props: { nodes: readonly LabNode[]; readOnly?: boolean }): ReactNode {
  return (
    <section className="cards" aria-label="nodes">
      {props.nodes.map((n) => (
        <NodeCard key={n.id} node={n} readOnly={props.readOnly ?? false} />
      ))}
      {!props.readOnly && (
        <div className="card add-card">
          <ActionButton label="+ Add node" onClick={() => labApi.addNode()} testId="add-node" />
        </div>
      )}
    </section>
  );
}

function NodeCard({ node, readOnly }: { node: LabNode; readOnly: boolean }): ReactNode {
  const alive = node.process === 'running' || node.process === 'starting';
  const peers = Object.entries(node.seenBy);
  return (
    <article className={`card node health-${node.health}`} data-testid={`node-card-${node.id}`} data-health={node.health} style={{ borderTopColor: nodeColor(node.id) }}>
      <header>
        <h3>{node.id}</h3>
        <span className={`badge ${node.health}`} data-testid={`node-health-${node.id}`}>
          {node.health}
        </span>
      </header>
      <dl>
        <dt>zone</dt>
        <dd>{node.zone}</dd>
        <dt>process</dt>
        <dd>
          {node.process}
          {node.pid ? ` (pid ${node.pid})` : ''}
        </dd>
        <dt>seen by</dt>
        <dd className="peers">
          {peers.length === 0 ? '—' : peers.map(([id, v]) => <span key={id} className={`peer ${v}`}>{`${id}: ${v}`}</span>)}
        </dd>
        <dt>keys</dt>
        <dd>{node.keys ?? '—'}</dd>
        <dt>partitions</dt>
        <dd>{node.partitionsOwned ?? '—'}</dd>
        <dt>hints pending</dt>
        <dd>{node.hintsPending ?? '—'}</dd>
        <dt>anti-entropy</dt>
        <dd>{summarize(node.antiEntropy)}</dd>
        <dt>clock</dt>
        <dd data-testid={`node-clock-${node.id}`} className={node.clockSkewMs ? 'skewed' : ''}>
          {node.clockSkewMs === null ? '—' : node.clockSkewMs === 0 ? 'in sync' : `${skewLabel(node.clockSkewMs)} skew`}
        </dd>
      </dl>
      {!readOnly && (
        <footer>
          <ActionButton label="Kill" kind="danger" disabled={!alive} onClick={() => labApi.kill(node.id)} testId={`kill-${node.id}`} />
          <ActionButton label="Restart" disabled={alive} onClick={() => labApi.restart(node.id)} testId={`restart-${node.id}`} />
          <ActionButton label="Remove" disabled={node.process !== 'running'} onClick={() => labApi.removeNode(node.id)} testId={`remove-${node.id}`} />
          <SkewControl node={node} />
        </footer>
      )}
    </article>
  );
}

/** Sets the node's clock skew in seconds (0 sets it right): `POST /api/nodes/:id/skew`. */
function SkewControl({ node }: { node: LabNode }): ReactNode {
  const [draft, setDraft] = useState<string | null>(null);
  const current = String(Math.round((node.clockSkewMs ?? 0) / 1000));
  const value = draft ?? current;
  const seconds = Number(value);
  const valid = value.trim() !== '' && Number.isInteger(seconds) && Math.abs(seconds) <= SKEW_S_MAX;
  return (
    <div className="skew-control">
      <label>
        clock skew s
        <input type="number" step={1} min={-SKEW_S_MAX} max={SKEW_S_MAX} value={value} aria-label={`clock skew of ${node.id} in seconds`} data-testid={`skew-input-${node.id}`} onChange={(e) => setDraft(e.target.value)} />
      </label>
      <ActionButton label="Set" disabled={!valid || node.process !== 'running'} testId={`skew-set-${node.id}`} onClick={() => labApi.skew(node.id, seconds * 1000).then(() => setDraft(null))} />
    </div>
  );
}

/** The anti-entropy status is another engineer's shape; show what it has, briefly. */
function summarize(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v !== 'object') return typeof v === 'string' ? v : JSON.stringify(v);
  const o = v as Record<string, unknown>;
  const parts: string[] = [];
  if (typeof o.enabled === 'boolean') parts.push(o.enabled ? 'on' : 'off');
  if (typeof o.state === 'string') parts.push(o.state);
  if (Array.isArray(o.exchanges)) parts.push(`${o.exchanges.length} exchanges`);
  return parts.length ? parts.join(', ') : JSON.stringify(v).slice(0, 60);
}
