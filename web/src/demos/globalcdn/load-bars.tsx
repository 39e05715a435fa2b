import type { ReactNode } from 'react';
import { scaleLinear } from 'd3';
import type { LabNode } from '../../../../src/lab/lab-types.ts';
import { displayName, regionOf } from '../../../../src/lab/cdn-regions.ts';
import { nodeColor } from '../../components/colors.ts';
import { formatBytes, type Summary } from './cdn-source.ts';

const BLOCKS = 10;

/** Bytes each node really holds (from the last scan of every node's own copies), as the mock-up's bars. */
export function LoadBars(props: { summary: Summary | null; nodes: readonly LabNode[] }): ReactNode {
  const loads = (props.summary?.loads ?? []).filter((l) => props.nodes.some((n) => n.id === l.node));
  const total = loads.reduce((s, l) => s + l.bytes, 0);
  const max = Math.max(1, ...loads.map((l) => l.bytes));
  const mean = loads.length ? total / loads.length : 0;
  const scale = scaleLinear().domain([0, max]).range([0, BLOCKS]);
  return (
    <section className="panel cdn-load" data-testid="load-bars">
      <h2>Load distribution</h2>
      <ul className="bars">
        {loads.map((l) => {
          const filled = Math.round(scale(l.bytes));
          const share = total ? (l.bytes / total) * 100 : 0;
          return (
            <li key={l.node} data-testid={`load-${l.node}`} data-bytes={l.bytes} data-files={l.files}>
              <span className="bar-name">{regionOf(l.zone)?.name ?? displayName(l.node, l.zone, props.nodes)}:</span>
              <span className="bar-blocks" style={{ color: nodeColor(l.node) }}>
                {'█'.repeat(filled)}
                <span className="empty">{'░'.repeat(BLOCKS - filled)}</span>
              </span>
              <span className="bar-val">
                {share.toFixed(0)}% ({formatBytes(l.bytes)}, {l.files} files, {l.node})
              </span>
            </li>
          );
        })}
      </ul>
      <p className="hint" data-testid="imbalance">
        {loads.length > 0 && mean > 0 ? `max/mean imbalance ${(max / mean).toFixed(2)}× · ${formatBytes(total)} stored in all copies` : 'No content yet.'}
      </p>
    </section>
  );
}
