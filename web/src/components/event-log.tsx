import type { ReactNode } from 'react';
import type { LabEvent } from '../../../src/lab/lab-types.ts';
import { skewLabel } from '../../../src/lab/skew-label.ts';

const SKIP = new Set(['type', 'node', 'atMs', 'receivedAtMs']);
/** A node stamp this far from the Lab's receipt is a skewed clock, not transit time. */
const CLOCK_OFF_MS_MIN = 1000;

/**
 * The merged event stream, newest first. Times are each emitter's own clock; a node whose
 * clock is off (an injected skew) gets a badge with how far, so its stamps are not mistaken
 * for the order things happened in.
 */
export function EventLog(props: { events: readonly LabEvent[] }): ReactNode {
  return (
    <section className="panel events" data-testid="event-log">
      <h2>Events</h2>
      <ol>
        {props.events.slice(0, 150).map((e, i) => (
          <li key={`${e.atMs}-${i}`} className={e.node === 'lab' ? 'lab' : 'node'}>
            <time>{new Date(e.atMs).toLocaleTimeString()}</time> <b>{e.node}</b> {clockOff(e)} {e.type} <span className="fields">{fields(e)}</span>
          </li>
        ))}
      </ol>
    </section>
  );
}

function clockOff(e: LabEvent): ReactNode {
  if (typeof e.receivedAtMs !== 'number') return null;
  const off = e.atMs - e.receivedAtMs;
  if (Math.abs(off) < CLOCK_OFF_MS_MIN) return null;
  return (
    <span className="clock-off" data-testid="event-clock-off" title="this node's clock is off the Lab's by about this much">
      clock {skewLabel(Math.round(off / 1000) * 1000)}
    </span>
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
