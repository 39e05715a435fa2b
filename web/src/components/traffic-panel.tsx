import { useState, type ReactNode } from 'react';
import type { TrafficConfig, TrafficStatus } from '../../../src/lab/lab-types.ts';
import { labApi } from '../data/lab-source.ts';
import { ActionButton } from './action-button.tsx';

/** The load generator: rate, read/write mix, keys, R/W; start and stop. `readOnly` (a replay): what it was doing. */
export function TrafficPanel(props: { traffic: TrafficStatus; n: number; readOnly?: boolean }): ReactNode {
  const [draft, setDraft] = useState<TrafficConfig | null>(null);
  const c = draft ?? props.traffic.config;
  const field = (name: keyof TrafficConfig, label: string, min: number, max: number, step = 1, scale = 1): ReactNode => (
    <label>
      {label}
      <input
        type="number"
        min={min}
        max={max}
        step={step}
        data-testid={`traffic-${name}`}
        value={Math.round(c[name] * scale * 100) / 100}
        onChange={(e) => setDraft({ ...c, [name]: Math.min(max, Math.max(min, Number(e.target.value) || min)) / scale })}
      />
    </label>
  );
  const t = props.traffic;
  const stats = (
    <p className="stats" data-testid="traffic-stats">
      {t.running ? 'running' : 'stopped'} · {t.ops} ops · {t.ok} ok · {t.failed} failed/unknown · {t.inFlight} in flight
    </p>
  );
  if (props.readOnly) {
    return (
      <section className="panel traffic" data-testid="traffic">
        <h2>Traffic</h2>
        <p className="hint">
          {c.rate} ops/s · {Math.round(c.readRatio * 100)}% reads · {c.keys} keys · R={c.r} W={c.w}
        </p>
        {stats}
      </section>
    );
  }
  return (
    <section className="panel traffic" data-testid="traffic">
      <h2>Traffic</h2>
      <div className="fields">
        {field('rate', 'ops/s', 1, 2000)}
        {field('readRatio', 'reads %', 0, 100, 5, 100)}
        {field('keys', 'keys', 1, 10000)}
        {field('r', 'R', 1, props.n)}
        {field('w', 'W', 1, props.n)}
      </div>
      <div className="row">
        {t.running ? (
          <>
            <ActionButton label="Stop traffic" kind="danger" testId="traffic-stop" onClick={() => labApi.stopTraffic()} />
            {draft && <ActionButton label="Update" testId="traffic-update" onClick={() => labApi.startTraffic(c).then(() => setDraft(null))} />}
          </>
        ) : (
          <ActionButton label="Start traffic" kind="primary" testId="traffic-start" onClick={() => labApi.startTraffic(c).then(() => setDraft(null))} />
        )}
      </div>
      {stats}
    </section>
  );
}
