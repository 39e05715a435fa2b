import type { ReactNode } from 'react';
import type { LabEvent } from '../../../src/lab/lab-types.ts';

const SKIP = new Set(['type', 'node', 'atMs']);

/** The merged event stream, newest first. */
export function EventLog(props: { events: readonly LabEvent[] }): ReactNode {
  return (
    <section className="panel events" data-testid="event-log">
      <h2>Events</h2>
      <ol>
        {props.events.slice(0, 150).map((e, i) => (
          <li key={`${e.atMs}-${i}`} className={e.node === 'lab' ? 'lab' : 'node'}>
            <time>{new Date(e.atMs).toLocaleTimeString()}</time> <b>{e.node}</b> {e.type} <span className="fields">{fields(e)}</span>
          </li>
        ))}
      </ol>
    </section>
  );
}

function fields(e: LabEvent): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(e)) {
    if (SKIP.has(k)) continue;
    parts.push(`${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  }
  return parts.join(' ').slice(0, 200);
}
