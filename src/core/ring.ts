/**
 * The ring: Q fixed, equal partitions of the 64-bit hash space, each owned by one node
 * (Dynamo §6.2 "strategy 3"; Riak's ring with `ring_creation_size`). Plain data plus pure
 * functions, so the same value is gossiped, stored, shown in the Lab and replayed in the
 * simulator.
 *
 * Claim (who owns what) has three goals, in this order of priority:
 * 1. balance: every member owns ⌊Q/n⌋ or ⌈Q/n⌉ partitions;
 * 2. minimal movement: a change moves only the partitions that must move (a joining node
 *    takes exactly its share, and only from nodes above their new share; a leaving node's
 *    partitions go to the others and nothing else moves);
 * 3. spread: no node owns two partitions within `targetN` consecutive partitions, so the
 *    preference list of every partition is just the next N owners, and each node holds
 *    replicas for about N·Q/n partitions. This is Riak claim v2's `target_n_val`
 *    (riak_core_claim.erl); unlike Riak we never trade goal 2 for goal 3 (Riak's
 *    `claim_rebalance_n` re-stripes the whole ring when it cannot meet target_n_val).
 * Zones, when members have them, are a weaker fourth goal: consecutive partitions in
 * different zones, so zone-aware preference lists need fewer skips.
 *
 * Every choice breaks ties by partition index or node id (code-unit order, not locale), so
 * every node computes the same ring from the same ring and member set.
 */
import { KvError } from './errors.ts';
import { keyHashHi, partitionOfHashHi } from './hash.ts';
import { isNodeId, type Key, type NodeId, type PartitionIndex } from './types.ts';

/** Riak's default ring size; enough for 64 nodes with one partition each. */
export const PARTITION_COUNT_DEFAULT = 64;
/** Below 8 partitions balance is meaningless (3 nodes would own 3/3/2 of the data). */
export const PARTITION_COUNT_MIN = 8;
/**
 * 4096 partitions keep the gossiped ring ~30 KB of JSON and claim well under a second;
 * Riak recommends at most 1024 and Cassandra's 256 vnodes × 16 nodes is the same order.
 */
export const PARTITION_COUNT_MAX = 4096;
/**
 * Spread window: a node should not own two partitions within this many consecutive ones.
 * Equal to the default replication factor N=3, so that every preference list of the
 * default N is the next 3 owners.
 */
export const TARGET_N_DEFAULT = 3;
/** Bound on the improvement passes of claim; each pass that continues lowered the cost. */
const improvePassesMax = 64;
/**
 * Bound on the cost evaluations of claim's improvement step, so claim stays well under a
 * second at Q = 4096 even when zones make conflicts unavoidable (counted, not timed, so
 * every node stops at the same point and computes the same ring).
 */
const improveEvaluationsMax = 2_000_000;

/** A cluster member as claim sees it. */
export interface Member {
  readonly id: NodeId;
  readonly zone?: string | undefined;
}

/** The ring as data: `owners[i]` owns partition i. `version` grows with every change. */
export interface RingState {
  readonly version: number;
  readonly partitionCount: number;
  readonly owners: readonly NodeId[];
}

export interface ClaimOptions {
  /** Spread window (see TARGET_N_DEFAULT). */
  readonly targetN?: number;
}

function badRequest(message: string, details: Record<string, unknown> = {}): KvError {
  return new KvError('KV_BAD_REQUEST', message, details);
}

/** True for a power of two in PARTITION_COUNT_MIN..PARTITION_COUNT_MAX. */
export function isValidPartitionCount(q: unknown): q is number {
  return (
    typeof q === 'number' &&
    Number.isInteger(q) &&
    q >= PARTITION_COUNT_MIN &&
    q <= PARTITION_COUNT_MAX &&
    (q & (q - 1)) === 0
  );
}

function checkPartitionCount(q: number): void {
  if (!isValidPartitionCount(q)) {
    throw badRequest(
      `partition count must be a power of two in ${PARTITION_COUNT_MIN}..${PARTITION_COUNT_MAX}, got ${q}`,
      { partitionCount: q },
    );
  }
}

function checkPartition(ring: RingState, partition: number): void {
  if (!Number.isInteger(partition) || partition < 0 || partition >= ring.partitionCount) {
    throw badRequest(
      `partition must be an integer in 0..${ring.partitionCount - 1}, got ${partition}`,
      {
        partition,
      },
    );
  }
}

/** Code-unit order: the same on every machine, unlike localeCompare. */
function byId(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function checkMembers(members: readonly Member[], partitionCount: number): Member[] {
  if (members.length === 0) throw badRequest('a ring needs at least one member');
  if (members.length > partitionCount) {
    // A member without a partition would hold no data and appear in no preference list.
    throw badRequest(`${members.length} members do not fit in ${partitionCount} partitions`, {
      members: members.length,
      partitionCount,
    });
  }
  const seen = new Set<NodeId>();
  for (const m of members) {
    if (!isNodeId(m.id)) throw badRequest(`invalid node id ${JSON.stringify(m.id)}`);
    if (seen.has(m.id)) throw badRequest(`duplicate member ${m.id}`, { id: m.id });
    if (m.zone !== undefined && typeof m.zone !== 'string')
      throw badRequest(`invalid zone for ${m.id}`);
    seen.add(m.id);
  }
  return [...members].sort((a, b) => byId(a.id, b.id));
}

/** A new ring of `partitionCount` partitions claimed by `members` (version 1). */
export function createRing(
  members: readonly Member[],
  partitionCount: number = PARTITION_COUNT_DEFAULT,
  options: ClaimOptions = {},
): RingState {
  checkPartitionCount(partitionCount);
  const empty: (NodeId | undefined)[] = new Array<NodeId | undefined>(partitionCount).fill(
    undefined,
  );
  const owners = claim(
    empty,
    checkMembers(members, partitionCount),
    options.targetN ?? TARGET_N_DEFAULT,
  );
  return freezeRing({ version: 1, partitionCount, owners });
}

/**
 * The ring for a new member set, moving as few partitions as balance requires.
 * Same owners → the same ring (same version); otherwise version + 1.
 */
export function rebalance(
  ring: RingState,
  members: readonly Member[],
  options: ClaimOptions = {},
): RingState {
  checkPartitionCount(ring.partitionCount);
  const sorted = checkMembers(members, ring.partitionCount);
  const ids = new Set(sorted.map((m) => m.id));
  const start = ring.owners.map((o) => (ids.has(o) ? o : undefined));
  const owners = claim(start, sorted, options.targetN ?? TARGET_N_DEFAULT);
  if (owners.every((o, i) => o === ring.owners[i])) return ring;
  return freezeRing({ version: ring.version + 1, partitionCount: ring.partitionCount, owners });
}

function freezeRing(ring: RingState): RingState {
  return Object.freeze({ ...ring, owners: Object.freeze([...ring.owners]) });
}

// ---------------------------------------------------------------------------------------
// Claim

/**
 * Fills the holes of `start` (partitions with no owner) and moves partitions from members
 * above their share to members below it. `sorted` are the members, by id.
 *
 * 1. Shares: ⌊Q/n⌋ each, and the Q mod n extra partitions go to the members that own the
 *    most now (ties by id), so nobody gives up a partition it could keep.
 * 2. Releases: each member above its share releases its surplus, preferring partitions
 *    where it breaks the spread, then partitions far from other free ones (so a joining
 *    node's partitions end up evenly spaced).
 * 3. Fill: free partitions in index order, each to the member below its share that breaks
 *    the spread least (ties: the one that still needs most, then by id).
 * 4. Improve: swap the new owners of two moved partitions, or move a release to another
 *    partition of the same giver, while that lowers the cost. Neither changes how many
 *    partitions move or who owns how many.
 */
function claim(
  start: readonly (NodeId | undefined)[],
  sorted: readonly Member[],
  targetN: number,
): NodeId[] {
  const q = start.length;
  const n = sorted.length;
  const cost = new SpreadCost(q, n, sorted, targetN);
  const owners = [...start];

  const count = new Map<NodeId, number>(sorted.map((m) => [m.id, 0]));
  for (const o of owners) if (o !== undefined) count.set(o, (count.get(o) ?? 0) + 1);

  // 1. Shares.
  const base = Math.floor(q / n);
  const extra = q % n;
  const byOwned = [...sorted].sort(
    (a, b) => (count.get(b.id) ?? 0) - (count.get(a.id) ?? 0) || byId(a.id, b.id),
  );
  const share = new Map<NodeId, number>(byOwned.map((m, i) => [m.id, base + (i < extra ? 1 : 0)]));

  // 2. Releases.
  const free: boolean[] = owners.map((o) => o === undefined);
  const surplus = new Map<NodeId, number>();
  for (const m of sorted) {
    const s = (count.get(m.id) ?? 0) - (share.get(m.id) ?? 0);
    if (s > 0) surplus.set(m.id, s);
  }
  const distToFree = new Array<number>(q).fill(q);
  const markFree = (p: number): void => {
    for (let i = 0; i < q; i++) {
      const d = Math.min(Math.abs(i - p), q - Math.abs(i - p));
      if (d < (distToFree[i] ?? q)) distToFree[i] = d;
    }
  };
  for (let p = 0; p < q; p++) if (free[p]) markFree(p);
  let toRelease = [...surplus.values()].reduce((a, b) => a + b, 0);
  while (toRelease > 0) {
    let best = -1;
    let bestScore = -1;
    let bestDist = -1;
    for (let p = 0; p < q; p++) {
      const o = owners[p];
      if (o === undefined || !((surplus.get(o) ?? 0) > 0)) continue;
      const score = cost.at(owners, p, o);
      const dist = distToFree[p] ?? q;
      if (score > bestScore || (score === bestScore && dist > bestDist)) {
        best = p;
        bestScore = score;
        bestDist = dist;
      }
    }
    const giver = owners[best] as NodeId;
    surplus.set(giver, (surplus.get(giver) ?? 0) - 1);
    count.set(giver, (count.get(giver) ?? 0) - 1);
    owners[best] = undefined;
    free[best] = true;
    markFree(best);
    toRelease--;
  }

  // 3. Fill.
  const need = new Map<NodeId, number>();
  for (const m of sorted) {
    const d = (share.get(m.id) ?? 0) - (count.get(m.id) ?? 0);
    if (d > 0) need.set(m.id, d);
  }
  for (let p = 0; p < q; p++) {
    if (owners[p] !== undefined) continue;
    let best: NodeId | undefined;
    let bestCost = Infinity;
    let bestNeed = 0;
    for (const m of sorted) {
      const left = need.get(m.id) ?? 0;
      if (left === 0) continue;
      const c = cost.at(owners, p, m.id);
      if (c < bestCost || (c === bestCost && left > bestNeed)) {
        best = m.id;
        bestCost = c;
        bestNeed = left;
      }
    }
    if (best === undefined) throw new Error('claim: shares do not add up to the partition count');
    owners[p] = best;
    need.set(best, bestNeed - 1);
  }
  const filled = owners as NodeId[];

  // 4. Improve: node conflicts first, then zone conflicts, within one evaluation budget.
  const moved: number[] = [];
  for (let p = 0; p < q; p++) if (free[p]) moved.push(p);
  const budget = { evaluations: improveEvaluationsMax };
  for (const threshold of [cost.nodeWeight, 1]) {
    for (let pass = 0; pass < improvePassesMax; pass++) {
      if (!improveOnce(filled, start, moved, cost, threshold, budget)) break;
    }
  }
  return filled;
}

/**
 * One pass of step 4 of claim over the moved partitions whose cost is at least
 * `threshold`; true when it changed something. Stops when the budget is spent.
 */
function improveOnce(
  owners: NodeId[],
  start: readonly (NodeId | undefined)[],
  moved: number[],
  cost: SpreadCost,
  threshold: number,
  budget: { evaluations: number },
): boolean {
  let changed = false;
  for (let k = 0; k < moved.length && budget.evaluations > 0; k++) {
    const p = moved[k] as number;
    const x = owners[p] as NodeId;
    if (cost.at(owners, p, x) < threshold) continue;
    let bestDelta = 0;
    let bestSwap = -1; // a moved partition whose new owner trades places with x
    let bestRelease = -1; // a partition the giver releases instead of p
    for (const r of moved) {
      const y = owners[r] as NodeId;
      if (y === x) continue;
      const delta = cost.delta(owners, p, y, r, x);
      if (delta < bestDelta) {
        bestDelta = delta;
        bestSwap = r;
        bestRelease = -1;
      }
    }
    budget.evaluations -= moved.length;
    const giver = start[p];
    if (giver !== undefined) {
      // p was released by `giver`: let it keep p and release another of its partitions.
      for (let r = 0; r < owners.length; r++) {
        if (owners[r] !== giver || start[r] !== giver) continue;
        const delta = cost.delta(owners, p, giver, r, x);
        if (delta < bestDelta) {
          bestDelta = delta;
          bestSwap = -1;
          bestRelease = r;
        }
      }
      budget.evaluations -= owners.length;
    }
    if (bestSwap >= 0) {
      owners[p] = owners[bestSwap] as NodeId;
      owners[bestSwap] = x;
      changed = true;
    } else if (bestRelease >= 0) {
      owners[p] = giver as NodeId;
      owners[bestRelease] = x;
      moved[k] = bestRelease;
      changed = true;
    }
  }
  return changed;
}

/**
 * The spread cost of an assignment: pairs of partitions closer than the window with the
 * same owner (weight `nodeWeight`, always dominant), plus pairs closer than the zone window
 * in the same zone (weight 1). Unowned partitions cost nothing.
 */
class SpreadCost {
  private readonly window: number;
  private readonly zoneWindow: number;
  /** The weight of one same-node pair: more than all same-zone pairs together. */
  readonly nodeWeight: number;
  private readonly zoneOf: ReadonlyMap<NodeId, string>;

  constructor(
    private readonly q: number,
    memberCount: number,
    members: readonly Member[],
    targetN: number,
  ) {
    if (!Number.isInteger(targetN) || targetN < 1)
      throw badRequest(`targetN must be a positive integer, got ${targetN}`);
    // A window wider than the member count cannot be met, and pairs must not wrap twice.
    this.window = Math.max(1, Math.min(targetN, memberCount, Math.floor(q / 2)));
    const zoneOf = new Map<NodeId, string>();
    for (const m of members) if (m.zone !== undefined) zoneOf.set(m.id, m.zone);
    this.zoneOf = zoneOf;
    this.zoneWindow = Math.min(this.window, new Set(zoneOf.values()).size);
    this.nodeWeight = 2 * q * this.window + 1;
  }

  private pair(a: NodeId | undefined, b: NodeId | undefined, d: number): number {
    if (a === undefined || b === undefined) return 0;
    if (a === b) return this.nodeWeight;
    if (d >= this.zoneWindow) return 0;
    const za = this.zoneOf.get(a);
    return za !== undefined && za === this.zoneOf.get(b) ? 1 : 0;
  }

  /** The cost of the pairs that partition p would form if owned by `owner`. */
  at(owners: readonly (NodeId | undefined)[], p: number, owner: NodeId): number {
    let c = 0;
    for (let d = 1; d < this.window; d++) {
      c += this.pair(owner, owners[(p + d) % this.q], d);
      c += this.pair(owner, owners[(p - d + this.q) % this.q], d);
    }
    return c;
  }

  /**
   * How much the cost changes if p becomes `a` and r becomes `b` at once (owners is
   * restored). Both moves used by claim are exchanges ({p,r} keep the same two owners), so
   * the p–r pair, counted twice on both sides when p and r are close, cancels out.
   */
  delta(owners: (NodeId | undefined)[], p: number, a: NodeId, r: number, b: NodeId): number {
    const oldP = owners[p];
    const oldR = owners[r];
    const before =
      (oldP === undefined ? 0 : this.at(owners, p, oldP)) +
      (oldR === undefined ? 0 : this.at(owners, r, oldR));
    owners[p] = a;
    owners[r] = b;
    const after = this.at(owners, p, a) + this.at(owners, r, b);
    owners[p] = oldP;
    owners[r] = oldR;
    return after - before;
  }
}

// ---------------------------------------------------------------------------------------
// Reading the ring

/**
 * The nodes that hold replicas of `partition`: walking clockwise from its owner, the first
 * `n` distinct nodes (Dynamo §4.3). With `zones`, nodes in zones not yet used come first
 * (so N replicas span N zones when N zones exist), then the rest in ring order. A node
 * missing from `zones` counts as a zone of its own. Fewer than n owners → all of them.
 * Costs O(Q) at worst; callers on a hot path cache it per ring version.
 */
export function preferenceList(
  ring: RingState,
  partition: PartitionIndex,
  n: number,
  zones?: ReadonlyMap<NodeId, string>,
): NodeId[] {
  checkPartition(ring, partition);
  if (!Number.isInteger(n) || n < 1)
    throw badRequest(`n must be a positive integer, got ${n}`, { n });
  const q = ring.partitionCount;
  const picked: NodeId[] = [];
  const seen = new Set<NodeId>();
  if (zones !== undefined) {
    const usedZones = new Set<string>();
    for (let step = 0; step < q && picked.length < n; step++) {
      const owner = ring.owners[(partition + step) % q] as NodeId;
      if (seen.has(owner)) continue;
      const zone = zones.get(owner);
      if (zone !== undefined) {
        if (usedZones.has(zone)) continue;
        usedZones.add(zone);
      }
      seen.add(owner);
      picked.push(owner);
    }
  }
  for (let step = 0; step < q && picked.length < n; step++) {
    const owner = ring.owners[(partition + step) % q] as NodeId;
    if (seen.has(owner)) continue;
    seen.add(owner);
    picked.push(owner);
  }
  return picked;
}

/** The partition a key belongs to. */
export function partitionOfKey(ring: RingState, key: Key): PartitionIndex {
  return partitionOfHashHi(keyHashHi(key), ring.partitionCount);
}

function hex64(hi: number, lo: number): string {
  const h = (w: number): string => (w >>> 0).toString(16).toUpperCase().padStart(8, '0');
  return `0x${h(hi)}${h(lo)}`;
}

/** The hash range of partition i, both ends inclusive, in `hashHex` form. */
export function partitionRange(
  partitionCount: number,
  i: PartitionIndex,
): { start: string; end: string } {
  checkPartitionCount(partitionCount);
  if (!Number.isInteger(i) || i < 0 || i >= partitionCount) {
    throw badRequest(`partition must be an integer in 0..${partitionCount - 1}, got ${i}`, {
      partition: i,
    });
  }
  // Each partition is 2^(64 - log2 Q) wide, i.e. 2^32 / Q units of the high word.
  const width = 2 ** 32 / partitionCount;
  return { start: hex64(i * width, 0), end: hex64((i + 1) * width - 1, 0xffffffff) };
}

/** The partitions `node` owns, ascending. */
export function partitionsOwnedBy(ring: RingState, node: NodeId): PartitionIndex[] {
  const out: PartitionIndex[] = [];
  ring.owners.forEach((o, i) => {
    if (o === node) out.push(i);
  });
  return out;
}

/** The distinct owners, by id. */
export function ringMembers(ring: RingState): NodeId[] {
  return [...new Set(ring.owners)].sort(byId);
}

/** The partitions whose owner differs between two rings of the same size (handoff plan). */
export function movedPartitions(a: RingState, b: RingState): PartitionIndex[] {
  if (a.partitionCount !== b.partitionCount) {
    throw badRequest(`ring sizes differ: ${a.partitionCount} and ${b.partitionCount}`);
  }
  const out: PartitionIndex[] = [];
  for (let i = 0; i < a.partitionCount; i++) if (a.owners[i] !== b.owners[i]) out.push(i);
  return out;
}

/**
 * Replica load: for each owner, in how many preference lists of length n it appears.
 * Ideal is n·Q/members for every node.
 */
export function replicaLoad(
  ring: RingState,
  n: number,
  zones?: ReadonlyMap<NodeId, string>,
): Map<NodeId, number> {
  const load = new Map<NodeId, number>(ringMembers(ring).map((id) => [id, 0]));
  for (let p = 0; p < ring.partitionCount; p++) {
    for (const node of preferenceList(ring, p, n, zones)) load.set(node, (load.get(node) ?? 0) + 1);
  }
  return load;
}

// ---------------------------------------------------------------------------------------
// Codec

/** The ring as a JSON-ready plain object. */
export function ringToJSON(ring: RingState): {
  version: number;
  partitionCount: number;
  owners: NodeId[];
} {
  return { version: ring.version, partitionCount: ring.partitionCount, owners: [...ring.owners] };
}

/** Validates an untrusted value (e.g. a gossiped ring) as a RingState; KV_BAD_REQUEST if not. */
export function parseRing(value: unknown): RingState {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw badRequest('ring must be an object');
  const v = value as Record<string, unknown>;
  const { version, partitionCount, owners } = v;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
    throw badRequest('ring version must be a non-negative integer', { field: 'version' });
  }
  if (!isValidPartitionCount(partitionCount)) {
    throw badRequest(
      `ring partitionCount must be a power of two in ${PARTITION_COUNT_MIN}..${PARTITION_COUNT_MAX}`,
      {
        field: 'partitionCount',
      },
    );
  }
  if (!Array.isArray(owners) || owners.length !== partitionCount) {
    throw badRequest('ring owners must be an array of partitionCount node ids', {
      field: 'owners',
    });
  }
  const list: NodeId[] = [];
  for (const [i, o] of (owners as unknown[]).entries()) {
    if (!isNodeId(o))
      throw badRequest(`ring owner of partition ${i} is not a node id`, {
        field: 'owners',
        partition: i,
      });
    list.push(o);
  }
  return freezeRing({ version, partitionCount, owners: list });
}
