import { useMemo, type ReactNode } from 'react';
import type { KeyVersion } from './collab-source.ts';
import { causality, formatClock } from './clocks.ts';

const WIDTH = 560;

/** The paragraph's versions as a happened-before graph: an arrow means "saw". */
export function CausalityGraph(props: { versions: readonly KeyVersion[]; colorOf: (editor: string) => string }): ReactNode {
  const layout = useMemo(() => causality(props.versions, WIDTH), [props.versions]);
  const currents = layout.nodes.filter((n) => n.current);
  return (
    <figure className="causality" data-testid="causality">
      <svg viewBox={`0 0 ${layout.width} ${layout.height}`} role="img" aria-label="happened-before graph">
        <defs>
          <marker id="hb-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" fill="#64748b" />
          </marker>
        </defs>
        {layout.edges.map((e) => (
          <line key={`${e.from}>${e.to}`} x1={e.x1 + 62} y1={e.y1} x2={e.x2 - 62} y2={e.y2} stroke="#64748b" markerEnd="url(#hb-arrow)" />
        ))}
        {layout.nodes.map((n) => (
          <g key={n.id} transform={`translate(${n.x},${n.y})`}>
            <rect x={-62} y={-21} width={124} height={42} rx={6} fill={n.current ? '#fff' : '#f1f5f9'} stroke={props.colorOf(n.editor)} strokeWidth={n.current ? 2.5 : 1} strokeDasharray={n.current ? undefined : '3 2'} />
            <text textAnchor="middle" y={-6} className="hb-title">
              {n.editor} @ {n.node}
            </text>
            <text textAnchor="middle" y={10} className="hb-clock">
              {formatClock(n.clock)}
            </text>
            <title>{n.text}</title>
          </g>
        ))}
      </svg>
      <figcaption>
        {currents.length > 1
          ? `Concurrent: none of the ${currents.length} current versions' clocks dominates another — neither editor saw the other's edit, so the database keeps both.`
          : 'Each arrow: the later version\'s clock dominates the earlier one (it saw it). Dashed: versions the current one remembers superseding.'}
      </figcaption>
    </figure>
  );
}
