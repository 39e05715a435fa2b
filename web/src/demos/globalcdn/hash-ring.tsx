import { useMemo, type ReactNode } from 'react';
import { arc, pie } from 'd3';
import type { LabNode, LabRing } from '../../../../src/lab/lab-types.ts';
import { displayName } from '../../../../src/lab/cdn-regions.ts';
import { nodeColor } from '../../components/colors.ts';

const SIZE = 440;
const OUTER = 150;
const INNER = 118;
const DOT_R = 2;
const TWO32 = 2 ** 32;

/** Hex of a position on the ring, short form as in the mock-up (`0x2A7F`). */
function shortHex(start: string): string {
  return `0x${start.replace(/^0x/, '').padStart(16, '0').slice(0, 4).toUpperCase()}`;
}

/**
 * The real ring (D3 computes arcs and positions, React draws): partitions coloured by owner,
 * each node labelled at its first position in hex, every file a dot at its hash. Hovering a file
 * highlights its partition and the nodes of its preference list. Arc colours change with a CSS
 * transition, so partitions visibly move when a node joins or leaves.
 */
export function HashRing(props: { ring: LabRing | null; nodes: readonly LabNode[]; points: readonly [string, number][]; focus: { name: string; hashHi: number; preferenceList: readonly string[] } | null; onFocus: (name: string | null) => void }): ReactNode {
  const { ring } = props;
  const arcs = useMemo(() => {
    const parts = ring?.partitions ?? [];
    const layout = pie<(typeof parts)[number]>().value(() => 1).sort(null).padAngle(0.004);
    const shape = arc<{ startAngle: number; endAngle: number; padAngle: number }>().innerRadius(INNER).outerRadius(OUTER);
    return layout([...parts]).map((a) => ({ d: shape(a) ?? '', p: a.data, start: a.startAngle }));
  }, [ring]);
  // One label per node, at its partition closest to an even spread, so labels never pile up.
  const labels = useMemo(() => {
    const owners = [...new Set(arcs.map((a) => a.p.owner))].sort();
    const q = Math.max(1, arcs.length);
    return owners.map((owner, i) => {
      const mine = arcs.filter((a) => a.p.owner === owner);
      const want = ((i + 0.5) * q) / owners.length;
      const best = mine.reduce((b, a) => (Math.abs(a.p.index - want) < Math.abs(b.p.index - want) ? a : b), mine[0] ?? arcs[0]!);
      return { owner, angle: best.start + Math.PI / q, hex: shortHex(best.p.start), count: mine.length };
    });
  }, [arcs]);
  const q = ring?.partitions.length ?? 1;
  const focusPartition = props.focus ? Math.floor((props.focus.hashHi / TWO32) * q) : null;
  const angleOf = (hi: number): number => (hi / TWO32) * 2 * Math.PI;
  const at = (angle: number, r: number): [number, number] => [Math.sin(angle) * r, -Math.cos(angle) * r];

  return (
    <section className="panel cdn-ring" data-testid="cdn-ring" data-ring-version={ring?.version ?? ''}>
      <h2>Hash ring</h2>
      <svg viewBox={`${-SIZE / 2} ${-SIZE / 2} ${SIZE} ${SIZE}`} role="img" aria-label={`ring of ${arcs.length} partitions with ${props.points.length} files`}>
        {arcs.map(({ d, p }) => (
          <path
            key={p.index}
            d={d}
            className="ring-arc"
            style={{ fill: nodeColor(p.owner) }}
            opacity={focusPartition === null || focusPartition === p.index ? 1 : 0.35}
            stroke={focusPartition === p.index ? '#111' : 'none'}
            strokeWidth={2}
            data-owner={p.owner}
          >
            <title>{`partition ${p.index} ${p.start}–${p.end}\nprimary ${p.owner}\nreplicas ${p.preferenceList.join(', ')}`}</title>
          </path>
        ))}
        {props.points.map(([name, hi]) => {
          const [x, y] = at(angleOf(hi), INNER - 8 - ((hi >>> 3) % 5) * 4);
          const on = props.focus?.name === name;
          return <circle key={name} cx={x} cy={y} r={on ? 5 : DOT_R} className={on ? 'file-dot on' : 'file-dot'} onMouseEnter={() => props.onFocus(name)} onMouseLeave={() => props.onFocus(null)} />;
        })}
        {labels.map((l) => {
          const [x, y] = at(l.angle, OUTER + 14);
          const [x1, y1] = at(l.angle, OUTER);
          const node = props.nodes.find((n) => n.id === l.owner);
          const active = props.focus?.preferenceList.includes(l.owner);
          return (
            <g key={l.owner} className={active ? 'ring-node on' : 'ring-node'}>
              <line x1={x1} y1={y1} x2={x} y2={y} stroke={nodeColor(l.owner)} />
              <text x={x} y={y} textAnchor={x >= 0 ? 'start' : 'end'} dy="0.35em" fill={nodeColor(l.owner)}>
                {displayName(l.owner, node?.zone ?? '', props.nodes)} ({l.hex})
              </text>
            </g>
          );
        })}
        <text textAnchor="middle" dy="-0.3em" className="ring-label">
          {arcs.length} partitions
        </text>
        <text textAnchor="middle" dy="1em" className="ring-sub">
          {props.points.length} files · ring v{ring?.version ?? '—'}
        </text>
      </svg>
      <ul className="legend">
        {labels.map((l) => {
          const node = props.nodes.find((n) => n.id === l.owner);
          const role = props.focus ? (props.focus.preferenceList[0] === l.owner ? ' — primary' : props.focus.preferenceList.includes(l.owner) ? ' — replica' : '') : '';
          return (
            <li key={l.owner} className={role ? 'on' : ''}>
              <span className="swatch" style={{ background: nodeColor(l.owner) }} />
              {displayName(l.owner, node?.zone ?? '', props.nodes)} ({l.owner}, {node?.zone}): {l.count} partitions{role}
            </li>
          );
        })}
      </ul>
      {props.focus && (
        <p className="hint" data-testid="ring-focus">
          {props.focus.name}: partition {focusPartition}, primary {props.focus.preferenceList[0]}, replicas {props.focus.preferenceList.slice(1).join(', ')}
        </p>
      )}
    </section>
  );
}
