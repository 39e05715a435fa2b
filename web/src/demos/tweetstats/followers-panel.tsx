import { useState, type ReactNode } from 'react';
import type { ReplicaValue } from '../../../../src/lab/demo-types.ts';
import { demoApi, idempotencyKey } from '../../data/demo-live-source.ts';

/** Simulated users, each following through a different node. */
export const USERS = ['alice', 'bob', 'carol', 'dave', 'erin'] as const;
export const FOLLOWERS_KEY = 'user/distsys/followers';

interface FollowDoc {
  followers?: string[];
  follower_count?: number;
}

/**
 * Follower counts: an add-wins set of who follows plus a PN-counter, updated in one PATCH so
 * every replica ends with counter = set size. Each simulated user writes through its own node.
 */
export function FollowersPanel(props: { values: Readonly<Record<string, ReplicaValue>>; nodes: readonly string[]; w: number }): ReactNode {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const nodeOf = (i: number): string => props.nodes[i % Math.max(1, props.nodes.length)] ?? 'n1';
  const docs = Object.entries(props.values).map(([id, v]) => [id, v.state === 'ok' ? (v.value as FollowDoc) : null] as const);
  const follows = (user: string, node: string): boolean => (props.values[node]?.state === 'ok' ? ((props.values[node]!.value as FollowDoc).followers ?? []).includes(user) : false);
  const toggle = async (user: string, i: number): Promise<void> => {
    const node = nodeOf(i);
    const on = follows(user, node);
    setBusy(user);
    setError(null);
    try {
      await demoApi.patch(node, FOLLOWERS_KEY, on ? { followers: { $remove: user }, follower_count: { $inc: -1 } } : { followers: { $add: user }, follower_count: { $inc: 1 } }, { w: props.w, idem: idempotencyKey(`follow-${user}`) });
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(null);
    }
  };
  const counts = docs.map(([, d]) => (d ? `${d.follower_count ?? 0}/${(d.followers ?? []).length}` : null));
  const consistent = docs.length > 0 && docs.every(([, d]) => d !== null && (d.follower_count ?? 0) === (d.followers ?? []).length) && new Set(counts).size === 1;
  return (
    <section className="panel ts-followers" data-testid="followers">
      <h2>Followers of @distsys</h2>
      <div className="row">
        {USERS.map((u, i) => {
          const node = nodeOf(i);
          const on = follows(u, node);
          return (
            <button key={u} type="button" className={on ? 'primary' : ''} disabled={busy !== null} onClick={() => void toggle(u, i)} data-testid={`follow-${u}`}>
              👤 {u} @ Node-{node.slice(1)}: {on ? 'Unfollow' : 'Follow'}
            </button>
          );
        })}
      </div>
      <table>
        <tbody>
          {docs.map(([id, d]) => (
            <tr key={id} data-testid={`followers-${id}`}>
              <td>Node-{id.slice(1)}</td>
              <td className="num">{d ? `${d.follower_count ?? 0} followers` : '—'}</td>
              <td>{d ? (d.followers ?? []).join(', ') || 'nobody' : 'no copy'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="hint">
        {consistent ? '✅ every replica: counter = set size, and all agree' : '⏳ replicas differ or counter ≠ set size (converging)'} — follow = <code>$add</code> to the set + <code>$inc 1</code>,
        unfollow = <code>$remove</code> + <code>$inc −1</code>, in one update.
      </p>
      {error && <p className="error">{error}</p>}
    </section>
  );
}
