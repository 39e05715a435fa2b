import { useState, type ReactNode } from 'react';
import { CLIENT_PLACES } from '../../../src/lab/cdn-regions.ts';
import { ActionButton } from '../components/action-button.tsx';
import { useLab } from '../data/lab-source.ts';
import { cdnApi, useSummary, type CdnFileRow, type RouteResult } from './globalcdn/cdn-source.ts';
import { ContentPanel } from './globalcdn/content-panel.tsx';
import { HashRing } from './globalcdn/hash-ring.tsx';
import { LoadBars } from './globalcdn/load-bars.tsx';
import { MigrationPanel } from './globalcdn/migration-panel.tsx';
import { WorldMap } from './globalcdn/world-map.tsx';
import './globalcdn/globalcdn.css';

/** `/demo/globalcdn` — issue 10: content on the real consistent-hash ring. */
export default function GlobalCdnPage(): ReactNode {
  const { state } = useLab();
  const summary = useSummary();
  const nodes = (state?.nodes ?? []).filter((n) => n.process !== 'exited' || n.health !== 'down');
  const [focus, setFocus] = useState<CdnFileRow | null>(null);
  const [hoverName, setHoverName] = useState<string | null>(null);
  const [client, setClient] = useState('london');
  const [route, setRoute] = useState<RouteResult | null>(null);
  const [wan, setWan] = useState(false);
  const ring = state?.ring ?? null;
  const points = summary.value?.points ?? [];
  const hovered = hoverName ? points.find((p) => p[0] === hoverName) : undefined;
  const ringFocus = focus
    ? { name: focus.name, hashHi: focus.hashHi, preferenceList: focus.preferenceList }
    : hovered && ring
      ? { name: hovered[0], hashHi: hovered[1], preferenceList: ring.partitions[Math.floor((hovered[1] / 2 ** 32) * ring.partitions.length)]?.preferenceList ?? [] }
      : null;
  const target = focus?.name ?? points[0]?.[0] ?? null;

  return (
    <div className="cdn" data-testid="globalcdn">
      <section className="panel">
        <h2>🌐 GlobalCDN — Content Distribution Network</h2>
        <p className="hint">
          Files are spread over region nodes by consistent hashing on the cluster's real ring (MurmurHash3 of <code>cdn/&lt;name&gt;</code>, 64 partitions); each file has N=3 replicas in distinct zones.
        </p>
        {summary.error && <p className="error">{summary.error}</p>}
      </section>
      <div className="cdn-grid">
        <HashRing ring={ring} nodes={nodes} points={points} focus={ringFocus} onFocus={setHoverName} />
        <div className="cdn-side">
          <LoadBars summary={summary.value} nodes={nodes} />
          <MigrationPanel nodes={nodes} summary={summary.value} />
        </div>
      </div>
      <ContentPanel nodes={nodes} summary={summary.value} onFocus={setFocus} />
      <section className="panel cdn-geo" data-testid="geo">
        <h2>Geography</h2>
        <div className="row">
          <label>
            client in{' '}
            <select value={client} onChange={(e) => setClient(e.target.value)} data-testid="client-location">
              {CLIENT_PLACES.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </select>
          </label>
          <ActionButton label={`Request ${target ?? 'a file'}`} onClick={async () => target && setRoute(await cdnApi.route(target, client))} testId="route" disabled={!target} />
          <label>
            <input
              type="checkbox"
              checked={wan}
              onChange={(e) => {
                setWan(e.target.checked);
                void cdnApi.wan(e.target.checked);
              }}
              data-testid="wan"
            />{' '}
            simulate inter-region latency between nodes (per-link delays)
          </label>
        </div>
        <WorldMap nodes={nodes} client={client} onClient={setClient} route={route} />
        <p className="hint">
          Client → node delay is simulated by the Lab from the great-circle distance (≈ light in fibre plus overhead) before it reads that replica's own copy; between nodes the same delays are injected as per-link faults when the box is ticked, so replication across regions pays them too.
        </p>
      </section>
    </div>
  );
}
