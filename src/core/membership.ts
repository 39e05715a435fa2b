import type { NodeId, PeerAddress } from './types.ts';
import { isNodeId } from './types.ts';
import type { RingState } from './ring.ts';
import { createRing, parseRing, rebalance } from './ring.ts';

/**
 * Cluster membership as plain data that nodes gossip and merge (Dynamo §4.8, Riak's ring
 * gossip). Each member record carries a version that only grows; the higher version wins a
 * merge. The ring carries its own version. Only the claimant — the member with the smallest id
 * among those that are not leaving — changes the ring, so concurrent joins cannot produce two
 * different rings of the same version that both stick.
 *
 * Being unreachable is not leaving: the ring changes only through explicit join and leave.
 */

export type MemberStatus = 'joining' | 'valid' | 'leaving' | 'left';

export interface MemberInfo {
  readonly id: NodeId;
  readonly httpUrl: string;
  readonly peer: PeerAddress;
  readonly zone: string;
  readonly status: MemberStatus;
  readonly version: number;
  /** Partitions this member is still handing off after a ring change (it still answers reads for them). */
  readonly handoff?: readonly number[];
}

export interface ClusterView {
  readonly members: ReadonlyMap<NodeId, MemberInfo>;
  readonly ring: RingState | null;
}

/** The gossip / disk form of a view. */
export interface WireView {
  readonly members: readonly MemberInfo[];
  readonly ring: RingState | null;
}

/** Members per cluster; bounds gossip size and the cost of a rebalance. */
export const MEMBERS_MAX = 256;
const STATUSES: ReadonlySet<string> = new Set<MemberStatus>(['joining', 'valid', 'leaving', 'left']);

export function viewToWire(v: ClusterView): WireView {
  return { members: [...v.members.values()], ring: v.ring };
}

/** Validates a view from a peer or the disk; returns undefined when malformed. */
export function viewFromWire(value: unknown): ClusterView | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { members, ring } = value as { members?: unknown; ring?: unknown };
  if (!Array.isArray(members) || members.length > MEMBERS_MAX) return undefined;
  const map = new Map<NodeId, MemberInfo>();
  for (const m of members) {
    const info = memberFromWire(m);
    if (!info) return undefined;
    map.set(info.id, info);
  }
  let parsedRing: RingState | null = null;
  if (ring !== null && ring !== undefined) {
    try {
      parsedRing = parseRing(ring);
    } catch {
      return undefined;
    }
  }
  return { members: map, ring: parsedRing };
}

function memberFromWire(m: unknown): MemberInfo | undefined {
  if (typeof m !== 'object' || m === null) return undefined;
  const x = m as Record<string, unknown>;
  const peer = x.peer as Record<string, unknown> | undefined;
  if (!isNodeId(x.id) || typeof x.httpUrl !== 'string' || x.httpUrl.length > 512) return undefined;
  if (typeof peer !== 'object' || peer === null || typeof peer.host !== 'string' || peer.host.length > 255) return undefined;
  if (typeof peer.port !== 'number' || !Number.isInteger(peer.port) || peer.port < 1 || peer.port > 65535) return undefined;
  if (typeof x.zone !== 'string' || x.zone.length > 64 || typeof x.status !== 'string' || !STATUSES.has(x.status)) return undefined;
  if (typeof x.version !== 'number' || !Number.isSafeInteger(x.version) || x.version < 0) return undefined;
  const handoff = x.handoff;
  if (handoff !== undefined && (!Array.isArray(handoff) || handoff.length > 4096 || !handoff.every((p) => Number.isInteger(p) && p >= 0 && p < 65536))) return undefined;
  return {
    ...(Array.isArray(handoff) && handoff.length > 0 ? { handoff: handoff as number[] } : {}),
    id: x.id,
    httpUrl: x.httpUrl,
    peer: { host: peer.host, port: peer.port },
    zone: x.zone,
    status: x.status as MemberStatus,
    version: x.version,
  };
}

/** Merge two views: per member the higher version wins; the higher ring version wins. */
export function mergeViews(a: ClusterView, b: ClusterView): ClusterView {
  const members = new Map(a.members);
  for (const [id, m] of b.members) {
    const mine = members.get(id);
    if (!mine || m.version > mine.version || (m.version === mine.version && memberKey(m) > memberKey(mine))) {
      members.set(id, m);
    }
  }
  return { members, ring: pickRing(a.ring, b.ring) };
}

function memberKey(m: MemberInfo): string {
  return `${m.status}|${m.httpUrl}|${m.peer.host}:${m.peer.port}|${m.zone}|${(m.handoff ?? []).join(',')}`;
}

function pickRing(a: RingState | null, b: RingState | null): RingState | null {
  if (!a) return b;
  if (!b) return a;
  if (a.version !== b.version) return a.version > b.version ? a : b;
  // Same version, different content can only come from two bootstrap rings; pick one the
  // same way everywhere so every node converges on it.
  return a.owners.join(',') <= b.owners.join(',') ? a : b;
}

/** Whether two views are the same (used to skip needless persistence and events). */
export function sameView(a: ClusterView, b: ClusterView): boolean {
  if (a.members.size !== b.members.size) return false;
  for (const [id, m] of a.members) {
    const o = b.members.get(id);
    if (!o || o.version !== m.version || memberKey(o) !== memberKey(m)) return false;
  }
  if (!a.ring || !b.ring) return a.ring === b.ring;
  return a.ring.version === b.ring.version && a.ring.owners.join(',') === b.ring.owners.join(',');
}

/** Members that should own partitions: joining and valid ones. */
export function ringMembers(v: ClusterView): MemberInfo[] {
  return [...v.members.values()].filter((m) => m.status === 'joining' || m.status === 'valid').sort((x, y) => (x.id < y.id ? -1 : 1));
}

export function claimantOf(v: ClusterView): NodeId | undefined {
  return ringMembers(v)[0]?.id;
}

/**
 * The claimant's duty: when the ring's owners differ from the members that should own
 * partitions, compute the next ring (minimal movement, see ring.ts) and mark joiners valid.
 * Returns the new view, or undefined when nothing is to change. `mayCreate` lets the caller
 * hold back the very first ring until bootstrap has heard from its seeds.
 */
export function claim(v: ClusterView, self: NodeId, partitionCount: number, mayCreate: boolean): ClusterView | undefined {
  if (claimantOf(v) !== self) return undefined;
  const owners = ringMembers(v);
  const wanted = owners.map((m) => m.id).join(',');
  let ring = v.ring;
  if (!ring) {
    if (!mayCreate || owners.length === 0) return undefined;
    ring = createRing(owners.map((m) => ({ id: m.id, zone: m.zone })), partitionCount);
  } else {
    const current = [...new Set(ring.owners)].sort().join(',');
    if (current !== wanted) ring = rebalance(ring, owners.map((m) => ({ id: m.id, zone: m.zone })));
  }
  const members = new Map(v.members);
  let changed = ring !== v.ring;
  for (const m of owners) {
    if (m.status === 'joining') {
      members.set(m.id, { ...m, status: 'valid', version: m.version + 1 });
      changed = true;
    }
  }
  return changed ? { members, ring } : undefined;
}
