import type { ReactNode } from 'react';
import type { LabNode } from '../../../src/lab/lab-types.ts';
import { labApi } from '../data/lab-source.ts';
import { ActionButton } from './action-button.tsx';
import { nodeColor } from './colors.ts';

/** A card per node: health, what its peers say, its data, and Kill / Restart. */
export function NodeCards(props: { nodes: readonly LabNode[] }): ReactNode {
  return (
    <section className="cards" aria-label="nodes">
      {props.nodes.map((n) => (
        <NodeCard key={n.id} node={n} />
      ))}
      <div className="card add-card">
        <ActionButton label="+ Add node" onClick={() => labApi.addNode()} testId="add-node" />
      </div>
    </section>
  );
}

function NodeCard({ node }: { node: LabNode }): ReactNode {
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
      </dl>
      <footer>
        <ActionButton label="Kill" kind="danger" disabled={!alive} onClick={() => labApi.kill(node.id)} testId={`kill-${node.id}`} />
        <ActionButton label="Restart" disabled={alive} onClick={() => labApi.restart(node.id)} testId={`restart-${node.id}`} />
        <ActionButton label="Remove" disabled={node.process !== 'running'} onClick={() => labApi.removeNode(node.id)} testId={`remove-${node.id}`} />
      </footer>
    </article>
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
