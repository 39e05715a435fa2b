import type { LabEvent } from '../../../../src/lab/lab-types.ts';
import type { LiveSnapshot } from '../../../../src/lab/demo-types.ts';

/**
 * Pure functions from the live snapshots to what the Replication Status rows show. A replica
 * is in sync when it holds the highest count any replica holds; "synced X s ago" is measured
 * from when it came to hold that value; a replica behind lags since the first moment another
 * replica held more than it holds now.
 */

export interface ReplicaRow {
  readonly node: string;
  readonly status: 'synced' | 'syncing' | 'down' | 'missing';
  readonly value: number | null;
  /** Counts behind the highest replica. */
  readonly behind: number;
  /** How long it has been behind (ms), 0 when in sync. */
  readonly lagMs: number;
  /** Wall-clock ms at which it came to hold its current (highest) value. */
  readonly syncedAtMs: number | null;
  /** Duration of its last behind period that ended (ms), and when it ended. */
  readonly lastCatchUp: { readonly ms: number; readonly atMs: number } | null;
  readonly primary: boolean;
}

export function fieldValue(doc: unknown, field: string): number | null {
  const v = (doc as Record<string, unknown> | null)?.[field];
  return typeof v === 'number' ? v : null;
}

function valuesAt(s: LiveSnapshot, key: string, field: string): Map<string, number | null> {
  const out = new Map<string, number | null>();
  for (const [node, v] of Object.entries(s.values[key] ?? {})) out.set(node, v.state === 'ok' ? fieldValue(v.value, field) : null);
  return out;
}

function maxOf(values: Iterable<number | null>): number | null {
  let m: number | null = null;
  for (const v of values) if (v !== null && (m === null || v > m)) m = v;
  return m;
}

export function replicaRows(history: readonly LiveSnapshot[], key: string, field: string, nowMs: number): ReplicaRow[] {
  const last = history[history.length - 1];
  if (!last) return [];
  const now = valuesAt(last, key, field);
  const top = maxOf(now.values());
  const preference = last.placement[key]?.preferenceList ?? [];
  // Behind periods, replayed from the history.
  const behindSince = new Map<string, number>();
  const lastCatchUp = new Map<string, { ms: number; atMs: number }>();
  for (const s of history) {
    const vs = valuesAt(s, key, field);
    const m = maxOf(vs.values());
    for (const [node, v] of vs) {
      const behind = v !== null && m !== null && v < m;
      if (behind && !behindSince.has(node)) behindSince.set(node, s.atMs);
      if (!behind && v !== null && behindSince.has(node)) {
        lastCatchUp.set(node, { ms: s.atMs - behindSince.get(node)!, atMs: s.atMs });
        behindSince.delete(node);
      }
    }
  }
  return last.nodes.map((n) => {
    const rv = last.values[key]?.[n.id];
    const value = now.get(n.id) ?? null;
    const down = n.process !== 'running' || rv?.state === 'down' || rv?.state === 'unreachable';
    const behind = value !== null && top !== null ? top - value : 0;
    let status: ReplicaRow['status'] = behind > 0 ? 'syncing' : 'synced';
    if (rv?.state === 'missing' || (value === null && !down)) status = 'missing';
    if (down) status = 'down';
    // Since when some replica has held more than this one holds now.
    let lagFrom: number | null = null;
    if (value !== null && behind > 0) {
      for (let i = history.length - 1; i >= 0; i--) {
        const m = maxOf(valuesAt(history[i]!, key, field).values());
        if (m === null || m <= value) break;
        lagFrom = history[i]!.atMs;
      }
    }
    return {
      node: n.id,
      status,
      value,
      behind,
      lagMs: lagFrom === null ? 0 : nowMs - lagFrom,
      syncedAtMs: behind === 0 && rv ? rv.changedAtMs : null,
      lastCatchUp: lastCatchUp.get(n.id) ?? null,
      primary: preference[0] === n.id,
    };
  });
}

/** The latest event naming how a replica was repaired: hints, read repair, anti-entropy, handoff. */
export function repairOf(events: readonly LabEvent[], node: string): string | null {
  for (const e of events) {
    if (e.type === 'hints-delivered' && e.target === node) return `hinted handoff: ${e.node} delivered ${String(e.count)} hint(s)`;
    if (e.type === 'read-repair' && e.replica === node) return `read repair by ${e.node}`;
    if (e.type === 'ae-exchange' && (e.peer === node || e.node === node) && (Number(e.keysSent) > 0 || Number(e.keysFetched) > 0))
      return `anti-entropy ${e.node}↔${String(e.peer)}: ${String(e.keysSent)} sent, ${String(e.keysFetched)} fetched`;
    if (e.type === 'hint-stored' && e.target === node) return `${e.node} stores hints for it`;
  }
  return null;
}

export function ago(ms: number): string {
  if (ms < 1000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.floor(ms / 60_000)}m ${Math.round((ms % 60_000) / 1000)}s`;
}
