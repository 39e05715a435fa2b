import { useMemo, type ReactNode } from 'react';
import { geoEquirectangular, line } from 'd3';
import type { LabNode } from '../../../../src/lab/lab-types.ts';
import { CLIENT_PLACES, displayName, oneWayDelayMs, regionOf } from '../../../../src/lab/cdn-regions.ts';
import { nodeColor } from '../../components/colors.ts';
import type { RouteResult } from './cdn-source.ts';

const W = 640;
const H = 300;

/** Coarse continent outlines [lon, lat] — enough to recognise the map, no map data to download. */
const LAND: readonly (readonly [number, number][])[] = [
  [[-168, 65], [-140, 70], [-95, 72], [-80, 63], [-60, 55], [-52, 47], [-70, 42], [-76, 35], [-81, 25], [-97, 26], [-105, 20], [-92, 15], [-83, 9], [-78, 8], [-88, 13], [-106, 23], [-117, 32], [-124, 40], [-125, 49], [-135, 57], [-150, 60], [-165, 60]],
  [[-78, 8], [-60, 10], [-50, 0], [-35, -7], [-40, -22], [-48, -28], [-58, -38], [-65, -55], [-72, -50], [-73, -35], [-71, -18], [-81, -5]],
  [[-10, 36], [-9, 43], [-2, 44], [-5, 48], [2, 51], [8, 54], [10, 58], [5, 62], [15, 69], [28, 71], [40, 67], [45, 55], [40, 45], [28, 41], [23, 36], [15, 38], [12, 44], [3, 43], [-5, 36]],
  [[-17, 15], [-16, 28], [-10, 35], [10, 37], [20, 32], [32, 31], [35, 28], [43, 12], [51, 11], [40, -5], [40, -15], [35, -25], [20, -35], [17, -29], [12, -18], [13, -5], [9, 4], [-8, 4]],
  [[28, 41], [40, 45], [45, 55], [40, 67], [70, 73], [110, 77], [140, 72], [180, 68], [170, 60], [160, 55], [142, 50], [140, 40], [122, 40], [122, 30], [120, 22], [108, 20], [105, 10], [100, 14], [98, 8], [95, 16], [90, 22], [80, 15], [77, 8], [72, 20], [67, 25], [58, 25], [55, 27], [50, 30], [48, 29], [57, 22], [53, 16], [45, 13], [42, 17], [35, 28], [35, 33], [28, 37]],
  [[114, -22], [122, -18], [130, -12], [137, -12], [142, -11], [146, -19], [153, -26], [150, -37], [141, -38], [131, -31], [116, -35]],
  [[-5, 50], [1, 51], [0, 53], [-2, 56], [-5, 58], [-6, 55], [-3, 54]],
  [[130, 31], [135, 34], [140, 36], [142, 40], [141, 45], [139, 38], [133, 34]],
];

/**
 * Geography: nodes at their regions, the client where the chooser puts it, the simulated
 * one-way delay to each node, and — after a request — the nearest replica (solid) against
 * a random one (dashed) with their measured times.
 */
export function WorldMap(props: { nodes: readonly LabNode[]; client: string; onClient: (id: string) => void; route: RouteResult | null }): ReactNode {
  const projection = useMemo(() => geoEquirectangular().scale(W / (2 * Math.PI)).translate([W / 2, H / 2 + 20]), []);
  const land = useMemo(() => {
    const path = line<readonly [number, number]>()
      .x((p) => projection([p[0], p[1]])?.[0] ?? 0)
      .y((p) => projection([p[0], p[1]])?.[1] ?? 0);
    return LAND.map((poly) => `${path(poly) ?? ''}Z`);
  }, [projection]);
  const xy = (p: { lat: number; lon: number }): [number, number] => (projection([p.lon, p.lat]) ?? [0, 0]) as [number, number];
  const client = CLIENT_PLACES.find((c) => c.id === props.client);
  const cxy = client ? xy(client) : null;
  const replica = (id: string | null): { node: string; measuredMs: number | null; simulatedMs: number } | undefined => props.route?.replicas.find((r) => r.node === id);
  const nearest = replica(props.route?.nearest ?? null);
  const random = replica(props.route?.random ?? null);

  return (
    <figure className="world" data-testid="world-map">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label="world map of nodes">
        <rect width={W} height={H} fill="#eef6fb" />
        {land.map((d, i) => (
          <path key={i} d={d} fill="#d8e2dc" stroke="#b7c4bd" />
        ))}
        {cxy &&
          props.nodes.map((n) => {
            const r = regionOf(n.zone);
            if (!r) return null;
            const [x, y] = xy(r);
            const isNearest = props.route?.nearest === n.id;
            const isRandom = props.route?.random === n.id && !isNearest;
            return (
              <line key={`l-${n.id}`} x1={cxy[0]} y1={cxy[1]} x2={x} y2={y} stroke={isNearest ? '#16a34a' : isRandom ? '#64748b' : '#cbd5e1'} strokeWidth={isNearest ? 3 : 1.5} strokeDasharray={isNearest ? undefined : '5 4'} />
            );
          })}
        {props.nodes.map((n) => {
          const r = regionOf(n.zone);
          if (!r) return null;
          const [x, y] = xy(r);
          const ms = client ? oneWayDelayMs(client, r) * 2 : null;
          return (
            <g key={n.id} transform={`translate(${x},${y})`} data-testid={`map-node-${n.id}`}>
              <circle r={8} fill={nodeColor(n.id)} stroke="#fff" strokeWidth={2} opacity={n.health === 'down' ? 0.3 : 1} />
              <text y={-12} textAnchor="middle" className="map-label">
                {displayName(n.id, n.zone, props.nodes)}
              </text>
              {ms !== null && (
                <text y={20} textAnchor="middle" className="map-ms">
                  ~{ms} ms RTT
                </text>
              )}
            </g>
          );
        })}
        {CLIENT_PLACES.map((c) => {
          const [x, y] = xy(c);
          const on = c.id === props.client;
          return (
            <g key={c.id} transform={`translate(${x},${y})`} className="client-pin" onClick={() => props.onClient(c.id)}>
              <rect x={-5} y={-5} width={10} height={10} fill={on ? '#f59e0b' : '#fff'} stroke="#92400e" transform="rotate(45)" />
              {on && (
                <text y={22} textAnchor="middle" className="map-label client">
                  👤 {c.name}
                </text>
              )}
              <title>{`client in ${c.name} (click to move the client here)`}</title>
            </g>
          );
        })}
      </svg>
      <figcaption>
        {nearest && random ? (
          <span data-testid="route-result">
            Nearest replica <b>{nearest.node}</b>: <b className="good">{nearest.measuredMs ?? '—'} ms</b> measured (WAN ~{nearest.simulatedMs} ms) · a random replica ({random.node}) would cost{' '}
            <b>{random.measuredMs ?? '—'} ms</b> (WAN ~{random.simulatedMs} ms)
          </span>
        ) : (
          'Pick a client location and request a file: it is routed to the nearest replica.'
        )}
      </figcaption>
    </figure>
  );
}
