import type { KvNode } from '../node/kv-node.ts';
import { partitionRange, preferenceList } from '../core/ring.ts';

/** `GET /admin/status`: what `riak-admin member-status` and `nodetool status` tell, as JSON. */
export function statusReport(node: KvNode, faults?: () => unknown): Record<string, unknown> {
  const view = node.view;
  const owned = view.ring ? view.ring.owners.flatMap((o, i) => (o === node.id ? [i] : [])) : [];
  return {
    id: node.id,
    zone: node.config.zone,
    url: node.config.httpUrl,
    uptimeMs: Date.now() - node.startedAtMs,
    ringVersion: view.ring?.version ?? null,
    members: [...view.members.values()]
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .map((m) => ({
        id: m.id,
        url: m.httpUrl,
        zone: m.zone,
        state: m.status === 'leaving' ? 'leaving' : m.status === 'joining' ? 'joining' : m.status === 'left' ? 'left' : node.memberState(m.id),
        status: m.status,
        partitions: view.ring ? view.ring.owners.filter((o) => o === m.id).length : 0,
      })),
    partitions: owned,
    replicatedPartitions: node.replicatedPartitions().length,
    keys: node.stats.keys,
    tombstones: node.stats.tombstones,
    hintsPending: node.hints.pending().total,
    hints: { ...node.hints.pending(), delivered: node.hints.delivered, dropped: node.hints.dropped },
    handoff: node.handoff.status(),
    antiEntropy: node.extension('anti-entropy')?.status() ?? { enabled: false, exchanges: [] },
    faults: faults?.() ?? {},
    readRepairs: node.stats.readRepairs,
    config: { n: node.config.n, r: node.config.r, w: node.config.w, partitions: node.config.partitions },
  };
}

/** `GET /admin/ring`: every partition, its hash range, owner and preference list. */
export function ringReport(node: KvNode): Record<string, unknown> {
  const ring = node.view.ring;
  if (!ring) return { n: node.config.n, version: null, partitions: [] };
  const zones = new Map([...node.view.members.values()].map((m) => [m.id, m.zone]));
  return {
    n: node.config.n,
    version: ring.version,
    partitions: ring.owners.map((owner, index) => {
      const { start, end } = partitionRange(ring.partitionCount, index);
      return { index, start, end, owner, preferenceList: preferenceList(ring, index, node.config.n, zones) };
    }),
  };
}
