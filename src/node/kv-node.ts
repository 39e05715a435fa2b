import type { NodeId, PartitionIndex, PeerAddress } from '../core/types.ts';
import { KvError } from '../core/errors.ts';
import type { Storage } from '../storage/storage.ts';
import type { Transport } from '../transport/transport.ts';
import type { VersionedRecord } from '../core/siblings.ts';
import { coordinateWrite, isDeleted, liveSiblings, sameVersions, syncRecords } from '../core/siblings.ts';
import { decodeContext } from '../core/context.ts';
import { applyPatch, contextFromDots, emptyContext, emptyDocument, parsePatch, retryState, type Dot } from '../core/crdt/index.ts';
import { emptyVector } from '../core/version-vector.ts';
import type { ClusterView, MemberInfo } from '../core/membership.ts';
import { claim, mergeViews, sameView, viewFromWire, viewToWire } from '../core/membership.ts';
import { partitionOfKey, preferenceList } from '../core/ring.ts';
import type { RingState } from '../core/ring.ts';
import type { Clock } from './clock.ts';
import type { NodeConfig } from './config.ts';
import type { ForwardedWrite, PeerMessage } from './peer-messages.ts';
import { errorFromWire, errorToWire } from './peer-messages.ts';
import { ChurnTable } from './churn-table.ts';
import { decodeRecord, encodeRecord, recordFromPeer, recordFromWire, recordToWire, sameBytes } from './record-codec.ts';
import type { WireRecord } from './record-codec.ts';
import { dataKey, dataRange, keyOfDataKey, META_TABLE, DATA_TABLE, VIEW_META_KEY, DOC_TABLES_TABLE } from './storage-layout.ts';
import { DocumentTables, type LoadedRows } from './document-tables.ts';
import { dotsFromWire, dotsToWire, novelDots, RecentDots } from './document-reads.ts';
import { EventHub } from './node-events.ts';
import { compareUtf8 } from '../storage/utf8-order.ts';
import { PhiAccrualDetector } from '../core/failure-detector.ts';
import { HintStore } from './hint-store.ts';
import { PartitionHandoff } from './partition-handoff.ts';
import { QuorumCall } from './quorum-call.ts';
import { WriteQuorum } from './write-quorum.ts';

export interface NodeDeps {
  readonly config: NodeConfig;
  readonly storage: Storage;
  readonly transport: Transport<PeerMessage>;
  readonly clock: Clock;
  /**
   * The wall clock for times stored in data and shown to people: versions' `writtenAtMs`, LWW
   * register timestamps, idempotency ages, tombstone grace, event times. Default `clock.now`.
   * A clock-skew fault moves only this one (src/server/clock-skew.ts), so the failure detector,
   * deadlines and timers keep measuring real intervals while the node's timestamps are off.
   */
  readonly wallClock?: () => number;
  readonly random: () => number;
  /** Learns a seed's id and peer address (HTTP in the server, a table in the simulator). */
  readonly discoverSeed?: (seed: string) => Promise<{ id: NodeId; peer: PeerAddress }>;
}

/**
 * Told of every change to this node's stored data, in the same synchronous step as the write
 * is issued (so listeners such as the Merkle trees see changes in order). `after` undefined
 * means the key was removed from this node (handoff, tombstone reaping).
 */
export type LocalChangeListener = (
  partition: PartitionIndex,
  key: string,
  before: VersionedRecord | undefined,
  after: VersionedRecord | undefined,
) => void;

/** What node extensions (anti-entropy, handoff) may use: the node's ports and helpers. */
export interface NodeServices {
  readonly storage: Storage;
  readonly clock: Clock;
  /** The wall clock (NodeDeps.wallClock): for times compared with stored timestamps. */
  wallNow(): number;
  readonly random: () => number;
  send(to: NodeId, m: PeerMessage): boolean;
  request(to: NodeId, make: (id: number) => PeerMessage, timeoutMs: number): Promise<PeerMessage>;
  emit(type: string, fields: Record<string, unknown>): void;
  /** Merges records into local storage (version-vector rules); resolves when durable. */
  mergeLocal(key: string, record: VersionedRecord): Promise<void>;
}

/** A mechanism that runs beside the node (anti-entropy, handoff): started and stopped with it. */
export interface NodeExtension {
  readonly name: string;
  start(): void;
  close(): Promise<void> | void;
  /** Its part of `/admin/status`. */
  status(): Record<string, unknown>;
  /** State worth keeping across a clean restart (saved by `close`, after the last change). */
  snapshot?(): unknown;
  /** Called before `start` with what `snapshot` saved, when the node last stopped cleanly. */
  restore?(saved: unknown): void;
}

/** A partition's ring nodes in preference order: its N replicas, then the fallbacks. */
interface Placement {
  readonly replicas: readonly NodeId[];
  readonly fallbacks: readonly NodeId[];
}

/** Where one copy of a request goes: a replica, or a fallback holding a hint for one. */
interface Target {
  readonly node: NodeId;
  readonly hint?: NodeId;
  /** Known down with no fallback: counted as failed without sending. */
  readonly down?: boolean;
}

export interface ReadOptions {
  readonly r: number;
  readonly timeoutMs: number;
}
export interface WriteOptions {
  readonly w: number;
  readonly timeoutMs: number;
  readonly context: string | null;
}

/** The result of a quorum read: the merged record (undefined = never written anywhere). */
export interface ReadResult {
  readonly record: VersionedRecord | undefined;
  readonly replied: number;
}

export interface WriteResult {
  readonly record: VersionedRecord;
  readonly coordinator: NodeId;
  /** A field update whose Idempotency-Key had already been applied. */
  readonly duplicate: boolean;
}

/** How long a node with seeds waits to hear from them before it may create the first ring. */
const BOOTSTRAP_WAIT_MS = 3000;
/** Keys returned by one listing, at most. */
export const LIST_LIMIT_MAX = 10_000;

/**
 * One database node: the I/O shell around the sans-I/O core. It owns the storage and the
 * transport, coordinates client requests (Dynamo §4.5: any node takes any request; a write is
 * coordinated by a replica of its key) and serves its peers' requests.
 */
export class KvNode {
  readonly id: NodeId;
  readonly config: NodeConfig;
  readonly events = new EventHub();
  readonly startedAtMs: number;
  readonly #storage: Storage;
  readonly #transport: Transport<PeerMessage>;
  readonly #clock: Clock;
  readonly #wallNow: () => number;
  readonly #random: () => number;
  readonly #discoverSeed: NodeDeps['discoverSeed'];
  readonly #detector: PhiAccrualDetector;
  readonly hints: HintStore;
  /** CRDT documents' idempotency tables, stored apart from the documents (document-tables.ts). */
  readonly #tables: DocumentTables;
  readonly handoff: PartitionHandoff;
  #memberStates = new Map<NodeId, 'up' | 'suspect' | 'down'>();
  #lastRedialMs = new Map<NodeId, number>();
  #placementCache: { ring: RingState; members: ReadonlyMap<NodeId, MemberInfo>; lists: readonly Placement[] } | null = null;
  #hintTimer: unknown = null;
  #delivering = new Set<NodeId>();
  #view: ClusterView;
  #nextRequestId = 1;
  /** Reply handlers by request id; not a Map (churn-table.ts says why). */
  readonly #pending = new ChurnTable<(from: NodeId, m: PeerMessage) => void>();
  #gossipTimer: unknown = null;
  #gossipRounds = 0;
  #seedsHeard = new Set<NodeId>();
  #seedIds = new Map<string, NodeId>();
  #closed = false;
  readonly stats = { keys: 0, tombstones: 0, readRepairs: 0, forwarded: 0 };
  /** Whether the last start restored counts and trees saved by a clean shutdown (no scan). */
  restoredFromSnapshot = false;
  readonly #changeListeners: LocalChangeListener[] = [];
  readonly #extensions = new Map<string, (from: NodeId, m: PeerMessage) => void>();
  readonly #attached: NodeExtension[] = [];
  readonly #inflight = new Map<string, Promise<void>>();
  /** Which idempotency key recent table dots applied, for reads of concurrent replicas. */
  readonly #recentDots = new RecentDots();

  constructor(deps: NodeDeps) {
    this.config = deps.config;
    this.id = deps.config.id;
    this.#storage = deps.storage;
    this.#transport = deps.transport;
    this.#clock = deps.clock;
    const clock = deps.clock;
    this.#wallNow = deps.wallClock ?? (() => clock.now());
    this.#random = deps.random;
    this.#discoverSeed = deps.discoverSeed;
    this.startedAtMs = deps.clock.now();
    this.#detector = new PhiAccrualDetector({ firstIntervalMs: deps.config.gossipIntervalMs, acceptablePauseMs: deps.config.gossipIntervalMs });
    this.hints = new HintStore(deps.storage, deps.config.hintsPerTargetMax, { keysMax: deps.config.idempotencyKeysMax, now: () => this.#wallNow() });
    this.#tables = new DocumentTables(deps.storage, DOC_TABLES_TABLE, deps.config.idempotencyKeysMax);
    this.handoff = new PartitionHandoff({
      storage: deps.storage,
      now: () => this.#clock.now(),
      request: (to, make, timeoutMs) => this.#request(to, make, timeoutMs),
      isUp: (id) => this.memberState(id) === 'up',
      removeIfUnchanged: (key, bytes) => this.#removeIfUnchanged(key, bytes),
      fullRecord: (k, bytes) => this.#tables.withTable(k, decodeRecord(bytes)),
      emit: (type, fields) => this.#emit(type, fields),
      sleep: (ms) => new Promise((r) => this.#clock.setTimeout(r, ms)),
      advertise: (partitions) => this.#advertiseHandoff(partitions),
      drained: () => this.#drained(),
      batchSize: deps.config.hintBatchSize,
      timeoutMs: deps.config.requestTimeoutMs,
    });
    this.#view = { members: new Map(), ring: null };
  }

  // ---------------------------------------------------------------- lifecycle

  /** Loads state from disk, joins (or rejoins) the cluster and starts gossip. */
  async start(): Promise<void> {
    const saved = this.#storage.get(META_TABLE, VIEW_META_KEY);
    const restored = saved ? viewFromWire(decodeMeta(saved)) : undefined;
    const self = this.#selfInfo(restored?.members.get(this.id));
    this.#view = { members: new Map(restored?.members ?? []).set(this.id, self), ring: restored?.ring ?? null };
    const clean = cleanShutdownFromWire(this.#storage.get(META_TABLE, CLEAN_SHUTDOWN_KEY));
    if (clean !== undefined) {
      // Valid only until the first change: forget it (durably) before anything can change.
      await this.#storage.write([{ type: 'del', table: META_TABLE, key: CLEAN_SHUTDOWN_KEY }]);
      this.stats.keys = clean.keys;
      this.stats.tombstones = clean.tombstones;
      for (const ext of this.#attached) if (clean.extensions[ext.name] !== undefined) ext.restore?.(clean.extensions[ext.name]);
    } else this.#countKeys();
    this.restoredFromSnapshot = clean !== undefined;
    this.#transport.onMessage((from, m) => this.#onPeerMessage(from, m));
    this.#applyPeers();
    this.#claim();
    await this.#persistView();
    this.#scheduleGossip();
    this.#scheduleHintDelivery();
    for (const ext of this.#attached) ext.start();
    this.#planHandoff(null);
    void this.#bootstrap();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.handoff.close();
    if (this.#gossipTimer !== null) this.#clock.clearTimeout(this.#gossipTimer);
    if (this.#hintTimer !== null) this.#clock.clearTimeout(this.#hintTimer);
    for (const reply of this.#pending.drain()) reply(this.id, { t: 'put-r', id: 0, err: { code: 'KV_UNAVAILABLE', message: 'node shutting down' } });
    for (const ext of this.#attached) await ext.close();
    await this.#transport.close();
    await this.#saveCleanShutdown();
    await this.#storage.close();
  }

  /**
   * After the last change (transport closed, no request in progress): saves the key counts and
   * the extensions' snapshots (the Merkle trees), so the next start needs no scan of the data —
   * a node with 1,000,000 keys serves in a few seconds (issue #12). A crash leaves no snapshot,
   * and the next start counts and builds from storage as before.
   */
  async #saveCleanShutdown(): Promise<void> {
    try {
      const extensions: Record<string, unknown> = {};
      for (const ext of this.#attached) if (ext.snapshot) extensions[ext.name] = ext.snapshot();
      const saved: CleanShutdown = { keys: this.stats.keys, tombstones: this.stats.tombstones, extensions };
      await this.#storage.write([{ type: 'put', table: META_TABLE, key: CLEAN_SHUTDOWN_KEY, value: encodeMeta(saved) }]);
    } catch {
      // Nothing saved: the next start scans, as after a crash.
    }
  }

  #selfInfo(previous: MemberInfo | undefined): MemberInfo {
    const c = this.config;
    const same =
      previous && previous.httpUrl === c.httpUrl && previous.peer.host === c.peer.host && previous.peer.port === c.peer.port && previous.zone === c.zone;
    if (previous && same) return previous;
    const status = previous?.status === 'valid' ? 'valid' : c.join || c.seeds.length === 0 ? 'joining' : 'left';
    return { id: this.id, httpUrl: c.httpUrl, peer: c.peer, zone: c.zone, status, version: (previous?.version ?? 0) + 1 };
  }

  // ---------------------------------------------------------------- membership

  get view(): ClusterView {
    return this.#view;
  }

  memberState(id: NodeId): 'up' | 'suspect' | 'down' {
    if (id === this.id) return 'up';
    // A refused connection is definitive (the process is gone); silence is judged by phi.
    if (!this.#transport.isReachable(id)) return 'down';
    return this.#detector.state(id, this.#clock.now());
  }

  /** POST /admin/join: this node asks to own partitions. */
  async join(): Promise<void> {
    const me = this.#view.members.get(this.id)!;
    if (me.status === 'valid' || me.status === 'joining') return;
    this.#setSelf({ ...me, status: 'joining', version: me.version + 1 });
    await this.#persistView();
  }

  /** POST /admin/leave: this node gives up its partitions. */
  async leave(): Promise<void> {
    const me = this.#view.members.get(this.id)!;
    if (me.status === 'leaving' || me.status === 'left') return;
    this.#setSelf({ ...me, status: 'leaving', version: me.version + 1 });
    await this.#persistView();
  }

  #setSelf(me: MemberInfo): void {
    this.#view = { members: new Map(this.#view.members).set(this.id, me), ring: this.#view.ring };
    this.#emit('member-status', { member: me.id, status: me.status });
    this.#claim();
    this.#gossipToAll();
  }

  async #bootstrap(): Promise<void> {
    if (!this.#discoverSeed) return;
    const pending = new Set(this.config.seeds);
    while (!this.#closed && pending.size > 0) {
      for (const seed of [...pending]) {
        try {
          const { id, peer } = await this.#discoverSeed(seed);
          if (id === this.id) {
            pending.delete(seed);
            continue;
          }
          this.#seedIds.set(seed, id);
          this.#transport.setPeer(id, peer);
          this.#transport.send(id, { t: 'gossip', view: viewToWire(this.#view) });
          pending.delete(seed);
        } catch {
          // The seed is not up yet; try again on the next round.
        }
      }
      if (pending.size > 0) await new Promise<void>((res) => this.#clock.setTimeout(res, 250));
    }
  }

  #mayCreateRing(): boolean {
    if (this.config.seeds.length === 0) return true;
    if (this.#clock.now() - this.startedAtMs >= BOOTSTRAP_WAIT_MS) return true;
    const known = [...this.#seedIds.values()];
    return known.length === this.config.seeds.length && known.every((id) => this.#seedsHeard.has(id));
  }

  #claim(): void {
    const next = claim(this.#view, this.id, this.config.partitions, this.#mayCreateRing());
    if (next) this.#adoptView(next);
  }

  #adoptView(next: ClusterView): void {
    const before = this.#view;
    this.#view = next;
    for (const [id, m] of next.members) {
      const old = before.members.get(id);
      if (!old || old.status !== m.status) this.#emit('member-status', { member: id, status: m.status });
    }
    if (next.ring && next.ring !== before.ring && (!before.ring || next.ring.version !== before.ring.version)) {
      this.#emit('ring-changed', { version: next.ring.version });
    }
    this.#applyPeers();
    void this.#persistView();
    if (next.ring && next.ring !== before.ring) this.#planHandoff(before.ring);
  }

  /**
   * After a ring change: every partition this node no longer replicates but still holds data
   * for goes to the nodes that became its replicas (those not in the old preference list), or
   * to all current replicas when the old list is unknown (e.g. after a restart).
   */
  #planHandoff(previous: RingState | null): void {
    const ring = this.#view.ring;
    if (!ring) return;
    const lists = this.#orderedNodes(ring);
    const before = previous && previous.partitionCount === ring.partitionCount ? previous : null;
    const zones = new Map([...this.#view.members.values()].map((m) => [m.id, m.zone]));
    const lost = new Map<PartitionIndex, NodeId[]>();
    for (let p = 0; p < ring.partitionCount; p++) {
      const now = lists[p]!.replicas;
      if (now.includes(this.id)) continue;
      const old = before ? preferenceList(before, p, this.config.n, zones) : [];
      const gained = now.filter((n) => !old.includes(n));
      lost.set(p, gained.length > 0 ? gained : [...now]);
    }
    this.handoff.plan(lost, before !== null);
  }

  #advertiseHandoff(partitions: PartitionIndex[]): void {
    const me = this.#view.members.get(this.id)!;
    const { handoff: _old, ...rest } = me;
    this.#setSelf(partitions.length > 0 ? { ...rest, handoff: partitions, version: me.version + 1 } : { ...rest, version: me.version + 1 });
  }

  /** A leaving node that handed everything over is done: it is `left` and may be stopped. */
  #drained(): void {
    const me = this.#view.members.get(this.id)!;
    const owns = this.#view.ring?.owners.includes(this.id) ?? false;
    if (me.status === 'leaving' && !owns) {
      this.#setSelf({ ...me, status: 'left', version: me.version + 1 });
      this.#emit('left', {});
    }
  }

  async #removeIfUnchanged(key: string, bytes: Uint8Array): Promise<boolean> {
    const ring = this.#view.ring;
    if (!ring) return false;
    const partition = partitionOfKey(ring, key);
    const k = dataKey(partition, key);
    const now = this.#storage.get(DATA_TABLE, k);
    if (!now || !sameBytes(now, bytes)) return false;
    const before = decodeRecord(now);
    if (isDeleted(before)) this.stats.tombstones--;
    else this.stats.keys--;
    const durable = this.#storage.write([{ type: 'del', table: DATA_TABLE, key: k }, ...(before.doc ? this.#tables.removeOps(k) : [])]);
    for (const fn of this.#changeListeners) fn(partition, key, before, undefined);
    await storageErrors(durable);
    return true;
  }

  #applyPeers(): void {
    for (const m of this.#view.members.values()) {
      if (m.id !== this.id) this.#transport.setPeer(m.id, m.peer);
    }
  }

  async #persistView(): Promise<void> {
    try {
      await this.#storage.write([{ type: 'put', table: META_TABLE, key: VIEW_META_KEY, value: encodeMeta(viewToWire(this.#view)) }]);
    } catch {
      // Persisting membership is best effort: gossip restores it after a restart.
    }
  }

  #scheduleGossip(): void {
    if (this.#closed) return;
    // Jitter spreads rounds so nodes started together do not gossip in lock step.
    const delay = this.config.gossipIntervalMs * (0.75 + this.#random() * 0.5);
    this.#gossipTimer = this.#clock.setTimeout(() => {
      this.#gossipRound();
      this.#scheduleGossip();
    }, delay);
  }

  #gossipRound(): void {
    this.#claim();
    this.#checkMemberStates();
    // Catch data that reached this node for partitions it does not replicate (stale
    // coordinators, a restart in the middle of a handoff): hand it over too.
    if (++this.#gossipRounds % 5 === 0) this.#planHandoff(null);
    const peers = [...this.#view.members.values()].filter((m) => m.id !== this.id && m.status !== 'left');
    if (peers.length === 0) return;
    const target = peers[Math.floor(this.#random() * peers.length)]!;
    this.#transport.send(target.id, { t: 'gossip', view: viewToWire(this.#view) });
    // Also ping everyone cheaply so liveness is known for all members, not only the gossip target.
    for (const p of peers) if (p !== target) this.#transport.send(p.id, { t: 'gossip', view: { members: [this.#view.members.get(this.id)!], ring: null } });
  }

  #gossipToAll(): void {
    const wire = viewToWire(this.#view);
    for (const m of this.#view.members.values()) if (m.id !== this.id) this.#transport.send(m.id, { t: 'gossip', view: wire });
  }

  #onGossip(from: NodeId, raw: unknown): void {
    const incoming = viewFromWire(raw);
    if (!incoming) return;
    this.#seedsHeard.add(from);
    // Nobody may change this node's own record but itself (except the claimant making it valid).
    const mineNow = this.#view.members.get(this.id)!;
    const merged = mergeViews(this.#view, incoming);
    const mineMerged = merged.members.get(this.id);
    const members = new Map(merged.members);
    if (!mineMerged || (mineMerged.version < mineNow.version)) members.set(this.id, mineNow);
    const next: ClusterView = { members, ring: merged.ring };
    const changed = !sameView(this.#view, next);
    if (changed) this.#adoptView(next);
    this.#claim();
    // Push-pull: answer a peer whose view lacks what we know, so views converge in one round.
    if (incoming.ring !== null && !sameView(incoming, this.#view)) {
      this.#transport.send(from, { t: 'gossip', view: viewToWire(this.#view) });
    } else if (incoming.ring === null && incoming.members.size > 1) {
      this.#transport.send(from, { t: 'gossip', view: viewToWire(this.#view) });
    }
  }

  // ---------------------------------------------------------------- placement

  /** The partition of a key and its preference list (the N replicas, zones spread). */
  placement(key: string): { partition: PartitionIndex; replicas: readonly NodeId[]; fallbacks: readonly NodeId[] } {
    const ring = this.#view.ring;
    if (!ring) throw new KvError('KV_UNAVAILABLE', 'the cluster has no ring yet (still forming)');
    const partition = partitionOfKey(ring, key);
    const { replicas, fallbacks } = this.#orderedNodes(ring)[partition]!;
    return { partition, replicas, fallbacks };
  }

  /**
   * Every ring node per partition in preference order: the first N are the replicas, the rest
   * the fallbacks a sloppy quorum uses. Cached per ring and zone map (preferenceList is O(Q)).
   */
  #orderedNodes(ring: RingState): readonly Placement[] {
    // Views are replaced, never mutated: the same ring and members objects mean the same lists.
    const members = this.#view.members;
    const c = this.#placementCache;
    if (c && c.ring === ring && c.members === members) return c.lists;
    const zones = new Map<NodeId, string>();
    for (const m of members.values()) zones.set(m.id, m.zone);
    const everyone = new Set(ring.owners).size;
    const lists: Placement[] = [];
    for (let p = 0; p < ring.partitionCount; p++) {
      const all = preferenceList(ring, p, everyone, zones);
      // Split once here, not per request: every read and write asks for its key's placement.
      lists.push({ replicas: all.slice(0, this.config.n), fallbacks: all.slice(this.config.n) });
    }
    this.#placementCache = { ring, members, lists };
    return lists;
  }

  /**
   * Where a request goes (Dynamo §4.6, sloppy quorum): the replicas that are not known to be
   * down, and for each down replica the next healthy fallback, carrying a hint naming it.
   */
  #targets(key: string): { partition: PartitionIndex; replicas: readonly NodeId[]; targets: Target[] } {
    const { partition, replicas, fallbacks } = this.placement(key);
    const targets: Target[] = [];
    // Healthy fallbacks, listed only once a replica turns out to be down (rarely).
    let spare: NodeId[] | undefined;
    for (const node of replicas) {
      if (node === this.id || this.memberState(node) !== 'down') targets.push({ node });
      else {
        spare ??= this.config.hintedHandoff ? fallbacks.filter((f) => this.memberState(f) !== 'down') : [];
        const fallback = spare.shift();
        // No fallback left: the replica counts as failed at once, so a request that cannot
        // reach its quorum fails fast instead of waiting for its time-out.
        targets.push(fallback ? { node: fallback, hint: node } : { node, down: true });
      }
    }
    return { partition, replicas, targets };
  }

  /** Partitions for which this node is one of the N replicas. */
  replicatedPartitions(): PartitionIndex[] {
    const ring = this.#view.ring;
    if (!ring) return [];
    const lists = this.#orderedNodes(ring);
    const out: PartitionIndex[] = [];
    for (let p = 0; p < ring.partitionCount; p++) if (lists[p]!.replicas.includes(this.id)) out.push(p);
    return out;
  }

  // ---------------------------------------------------------------- local storage

  readLocal(key: string): VersionedRecord | undefined {
    const ring = this.#view.ring;
    if (!ring) return undefined;
    const k = dataKey(partitionOfKey(ring, key), key);
    const { record } = this.#storedAt(k);
    // A document comes with its whole idempotency table: this is what replicas exchange.
    return record ? this.#tables.withTable(k, record) : undefined;
  }

  /**
   * What this node stores for a key, a document without its idempotency table: its row (fields,
   * compensations, the table's causal context), all that `documentView` and comparing replicas
   * need (CRDT12), read in O(row) whatever the table's size. For answers only: a row's `seen`
   * dots lack their entries, so it is never merged into any replica's state (`readLocal` is).
   */
  readView(key: string): VersionedRecord | undefined {
    const bytes = this.#viewBytes(key);
    return bytes ? decodeRecord(bytes) : undefined;
  }

  /** What storage key `k` holds, as stored and decoded (a document: its row, without the table). */
  #storedAt(k: string): StoredRecord {
    const bytes = this.#storage.get(DATA_TABLE, k);
    return { bytes, record: bytes ? decodeRecord(bytes) : undefined };
  }

  /** `readView` as stored (encodeRecord's form): what a replica sends a quorum read as it is. */
  #viewBytes(key: string): Uint8Array | undefined {
    const ring = this.#view.ring;
    if (!ring) return undefined;
    return this.#storage.get(DATA_TABLE, dataKey(partitionOfKey(ring, key), key));
  }

  /**
   * Merges a record into what this replica holds and stores the result. The read and the write
   * are issued in the same synchronous step (the storage sees pending writes, ST2), so two
   * concurrent merges of one key cannot lose each other.
   *
   * For a plain record it also gives the merged record's stored encoding, so a coordinator
   * replicates it without encoding it again (a document's row is not the whole record).
   * `incomingBytes`, the encoding of `incoming` as a peer sent it, is stored as it is when the
   * merge yields `incoming` (the common case: it supersedes what is here). `stored`, what the
   * caller read of the key in this same synchronous step, saves reading it again.
   */
  #mergeLocal(
    key: string,
    incoming: VersionedRecord,
    { incomingBytes, stored }: { incomingBytes?: Uint8Array; stored?: StoredRecord } = {},
  ): { merged: VersionedRecord; durable: Promise<void>; bytes?: Uint8Array } {
    const ring = this.#view.ring;
    if (!ring) throw new KvError('KV_UNAVAILABLE', 'the cluster has no ring yet (still forming)');
    const partition = partitionOfKey(ring, key);
    const k = dataKey(partition, key);
    if (incoming.doc) return this.#mergeDocument(partition, key, k, incoming);
    const { bytes, record: local } = stored ?? this.#storedAt(k);
    const merged = syncRecords(local, incoming)!;
    // Nothing new, but the stored copy may not be durable yet: whoever acknowledges must wait
    // for the write that is still in flight.
    if (local && sameVersions(local, merged)) return { merged: local, durable: this.#inflight.get(k) ?? Promise.resolve(), bytes: bytes! };
    this.#trackCounts(local, merged);
    // Same versions means the same siblings: a dot names one value, wherever it is stored.
    const value = incomingBytes !== undefined && sameVersions(merged, incoming) ? incomingBytes : encodeRecord(merged);
    const durable = this.#track(k, this.#storage.write([{ type: 'put', table: DATA_TABLE, key: k, value }]));
    for (const fn of this.#changeListeners) fn(partition, key, local, merged);
    return { merged, durable, bytes: value };
  }

  /**
   * #mergeLocal for a record carrying a document (a delta, or a replica's full state): reads the
   * stored document with only the table rows of the keys the incoming one carries, merges, and
   * writes what changed (document-tables.ts), so the cost follows the incoming state, not the
   * size of the stored table. Same synchronous read-then-write step as #mergeLocal.
   */
  #mergeDocument(partition: PartitionIndex, key: string, k: string, incoming: VersionedRecord): { merged: VersionedRecord; durable: Promise<void> } {
    const { bytes, record: stored } = this.#storedAt(k);
    const { record: local, rows } = this.#tables.withRows(k, stored, incoming.doc?.idempotency.applied.keys() ?? []);
    const merged = syncRecords(local, incoming)!;
    if (incoming.doc) this.#recentDots.note(k, incoming.doc);
    const write = this.#tables.store(DATA_TABLE, k, bytes, rows, merged, this.#wallNow());
    if (local && write === undefined) return { merged: local, durable: this.#inflight.get(k) ?? Promise.resolve() };
    this.#trackCounts(stored, merged);
    const durable = this.#track(k, write ?? Promise.resolve());
    for (const fn of this.#changeListeners) fn(partition, key, local, merged);
    return { merged, durable };
  }

  /**
   * Remembers the newest in-flight write per storage key until it is durable, and gives what the
   * write settles with as the node reports it (storage errors as KV_STORAGE_IO). One promise per
   * stored write, on every replica: the forgetting and the error mapping share it. Whoever gets
   * it must handle its rejection (a dropped rejected promise would end the process).
   */
  #track(k: string, write: Promise<void>): Promise<void> {
    const durable: Promise<void> = write.then(
      () => {
        if (this.#inflight.get(k) === durable) this.#inflight.delete(k);
      },
      (e: unknown) => {
        if (this.#inflight.get(k) === durable) this.#inflight.delete(k);
        throw storageError(e);
      },
    );
    this.#inflight.set(k, durable);
    return durable;
  }

  #trackCounts(before: VersionedRecord | undefined, after: VersionedRecord): void {
    if (before) {
      if (isDeleted(before)) this.stats.tombstones--;
      else this.stats.keys--;
    }
    if (isDeleted(after)) this.stats.tombstones++;
    else this.stats.keys++;
  }

  #countKeys(): void {
    let keys = 0;
    let tombstones = 0;
    for (const [, bytes] of this.#storage.range(DATA_TABLE)) {
      try {
        if (isDeleted(decodeRecord(bytes))) tombstones++;
        else keys++;
      } catch {
        // A corrupt record is reported when read; counting must not stop start-up.
      }
    }
    this.stats.keys = keys;
    this.stats.tombstones = tombstones;
  }

  /** Keys with a prefix that this node stores (live ones, sorted), for listings. */
  listLocal(prefix: string, limit: number): { keys: string[]; truncated: boolean } {
    const ring = this.#view.ring;
    if (!ring) return { keys: [], truncated: false };
    const found: string[] = [];
    let truncated = false;
    for (let p = 0; p < ring.partitionCount; p++) {
      for (const [k, bytes] of this.#storage.range(DATA_TABLE, dataRange(p, prefix))) {
        const key = keyOfDataKey(k);
        if (!key.startsWith(prefix)) break;
        try {
          if (isDeleted(decodeRecord(bytes))) continue;
        } catch {
          continue;
        }
        found.push(key);
      }
    }
    found.sort(compareUtf8);
    if (found.length > limit) {
      found.length = limit;
      truncated = true;
    }
    return { keys: found, truncated };
  }

  // ---------------------------------------------------------------- client operations

  /**
   * A quorum read (Dynamo §4.5): ask the N replicas, answer after R, repair the stale ones.
   * Replicas answer with views (`readView`: a document without its idempotency table), so a read
   * costs O(row) whatever the table's size. Merging views gives the answer merging full states
   * would, except for compensations that only a meeting of the tables can create (one key
   * applied by two coordinators that had not seen each other's application): when no reply
   * alone holds the merged row (replicas concurrent), the answer is made from full states
   * instead. The views are never stored: read repair of a document pushes full states.
   */
  async get(key: string, opts: ReadOptions): Promise<ReadResult> {
    const { partition, replicas, targets } = this.#targets(key);
    // Nodes still handing this partition over after a ring change answer too (started now, in
    // parallel): a write they acknowledged before the change may not have reached the new
    // replicas yet, and R of the new replicas alone could miss it.
    const handingOff = this.#handoffSources(partition, targets.map((t) => t.node));
    const fromSources = handingOff.map((n) =>
      this.#request(n, (id) => ({ t: 'get', id, key, view: true }), opts.timeoutMs).then(
        (m) => (m.t === 'get-r' && !m.err && m.rec ? recordFromPeer(m.rec) : undefined),
        () => undefined,
      ),
    );
    const r = Math.min(opts.r, replicas.length);
    const call = new QuorumCall<VersionedRecord | undefined>(targets.length, r);
    // Only primary replicas' answers take part in read repair; fallbacks hold hints.
    const got = new Map<NodeId, VersionedRecord | undefined>();
    const asked = new Set(targets.map((t) => t.node));
    /** Replies used for the answer: node → its view and the replica it answered for (a fallback: its hints). */
    const answered = new Map<NodeId, { rec: VersionedRecord | undefined; hint: NodeId | undefined }>();
    const id = this.#nextRequestId++;
    // This node's own copy, when it is a primary replica: a reply with the same bytes is the
    // same record, so it is not decoded again (replicas mostly agree).
    let own: { bytes: Uint8Array; rec: VersionedRecord } | undefined;
    const finish = new Promise<void>((resolve) => {
      const timer = this.#clock.setTimeout(() => {
        call.timeout();
        resolve();
      }, opts.timeoutMs);
      const settleAll = (): void => {
        if (call.allIn()) {
          this.#clock.clearTimeout(timer);
          this.#pending.delete(id);
          resolve();
        }
      };
      this.#pending.set(id, (from, m) => {
        if (m.t !== 'get-r' || !asked.has(from)) return;
        if (m.err) call.fail(from);
        else {
          try {
            const rec = m.rec ? (own !== undefined && sameBytes(own.bytes, m.rec) ? own.rec : recordFromPeer(m.rec)) : undefined;
            if (replicas.includes(from)) got.set(from, rec);
            answered.set(from, { rec, hint: targets.find((t) => t.node === from)?.hint });
            call.succeed(from, rec);
          } catch {
            call.fail(from);
          }
        }
        settleAll();
      });
      for (const { node: n, hint, down } of targets) {
        if (down) call.fail(n);
        else if (n === this.id) {
          try {
            const k = this.#dataKeyOf(key);
            const { bytes, record } = this.#storedAt(k);
            let rec = record;
            if (bytes && rec && hint === undefined) own = { bytes, rec };
            if (hint !== undefined) rec = syncRecords(rec, this.hints.readView(hint, k));
            // Only a primary replica's copy takes part in read repair; a fallback holds hints.
            else got.set(n, rec);
            answered.set(n, { rec, hint });
            call.succeed(n, rec);
          } catch {
            call.fail(n);
          }
        } else if (!this.#transport.send(n, hint ? { t: 'get', id, key, hint, view: true } : { t: 'get', id, key, view: true })) call.fail(n);
      }
      settleAll();
    });
    const outcome = await call.quorum();
    void finish.then(() => {
      this.#pending.delete(id);
      this.#readRepair(key, got);
    });
    if (!outcome.ok) throw quorumError('read', outcome, r);
    const readers = [...answered];
    // (No await when no node is handing the partition off: each await costs a microtask turn.)
    const views = fromSources.length === 0 ? outcome.values : [...outcome.values, ...(await Promise.all(fromSources))];
    const selfHandingOff = !targets.some((t) => t.node === this.id) && this.handoff.pending().includes(partition);
    if (selfHandingOff) views.push(this.readView(key));
    let merged: VersionedRecord | undefined;
    for (const rec of views) merged = rec === merged ? merged : syncRecords(merged, rec);
    if (merged?.doc && !views.some((rec) => sameVersions(rec, merged))) {
      // Concurrent replicas: their tables may hold applications of one key that only a merge of
      // the tables compensates (document-reads.ts). Merge in their novel entries or, failing
      // that, their full states (the views too: a failed read must not take its replica's
      // writes out of the answer).
      const novel = handingOff.length === 0 && !selfHandingOff ? await this.#novelEntries(key, readers, opts.timeoutMs) : undefined;
      if (novel !== undefined) for (const rec of novel) merged = syncRecords(merged, rec);
      else {
        const full = [...readers, ...handingOff.map((n): [NodeId, { hint: undefined }] => [n, { hint: undefined }])].map(([n, { hint }]) =>
          this.#readFull(n, key, hint, opts.timeoutMs).catch(() => undefined),
        );
        if (selfHandingOff) full.push(Promise.resolve(this.readLocal(key)));
        for (const rec of await Promise.all(full)) merged = syncRecords(merged, rec);
      }
    }
    return { record: merged, replied: outcome.succeeded };
  }

  /**
   * Each replica's view with the entries of the novel table dots assigned to it (`novelDots`),
   * or undefined when one cannot be had (a fallback answered, too many dots, a replica that
   * cannot name a dot's entry, no reply): then the answer needs full states.
   */
  async #novelEntries(
    key: string,
    readers: readonly (readonly [NodeId, { rec: VersionedRecord | undefined; hint: NodeId | undefined }])[],
    timeoutMs: number,
  ): Promise<(VersionedRecord | undefined)[] | undefined> {
    if (readers.some(([, a]) => a.hint !== undefined)) return undefined;
    const dots = novelDots(readers.map(([n, a]) => [n, a.rec?.doc?.idempotency.seen ?? emptyContext] as const));
    if (dots === undefined) return undefined;
    const asks = readers.map(async ([n], i): Promise<VersionedRecord | undefined> => {
      const want = dots[i]!;
      if (want.length === 0) return undefined;
      if (n === this.id) return this.#viewWithEntries(key, want);
      const m = await this.#request(n, (id) => ({ t: 'get', id, key, view: true, dots: dotsToWire(want) }), timeoutMs);
      if (m.t !== 'get-r') throw new KvError('KV_INTERNAL', 'unexpected reply');
      if (m.err) throw errorFromWire(m.err);
      return m.rec ? recordFromPeer(m.rec) : undefined;
    });
    // The views bring every dot: common ones (every replica has their entries) and novel ones,
    // whose entries the answers bring.
    return Promise.all(asks).then((entries) => [...readers.map(([, a]) => a.rec), ...entries], () => undefined);
  }

  /**
   * The table entries of `dots` (ones this node applied or merged lately), with this node's row
   * as it is now but with only those dots in the table's context: the row may have gained dots
   * since its view was read, and a dot travels only with its entry (CRDT12; like `retryState`).
   * Throws when one is not at hand.
   */
  #viewWithEntries(key: string, dots: readonly Dot[]): VersionedRecord | undefined {
    const k = this.#dataKeyOf(key);
    const keys = this.#recentDots.keysOf(k, dots);
    const { record } = this.#tables.withRows(k, this.#storedAt(k).record, keys);
    const doc = record?.doc;
    if (!doc || keys.some((ik) => !doc.idempotency.applied.has(ik))) throw new KvError('KV_UNAVAILABLE', 'a table entry is gone (pruned); read the full state');
    const applied = new Map(keys.map((ik) => [ik, doc.idempotency.applied.get(ik)!]));
    return { ...record, doc: { ...doc, idempotency: { applied, compensations: doc.idempotency.compensations, seen: contextFromDots(dots) } } };
  }

  /**
   * A node's full state of a key (a document with its whole table; with `hint`, merged with the
   * hints it holds for that replica), as transfers need it. Rejects when the node fails to answer.
   */
  async #readFull(node: NodeId, key: string, hint: NodeId | undefined, timeoutMs: number): Promise<VersionedRecord | undefined> {
    if (node === this.id) {
      const rec = this.readLocal(key);
      return hint === undefined ? rec : syncRecords(rec, this.hints.read(hint, this.#dataKeyOf(key)));
    }
    const m = await this.#request(node, (id) => (hint === undefined ? { t: 'get', id, key } : { t: 'get', id, key, hint }), timeoutMs);
    if (m.t !== 'get-r') throw new KvError('KV_INTERNAL', 'unexpected reply');
    if (m.err) throw errorFromWire(m.err);
    return m.rec ? recordFromPeer(m.rec) : undefined;
  }

  /** Members (other than `except`) that advertise an unfinished handoff of `partition`. */
  #handoffSources(partition: PartitionIndex, except: readonly NodeId[]): NodeId[] {
    const out: NodeId[] = [];
    for (const m of this.#view.members.values()) {
      if (m.handoff?.includes(partition) && m.id !== this.id && !except.includes(m.id) && this.memberState(m.id) !== 'down') out.push(m.id);
    }
    return out;
  }

  /**
   * After all replicas answered (or the time-out), push the merged version to stale ones. `got`
   * holds views: the stale replicas are found by comparing rows (CRDT12), but a view must never
   * be stored, so a document is repaired with full states (`#repairDocument`).
   */
  #readRepair(key: string, got: Map<NodeId, VersionedRecord | undefined>): void {
    if (this.#closed || got.size < 2) return;
    let merged: VersionedRecord | undefined;
    for (const rec of got.values()) merged = syncRecords(merged, rec);
    if (!merged) return;
    // Replicas mostly agree (their replies are then one decoded object): nothing to allocate.
    let stale: NodeId[] | undefined;
    for (const [node, rec] of got) if (!sameVersions(rec, merged)) (stale ??= []).push(node);
    if (stale === undefined) return;
    for (const node of stale) {
      this.stats.readRepairs++;
      this.#emit('read-repair', { key, replica: node });
    }
    if ([...got.values()].some((rec) => rec?.doc)) void this.#repairDocument(key, got, stale);
    else for (const node of stale) this.#pushRepair(key, node, merged);
  }

  /**
   * Read repair of a document. What is pushed must carry the entry of every table dot the stale
   * replica lacks (CRDT12): the replicas' views with the entries of their novel dots
   * (document-reads.ts; a replica has the entries of the dots it has seen, so this is a state it
   * may merge), a few rows each. Failing that, full states: a fresh replica's (this node's own
   * copy when it is fresh: no round trip) or, when every replica is stale, all of theirs. A
   * source that fails to answer is left out; anti-entropy and hints still converge them.
   */
  async #repairDocument(key: string, got: ReadonlyMap<NodeId, VersionedRecord | undefined>, stale: readonly NodeId[]): Promise<void> {
    const replicas = [...got.keys()];
    const timeoutMs = this.config.requestTimeoutMs;
    let states = await this.#novelEntries(key, [...got].map(([n, rec]) => [n, { rec, hint: undefined }] as const), timeoutMs);
    if (states === undefined) {
      const fresh = replicas.filter((n) => !stale.includes(n));
      const sources = fresh.includes(this.id) ? [this.id] : fresh.length > 0 ? fresh.slice(0, 1) : replicas;
      states = await Promise.all(sources.map((n) => this.#readFull(n, key, undefined, timeoutMs).catch(() => undefined)));
    }
    let repaired: VersionedRecord | undefined;
    for (const rec of states) repaired = syncRecords(repaired, rec);
    if (!repaired || this.#closed) return;
    for (const node of stale) this.#pushRepair(key, node, repaired);
  }

  /** Merges a full state into one replica's copy of a key (this node's or, unacknowledged, a peer's). */
  #pushRepair(key: string, node: NodeId, rec: VersionedRecord): void {
    if (node === this.id) void this.#mergeLocal(key, rec).durable.catch(() => undefined);
    else this.#transport.send(node, { t: 'put', id: 0, key, rec: encodeRecord(rec), ack: false });
  }

  /** What this node itself stores for a key (`?local=true`): a view, a document without its table. */
  getLocal(key: string): VersionedRecord | undefined {
    return this.readView(key);
  }

  /**
   * Removes a key's tombstone from this replica, if it still holds a tombstone that `expected`
   * accepts (the same version every replica was found to hold). Anti-entropy's reaper calls it
   * once all replicas hold the tombstone and its grace interval passed. Read and delete are
   * issued in one synchronous step, like #mergeLocal, so a newer write is never removed.
   */
  removeTombstone(key: string, expected: (record: VersionedRecord) => boolean): Promise<boolean> {
    const ring = this.#view.ring;
    if (!ring) return Promise.resolve(false);
    const partition = partitionOfKey(ring, key);
    const k = dataKey(partition, key);
    const local = this.#storedAt(k).record;
    if (!local || !isDeleted(local) || !expected(local)) return Promise.resolve(false);
    this.stats.tombstones--;
    const durable = this.#storage.write([{ type: 'del', table: DATA_TABLE, key: k }]);
    for (const fn of this.#changeListeners) fn(partition, key, local, undefined);
    return storageErrors(durable).then(() => true);
  }

  /** PUT / DELETE: coordinated by a replica of the key; other nodes forward it there. */
  async write(req: ForwardedWrite): Promise<WriteResult> {
    const { replicas } = this.placement(req.key);
    if (replicas.includes(this.id)) return this.#coordinateWrite(req);
    if (req.hops > 0) throw new KvError('KV_UNAVAILABLE', 'forwarded write reached a node that is not a replica (ring changing); retry');
    // Healthy replicas first (up, then suspect); a replica known down is not tried at all.
    const rank = (n: NodeId): number => ({ up: 0, suspect: 1, down: 2 })[this.memberState(n)];
    const candidates = replicas.filter((n) => this.#transport.isReachable(n) && rank(n) < 2).sort((x, y) => rank(x) - rank(y));
    // A forward that gets no answer is tried on the next replica, within the request's time:
    // a retried put is at worst a sibling of itself, and a keyed field update counts once.
    // An unkeyed field update is not retried after a silent time-out (it may have been applied).
    const retryOnSilence = req.kind !== 'patch' || req.idempotencyKey !== null;
    const deadline = this.#clock.now() + req.timeoutMs;
    const list = candidates.length > 0 ? candidates : replicas;
    for (let i = 0; i < list.length; i++) {
      const target = list[i]!;
      const left = deadline - this.#clock.now();
      if (left <= 0) break;
      const last = i === list.length - 1 || !retryOnSilence;
      try {
        this.stats.forwarded++;
        const res = await this.#request(target, (id) => ({ t: 'fwd', id, req: { ...req, hops: req.hops + 1 } }), last ? left : Math.ceil(left / 2));
        if (res.t !== 'fwd-r') throw new KvError('KV_INTERNAL', 'unexpected reply');
        if (res.err) throw errorFromWire(res.err);
        const out = res.res as { rec?: unknown; duplicate?: unknown; coordinator?: unknown };
        return { record: recordFromWire(out.rec), coordinator: typeof out.coordinator === 'string' ? out.coordinator : target, duplicate: out.duplicate === true };
      } catch (e) {
        const unreachable = e instanceof KvError && e.code === 'KV_UNAVAILABLE' && e.details.unreachable === true;
        const silent = e instanceof KvError && e.code === 'KV_TIMEOUT' && e.details.node === target;
        if (unreachable || (silent && !last)) continue;
        throw e;
      }
    }
    throw new KvError('KV_QUORUM_NOT_MET', 'no replica of this key is reachable to coordinate the write', { replicas, answered: 0, required: req.w });
  }

  async #coordinateWrite(req: ForwardedWrite): Promise<WriteResult> {
    if (req.kind === 'patch') return this.#coordinatePatch(req);
    const seen = req.context ? decodeContext(req.context) : emptyVector();
    const stored = this.#storedAt(this.#dataKeyOf(req.key));
    // (A document's row is enough: coordinateWrite refuses to write over a document.)
    const { record } = coordinateWrite(stored.record, seen, this.id, {
      value: req.value,
      contentType: req.contentType,
      deleted: req.kind === 'del',
      writtenAtMs: this.#wallNow(),
    });
    // Stored durably here first: a dot must never reach another replica before it is safe on
    // its coordinator (see coordinateWrite).
    const { merged, durable, bytes } = this.#mergeLocal(req.key, record, { stored });
    await durable;
    await this.#replicate(req.key, merged, req.w, req.timeoutMs, bytes);
    return { record: merged, coordinator: this.id, duplicate: false };
  }

  /**
   * A field update (CRDT document): applied by this replica to its own durable state, under
   * its own actor (so its counter entries and set dots are never reused), stored, then only
   * the delta is sent to the other replicas. The document is read with only the table row of
   * the request's Idempotency-Key (document-tables.ts), so the cost does not grow with the
   * table. A retry with a known key changes nothing but is replicated again (the document and
   * that key's entry, `retryState`), so a first attempt that reached too few replicas still
   * gets to W.
   */
  async #coordinatePatch(req: ForwardedWrite): Promise<WriteResult> {
    const k = this.#dataKeyOf(req.key);
    const { bytes, record: stored } = this.#storedAt(k);
    if (stored && liveSiblings(stored).length > 0) {
      throw new KvError('KV_TYPE_MISMATCH', 'this key holds a plain value; replace it with PUT (or DELETE it) before using field updates', { holds: 'value' });
    }
    const patch = parsePatch(parseJson(req.value));
    const now = this.#wallNow();
    const idempotencyKey = req.idempotencyKey ?? undefined;
    const { record: local, rows } = this.#tables.withRows(k, stored, idempotencyKey === undefined ? [] : [idempotencyKey]);
    const base = local?.doc ?? emptyDocument();
    const result = applyPatch(base, patch, { actor: this.id, nowMs: now, ...(idempotencyKey === undefined ? {} : { idempotencyKey }) });
    if (result.duplicate && local && idempotencyKey !== undefined) {
      await this.#replicate(req.key, { ...local, doc: retryState(base, idempotencyKey) }, req.w, req.timeoutMs);
      return { record: local, coordinator: this.id, duplicate: true };
    }
    const record: VersionedRecord = { context: local?.context ?? emptyVector(), siblings: local?.siblings ?? [], doc: result.state };
    this.#recentDots.note(k, result.delta);
    await this.#replaceLocal(req.key, k, { bytes, stored, rows }, record);
    const delta: VersionedRecord = { context: emptyVector(), siblings: [], doc: result.delta };
    await this.#replicate(req.key, delta, req.w, req.timeoutMs);
    return { record, coordinator: this.id, duplicate: false };
  }

  /**
   * Sends a record to the key's other targets and waits until W replicas (self included) hold it.
   * `encoded`: the record's encoding when the caller has it already.
   */
  async #replicate(key: string, record: VersionedRecord, wanted: number, timeoutMs: number, encoded?: Uint8Array): Promise<void> {
    const { replicas, targets } = this.#targets(key);
    const wire = encoded ?? encodeRecord(record);
    const w = Math.min(wanted, replicas.length);
    const id = this.#nextRequestId++;
    // Late acks are still welcome until the time-out; then the request is forgotten, and every
    // replica that did not take the write gets a hint held here (as Cassandra's coordinator
    // does), so writes in the window before a failure is detected are not left to repair.
    const quorum = new WriteQuorum(
      targets.map((t) => t.node),
      w,
      (ok, acked) => {
        this.#clock.clearTimeout(timer);
        this.#pending.delete(id);
        if (ok) this.#hintMissed(key, record, targets, acked);
      },
    );
    const timer = this.#clock.setTimeout(() => quorum.timeout(), timeoutMs);
    this.#pending.set(id, (from, m) => {
      if (m.t !== 'put-r') return;
      if (m.err) quorum.fail(quorum.indexOf(from));
      else quorum.succeed(quorum.indexOf(from));
    });
    for (let i = 0; i < targets.length; i++) {
      const { node: n, hint, down } = targets[i]!;
      if (n === this.id) quorum.succeed(i);
      else if (down) quorum.fail(i);
      else {
        const msg: PeerMessage = hint ? { t: 'put', id, key, rec: wire, ack: true, hint } : { t: 'put', id, key, rec: wire, ack: true };
        if (!this.#transport.send(n, msg)) quorum.fail(i);
      }
    }
    const outcome = await quorum.decided;
    if (!outcome.ok) throw quorumError('write', outcome, w);
  }

  #hintMissed(key: string, record: VersionedRecord, targets: readonly Target[], acked: (i: number) => boolean): void {
    if (!this.config.hintedHandoff || this.#closed) return;
    for (let i = 0; i < targets.length; i++) {
      if (acked(i)) continue;
      const t = targets[i]!;
      const owner = t.hint ?? t.node;
      if (owner === this.id) continue;
      this.#storeHint(owner, key, record).catch(() => undefined);
    }
  }

  /**
   * Stores a document computed from `before` (read by #coordinatePatch in the same synchronous
   * step, with the table rows it needed): the document's row and the table rows that changed.
   */
  #replaceLocal(key: string, k: string, before: { bytes: Uint8Array | undefined; stored: VersionedRecord | undefined; rows: LoadedRows }, after: VersionedRecord): Promise<void> {
    const ring = this.#view.ring;
    if (!ring) throw new KvError('KV_UNAVAILABLE', 'the cluster has no ring yet (still forming)');
    const write = this.#tables.store(DATA_TABLE, k, before.bytes, before.rows, after, this.#wallNow());
    this.#trackCounts(before.stored, after);
    const durable = this.#track(k, write ?? this.#inflight.get(k) ?? Promise.resolve());
    for (const fn of this.#changeListeners) fn(partitionOfKey(ring, key), key, before.stored, after);
    return durable;
  }

  /** Lists live keys with a prefix across the cluster: every member answers for what it holds. */
  async list(prefix: string, limit: number, timeoutMs: number): Promise<{ keys: string[]; truncated: boolean }> {
    const all = new Set<string>();
    let truncated = false;
    const mine = this.listLocal(prefix, limit);
    mine.keys.forEach((k) => all.add(k));
    truncated ||= mine.truncated;
    const others = [...this.#view.members.values()].filter((m) => m.id !== this.id && (m.status === 'valid' || m.status === 'leaving'));
    const replies = await Promise.allSettled(
      others.map((m) => this.#request(m.id, (id) => ({ t: 'list', id, prefix, limit }), timeoutMs)),
    );
    for (const r of replies) {
      if (r.status !== 'fulfilled' || r.value.t !== 'list-r' || !Array.isArray(r.value.keys)) continue;
      for (const k of r.value.keys) if (typeof k === 'string') all.add(k);
      truncated ||= r.value.truncated === true;
    }
    const keys = [...all].sort(compareUtf8);
    if (keys.length > limit) {
      keys.length = limit;
      truncated = true;
    }
    return { keys, truncated };
  }

  // ---------------------------------------------------------------- extensions

  /** Adds an extension; call before `start()`. */
  attach(ext: NodeExtension): void {
    this.#attached.push(ext);
  }

  extension(name: string): NodeExtension | undefined {
    return this.#attached.find((e) => e.name === name);
  }

  /** Subscribe to local data changes (see LocalChangeListener). */
  onLocalChange(fn: LocalChangeListener): void {
    this.#changeListeners.push(fn);
  }

  /** Route peer messages of type `t` (and their replies' ids) to an extension. */
  handlePeerMessages(t: PeerMessage['t'], fn: (from: NodeId, m: PeerMessage) => void): void {
    this.#extensions.set(t, fn);
  }

  get services(): NodeServices {
    return {
      storage: this.#storage,
      clock: this.#clock,
      wallNow: () => this.#wallNow(),
      random: this.#random,
      send: (to, m) => this.#transport.send(to, m),
      request: (to, make, timeoutMs) => this.#request(to, make, timeoutMs),
      emit: (type, fields) => this.#emit(type, fields),
      mergeLocal: (key, record) => this.#mergeLocal(key, record).durable,
    };
  }

  // ---------------------------------------------------------------- hinted handoff

  #dataKeyOf(key: string): string {
    const ring = this.#view.ring;
    if (!ring) throw new KvError('KV_UNAVAILABLE', 'the cluster has no ring yet (still forming)');
    return dataKey(partitionOfKey(ring, key), key);
  }

  #storeHint(target: NodeId, key: string, rec: VersionedRecord): Promise<void> {
    if (target === this.id) return this.#mergeLocal(key, rec).durable;
    const stored = this.hints.store(target, this.#dataKeyOf(key), rec);
    this.#emit('hint-stored', { target, key });
    return storageErrors(stored);
  }

  #scheduleHintDelivery(): void {
    if (this.#closed) return;
    this.#hintTimer = this.#clock.setTimeout(() => {
      for (const target of this.hints.targets()) {
        if (!this.#delivering.has(target) && this.memberState(target) === 'up') void this.#deliverHints(target);
      }
      this.#scheduleHintDelivery();
    }, this.config.hintDeliveryIntervalMs);
  }

  /**
   * Sends one target its hints in batches, one batch in flight at a time (the throttle that
   * keeps delivery from starving client traffic, scylladb#7976), and removes each hint once
   * the target acknowledged it durably.
   */
  async #deliverHints(target: NodeId): Promise<void> {
    this.#delivering.add(target);
    try {
      for (;;) {
        if (this.#closed || this.memberState(target) !== 'up') return;
        const batch = this.hints.batch(target, this.config.hintBatchSize);
        if (batch.length === 0) return;
        const entries = batch.map((h): [string, WireRecord] => [h.dataKey.slice(5), recordToWire(h.record)]);
        const res = await this.#request(target, (id) => ({ t: 'batch', id, entries }), this.config.requestTimeoutMs);
        if (res.t !== 'batch-r' || res.err) return;
        const removed = await this.hints.removeDelivered(target, batch);
        this.#emit('hints-delivered', { target, count: removed, remaining: this.hints.pending().byTarget[target] ?? 0 });
        if (removed === 0) return;
      }
    } catch {
      // The target went away mid-delivery; the next round tries again.
    } finally {
      this.#delivering.delete(target);
    }
  }

  // ---------------------------------------------------------------- failure detection

  /** Emits a member-state event whenever this node's opinion of a peer changes. */
  #checkMemberStates(): void {
    for (const m of this.#view.members.values()) {
      if (m.id === this.id || m.status === 'left') continue;
      const state = this.memberState(m.id);
      const before = this.#memberStates.get(m.id);
      if (before !== state) {
        this.#memberStates.set(m.id, state);
        if (before !== undefined || state !== 'up') this.#emit('member-state', { member: m.id, state, previous: before ?? null });
      }
    }
  }

  /** A peer we cannot reach spoke to us: it is back, so dial it now instead of after backoff. */
  #redial(id: NodeId, now: number): void {
    const last = this.#lastRedialMs.get(id) ?? -Infinity;
    const member = this.#view.members.get(id);
    if (!member || now - last < 500) return;
    this.#lastRedialMs.set(id, now);
    this.#transport.removePeer(id);
    this.#transport.setPeer(id, member.peer);
  }

  // ---------------------------------------------------------------- peer side

  #request(to: NodeId, make: (id: number) => PeerMessage, timeoutMs: number): Promise<PeerMessage> {
    const id = this.#nextRequestId++;
    return new Promise((resolve, reject) => {
      const timer = this.#clock.setTimeout(() => {
        this.#pending.delete(id);
        reject(new KvError('KV_TIMEOUT', `no reply from ${to} within ${timeoutMs} ms`, { node: to }));
      }, timeoutMs);
      this.#pending.set(id, (from, m) => {
        if (from !== to) return;
        this.#clock.clearTimeout(timer);
        this.#pending.delete(id);
        resolve(m);
      });
      if (!this.#transport.send(to, make(id))) {
        this.#clock.clearTimeout(timer);
        this.#pending.delete(id);
        reject(new KvError('KV_UNAVAILABLE', `${to} is unreachable`, { node: to, unreachable: true }));
      }
    });
  }

  #onPeerMessage(from: NodeId, m: PeerMessage): void {
    const now = this.#clock.now();
    this.#detector.heartbeat(from, now);
    if (!this.#transport.isReachable(from)) this.#redial(from, now);
    try {
      switch (m.t) {
        case 'gossip':
          this.#onGossip(from, m.view);
          return;
        case 'get': {
          let rec: VersionedRecord | undefined;
          try {
            // A view (no idempotency table) when the reader asks for one: it only answers with it.
            // With `dots`, the view carries those dots' entries (document-reads.ts).
            const view = m.view === true;
            if (m.dots !== undefined) {
              rec = this.#viewWithEntries(m.key, dotsFromWire(m.dots));
              this.#transport.send(from, { t: 'get-r', id: m.id, rec: rec ? encodeRecord(rec) : null });
              return;
            }
            if (view && m.hint === undefined) {
              // A quorum read's usual case: the stored bytes as they are, not decoded here.
              this.#transport.send(from, { t: 'get-r', id: m.id, rec: this.#viewBytes(m.key) ?? null });
              return;
            }
            rec = view ? this.readView(m.key) : this.readLocal(m.key);
            if (m.hint !== undefined) {
              const dk = this.#dataKeyOf(m.key);
              rec = syncRecords(rec, view ? this.hints.readView(m.hint, dk) : this.hints.read(m.hint, dk));
            }
          } catch (e) {
            this.#transport.send(from, { t: 'get-r', id: m.id, rec: null, err: errorToWire(e) });
            return;
          }
          this.#transport.send(from, { t: 'get-r', id: m.id, rec: rec ? encodeRecord(rec) : null });
          return;
        }
        case 'put': {
          const reply = (err?: unknown): void => {
            if (m.ack) this.#transport.send(from, err === undefined ? { t: 'put-r', id: m.id } : { t: 'put-r', id: m.id, err: errorToWire(err) });
          };
          try {
            const rec = recordFromPeer(m.rec);
            const durable = m.hint !== undefined ? this.#storeHint(m.hint, m.key, rec) : this.#mergeLocal(m.key, rec, { incomingBytes: m.rec }).durable;
            durable.then(() => reply(), reply);
          } catch (e) {
            reply(e);
          }
          return;
        }
        case 'batch': {
          const reply = (err?: unknown): void => {
            this.#transport.send(from, err === undefined ? { t: 'batch-r', id: m.id } : { t: 'batch-r', id: m.id, err: errorToWire(err) });
          };
          const writes: Promise<void>[] = [];
          try {
            for (const [key, rec] of m.entries) {
              if (typeof key !== 'string') throw new KvError('KV_BAD_REQUEST', 'batch key');
              writes.push(this.#mergeLocal(key, recordFromWire(rec)).durable);
            }
            Promise.all(writes).then(() => reply(), reply);
          } catch (e) {
            // The writes already started still settle; a failure among them must not go unhandled.
            void Promise.allSettled(writes);
            reply(e);
          }
          return;
        }
        case 'fwd': {
          const req = parseForward(m.req);
          this.write(req).then(
            (res) => this.#transport.send(from, { t: 'fwd-r', id: m.id, res: { rec: recordToWire(res.record), duplicate: res.duplicate, coordinator: res.coordinator } }),
            (e: unknown) => this.#transport.send(from, { t: 'fwd-r', id: m.id, err: errorToWire(e) }),
          );
          return;
        }
        case 'list': {
          const limit = Math.max(1, Math.min(LIST_LIMIT_MAX, Math.floor(m.limit)));
          const { keys, truncated } = this.listLocal(m.prefix, limit);
          this.#transport.send(from, { t: 'list-r', id: m.id, keys, truncated });
          return;
        }
        case 'get-r':
        case 'put-r':
        case 'batch-r':
        case 'fwd-r':
        case 'list-r':
          this.#pending.get(m.id)?.(from, m);
          return;
        case 'ae':
        case 'fetch': {
          const handler = this.#extensions.get(m.t);
          if (handler) handler(from, m);
          return;
        }
        case 'ae-r':
        case 'fetch-r':
          this.#pending.get(m.id)?.(from, m);
          return;
        default: {
          const never: never = m;
          return never;
        }
      }
    } catch (e) {
      // A malformed request from a peer is that peer's problem; answer if it expects a reply.
      if ('id' in m && m.t === 'fwd') this.#transport.send(from, { t: 'fwd-r', id: m.id, err: errorToWire(e) });
    }
  }

  #emit(type: string, fields: Record<string, unknown>): void {
    this.events.emit({ type, node: this.id, atMs: this.#wallNow(), ...fields });
  }
}

function quorumError(op: string, o: { succeeded: number; failed: number; timedOut: boolean; total: number }, required: number): KvError {
  const details = { answered: o.succeeded, failed: o.failed, required, replicas: o.total };
  if (o.timedOut) return new KvError('KV_TIMEOUT', `${op} timed out: ${o.succeeded} of ${required} required replicas answered`, details);
  return new KvError('KV_QUORUM_NOT_MET', `${op} quorum not met: ${o.succeeded} of ${required} required replicas answered`, details);
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new KvError('KV_BAD_REQUEST', 'body is not valid JSON', { field: 'body' });
  }
}

function parseForward(x: ForwardedWrite): ForwardedWrite {
  const ok =
    (x.kind === 'put' || x.kind === 'del' || x.kind === 'patch') &&
    (x.idempotencyKey === null || typeof x.idempotencyKey === 'string') &&
    typeof x.key === 'string' &&
    x.value instanceof Uint8Array &&
    typeof x.contentType === 'string' &&
    (x.context === null || typeof x.context === 'string') &&
    Number.isInteger(x.w) &&
    Number.isInteger(x.timeoutMs) &&
    Number.isInteger(x.hops);
  if (!ok) throw new KvError('KV_BAD_REQUEST', 'malformed forwarded write');
  return x;
}

function storageErrors(p: Promise<void>): Promise<void> {
  // A plain `then` (not an async function): one promise and one turn of the microtask queue.
  return p.then(undefined, (e: unknown) => {
    throw storageError(e);
  });
}

/** A storage failure as the node reports it (a KvError passes as it is). */
function storageError(e: unknown): KvError {
  if (e instanceof KvError) return e;
  return new KvError('KV_STORAGE_IO', `storage write failed: ${e instanceof Error ? e.message : String(e)}`);
}

const encoder = new TextEncoder();

/** A key's stored bytes and their decoding, read together. */
interface StoredRecord {
  readonly bytes: Uint8Array | undefined;
  readonly record: VersionedRecord | undefined;
}

/** META key of what a clean shutdown saved; deleted at start, so it never outlives a change. */
const CLEAN_SHUTDOWN_KEY = 'clean-shutdown';

interface CleanShutdown {
  readonly keys: number;
  readonly tombstones: number;
  readonly extensions: Record<string, unknown>;
}

/** The saved state if it is there and well formed (disks are not trusted); else undefined. */
function cleanShutdownFromWire(bytes: Uint8Array | undefined): CleanShutdown | undefined {
  if (bytes === undefined) return undefined;
  try {
    const v = decodeMeta(bytes) as Partial<CleanShutdown> | null;
    const count = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
    if (v === null || typeof v !== 'object' || !count(v.keys) || !count(v.tombstones)) return undefined;
    const extensions = typeof v.extensions === 'object' && v.extensions !== null ? v.extensions : {};
    return { keys: v.keys, tombstones: v.tombstones, extensions };
  } catch {
    return undefined;
  }
}

function encodeMeta(v: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(v));
}
function decodeMeta(b: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(b));
  } catch {
    return undefined;
  }
}

