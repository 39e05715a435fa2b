import { useMemo, type ReactNode } from 'react';
import { arc, pie } from 'd3';
import type { LabNode, LabRing } from '../../../src/lab/lab-types.ts';
import { nodeColor } from './colors.ts';

const SIZE = 240;
const OUTER = 110;
const INNER = 70;

/** The ring of partitions coloured by owner: D3 computes the arcs, React draws them. */
export function RingView(props: { ring: LabRing | null; nodes: readonly LabNode[] }): ReactNode {
  const arcs = useMemo(() => {
    const parts = props.ring?.partitions ?? [];
    const layout = pie<(typeof parts)[number]>()
      .value(() => 1)
      .sort(null)
      .padAngle(0.006);
    const shape = arc<{ startAngle: number; endAngle: number; padAngle: number }>().innerRadius(INNER).outerRadius(OUTER);
    return layout([...parts]).map((a) => ({ d: shape(a) ?? '', p: a.data }));
  }, [props.ring]);
  const counts = new Map<string, number>();
  for (const a of arcs) counts.set(a.p.owner, (counts.get(a.p.owner) ?? 0) + 1);
  return (
    <section className="panel ring" data-testid="ring">
      <h2>Ring</h2>
      {arcs.length === 0 ? (
        <p>No ring yet.</p>
      ) : (
        <div className="ring-body">
          <svg viewBox={`${-SIZE / 2} ${-SIZE / 2} ${SIZE} ${SIZE}`} role="img" aria-label={`ring of ${arcs.length} partitions`}>
            {arcs.map(({ d, p }) => (
              <path key={p.index} d={d} fill={nodeColor(p.owner)}>
                <title>{`partition ${p.index} ${p.start}–${p.end}\nowner ${p.owner}\nreplicas ${p.preferenceList.join(', ')}`}</title>
              </path>
            ))}
            <text textAnchor="middle" dy="-0.2em" className="ring-label">
              {arcs.length} partitions
            </text>
            <text textAnchor="middle" dy="1.1em" className="ring-sub">
              N={props.ring?.n} · v{props.ring?.version ?? '—'}
            </text>
          </svg>
          <ul className="legend">
            {[...counts].map(([owner, c]) => (
              <li key={owner}>
                <span className="swatch" style={{ background: nodeColor(owner) }} />
                {owner}: {c}
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}
