import type { ReactNode } from 'react';
import type { LabEvent, LabNode } from '../../../../src/lab/lab-types.ts';
import { ActionButton } from '../../components/action-button.tsx';
import { labApi } from '../../data/lab-source.ts';
import { collabApi, useReplicas, type KeyRead } from './collab-source.ts';
import { formatClock, mergeClocks, sameClock } from './clocks.ts';
import { nodeLabel } from './names.ts';

const AE_TYPES = /^(ae-|read-repair|hints-|handoff-)/;

function clocksOf(r: KeyRead | null | undefined): Record<string, number>[] {
  return r ? r.versions.map((v) => v.vectorClock) : [];
}

/**
 * The failure scenario: each node's health with Kill / Restart, every node's own copy of each
 * paragraph against the newest (✅ in sync, ⏳ behind, ❌ unreachable), and the repair events
 * (anti-entropy, read repair, hinted handoff) as they happen.
 */
export function ReplicaPanel(props: { doc: string; nodes: readonly LabNode[]; events: readonly LabEvent[] }): ReactNode {
  const replicas = useReplicas(props.doc);
  const latest = new Map<string, Record<string, number>>();
  for (const key of replicas.keys) latest.set(key, mergeClocks(Object.values(replicas.copies).flatMap((row) => clocksOf(row[key]))));
  const inSync = (key: string, r: KeyRead | null | undefined): boolean => {
    const l = latest.get(key);
    const mine = clocksOf(r);
    return l !== undefined && mine.length > 0 && sameClock(mergeClocks(mine), l);
  };
  const repairs = props.events.filter((e) => AE_TYPES.test(e.type) || e.type.startsWith('lab.kill') || e.type.startsWith('lab.restart') || e.type.startsWith('collab.')).slice(0, 12);

  return (
    <section className="panel replica-panel" data-testid="replicas">
      <h2>Nodes &amp; replicas</h2>
      <ul className="node-strip">
        {props.nodes.map((n) => {
          const row = replicas.copies[n.id] ?? {};
          const behind = replicas.keys.filter((k) => !inSync(k, row[k])).length;
          const failed = n.health === 'down';
          return (
            <li key={n.id} data-testid={`collab-node-${n.id}`} data-health={n.health} data-behind={failed ? -1 : behind}>
              <b>
                {nodeLabel(n.id)} ({n.id}):
              </b>{' '}
              {failed ? (
                <span className="bad">❌ Failed (edits preserved on the other replicas; anti-entropy restores it)</span>
              ) : behind > 0 ? (
                <span className="warn">⏳ {n.health}, catching up: {behind} paragraph(s) behind</span>
              ) : (
                <span className="good">✅ {n.health}, in sync</span>
              )}{' '}
              {failed ? (
                <ActionButton label="Restart" onClick={() => labApi.restart(n.id)} testId={`collab-restart-${n.id}`} kind="primary" />
              ) : (
                <ActionButton label="Kill" onClick={() => labApi.kill(n.id)} testId={`collab-kill-${n.id}`} kind="danger" />
              )}
            </li>
          );
        })}
      </ul>
      <table className="replica-table">
        <thead>
          <tr>
            <th>paragraph</th>
            {replicas.nodes.map((n) => (
              <th key={n.id}>{nodeLabel(n.id)} own copy</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {replicas.keys.map((k) => (
            <tr key={k}>
              <td>{k.split('/').pop()}</td>
              {replicas.nodes.map((n) => {
                const r = replicas.copies[n.id]?.[k];
                const ok = inSync(k, r);
                return (
                  <td key={n.id} data-testid={`copy-${n.id}-${k.split('/').pop()}`} data-sync={r === null || r === undefined ? 'down' : ok ? 'yes' : 'no'}>
                    {r === null || r === undefined ? '❌' : ok ? '✅' : '⏳'} <code>{r ? clocksOf(r).map(formatClock).join(' ‖ ') || '—' : 'unreachable'}</code>
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      <div className="row">
        <ActionButton label="Run anti-entropy now" onClick={() => collabApi.antiEntropy()} testId="collab-ae" />
        <span className="hint">Nodes also exchange Merkle trees by themselves every few seconds; hinted handoff delivers writes a dead replica missed.</span>
      </div>
      <h3>Repair activity</h3>
      <ul className="event-mini" data-testid="repair-log">
        {repairs.length === 0 && <li className="hint">No repairs yet.</li>}
        {repairs.map((e, i) => (
          <li key={`${e.atMs}-${i}`}>
            <time>{new Date(e.atMs).toLocaleTimeString()}</time> <b>{e.node}</b> {e.type} {summary(e)}
          </li>
        ))}
      </ul>
    </section>
  );
}

function summary(e: LabEvent): string {
  const pick = ['peer', 'target', 'partition', 'repaired', 'keysRepaired', 'sent', 'key', 'step', 'differing'];
  return pick
    .filter((k) => e[k] !== undefined)
    .map((k) => `${k}=${JSON.stringify(e[k])}`)
    .join(' ')
    .slice(0, 140);
}
