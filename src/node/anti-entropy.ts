/**
 * Active anti-entropy (Dynamo §4.7): the guarantee that replicas converge whatever hints and
 * read repair missed. A node extension:
 *  - keeps one Merkle tree per replicated partition (anti-entropy-trees.ts), built from storage
 *    at start and when the ring gives this node a partition, updated on every local change
 *    (O(depth), no rescan), and rebuilt on a long interval to catch silent drift;
 *  - every `antiEntropyIntervalMs` (and on demand, and soon after a peer comes back) walks its
 *    partitions one at a time, runs the core's exchange (src/core/merkle/exchange.ts) with
 *    another up replica over `ae` messages, then pushes and fetches exactly the differing
 *    records (anti-entropy-repair.ts);
 *  - reaps tombstones every replica holds once their grace has passed (anti-entropy-reaper.ts);
 *  - reports each exchange (`ae-exchange`), progress (`ae-progress`) and rounds (`ae-round`) as
 *    events, and its state in `/admin/status`.
 * Rate limits: one exchange in flight per node, a pause between partitions, one repair page in
 * flight, every message bounded by the exchange limits.
 */
import { KvError } from '../core/errors.ts';
import type { NodeId, PartitionIndex } from '../core/types.ts';
import { preferenceList } from '../core/ring.ts';
import { answerRequest } from '../core/merkle/answer-request.ts';
import {
  exchangeLimitsDefault,
  receiveReply,
  startExchange,
  type ExchangeLimits,
  type ExchangeResult,
} from '../core/merkle/exchange.ts';
import { merkleDepthDefault } from '../core/merkle/merkle-tree.ts';
import type { AeRequest } from '../core/merkle/messages.ts';
import type { KvNode, NodeExtension } from './kv-node.ts';
import type { NodeEvent } from './node-events.ts';
import { errorFromWire, errorToWire, type PeerMessage } from './peer-messages.ts';
import { buildPartitionTree, PartitionTree } from './anti-entropy-trees.ts';
import {
  aeReplyFromWire,
  aeRequestFromWire,
  aeToWire,
  type AeEnvelopeReply,
  type AeEnvelopeRequest,
} from './anti-entropy-wire.ts';
import {
  answerFetch,
  fetchRecords,
  frameBytes,
  pushRecords,
  type RepairMeter,
} from './anti-entropy-repair.ts';
import {
  localDigest,
  reapLocal,
  reapPartition,
  TOMBSTONE_GRACE_MS_DEFAULT,
} from './anti-entropy-reaper.ts';

/** Hourly full rebuild: cheap insurance against a missed update or silent disk corruption. */
export const REBUILD_INTERVAL_MS_DEFAULT = 60 * 60_000;
/** Pause between two partitions' exchanges, so a round never monopolises the node. */
export const PARTITION_PAUSE_MS_DEFAULT = 10;
/**
 * The pause after an exchange is twice as long as the exchange took, within [pause, this]: a
 * round uses at most about a third of the node's time while exchanges are short, however fast
 * rounds follow each other (issue #4: anti-entropy flat out must not starve clients), and a
 * round of 64 partitions still ends within a few seconds when every exchange repairs a lot.
 */
const PARTITION_PAUSE_MS_MAX = 30;
/** Exchanges kept for `/admin/status`. */
const RECENT_EXCHANGES_MAX = 20;
/** After a peer comes back, exchange this soon rather than at the next interval. */
const PEER_UP_DELAY_MS = 250;
/** Rounds that may wait behind the running one (on-demand requests beyond it are refused). */
const RUNS_WAITING_MAX = 4;
/** Tree building runs in slices of about this long, then yields to the event loop. */
const BUILD_SLICE_MS = 10;
/** Progress events at most this often while a round runs. */
const PROGRESS_EVERY_MS = 200;

export interface AntiEntropyOptions {
  readonly depth?: number;
  /** 0 = no periodic rounds (trees are still kept, and `run()` works). */
  readonly intervalMs?: number;
  readonly tombstoneGraceMs?: number;
  readonly rebuildIntervalMs?: number;
  readonly partitionPauseMs?: number;
  readonly limits?: ExchangeLimits;
}

/** What one exchange with one peer for one partition compared and repaired. */
export interface ExchangeReport {
  readonly partition: PartitionIndex;
  readonly peer: NodeId;
  readonly ok: boolean;
  readonly error?: string;
  readonly segmentsDiffering: number;
  readonly keysSent: number;
  readonly keysFetched: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly bytes: number;
  readonly roundTrips: number;
  readonly durationMs: number;
  readonly atMs: number;
}

export interface RoundReport {
  readonly trigger: string;
  readonly startedAtMs: number;
  readonly durationMs: number;
  readonly partitionsCompared: number;
  readonly partitionsSkipped: number;
  readonly partitionsDiffering: number;
  readonly segmentsDiffering: number;
  readonly keysSent: number;
  readonly keysFetched: number;
  readonly bytes: number;
  readonly failed: number;
  readonly tombstonesReaped: number;
  /** Exchanges that found differences or failed (all of them for a one-partition run). */
  readonly exchanges: ExchangeReport[];
}

export interface RunOptions {
  readonly partition?: PartitionIndex;
  readonly peer?: NodeId;
  readonly trigger?: string;
}

export class AntiEntropy implements NodeExtension {
  readonly name = 'anti-entropy';
  readonly depth: number;
  readonly intervalMs: number;
  readonly tombstoneGraceMs: number;
  readonly #node: KvNode;
  readonly #rebuildIntervalMs: number;
  readonly #pauseMs: number;
  readonly #limits: ExchangeLimits;
  readonly #trees = new Map<PartitionIndex, PartitionTree>();
  readonly #now = (): number => this.#node.services.clock.now();
  readonly #rotation = new Map<PartitionIndex, number>();
  #building = false;
  #buildAgain = false;
  #closed = false;
  #roundTimer: unknown = null;
  #rebuildTimer: unknown = null;
  #unsubscribe: (() => void) | null = null;
  #lock: Promise<void> = Promise.resolve();
  #waiting = 0;
  #progress: { trigger: string; done: number; total: number; startedAtMs: number } | null = null;
  #kickAgain = false;
  #lastProgressMs = 0;
  readonly #recent: ExchangeReport[] = [];
  #lastRound: Omit<RoundReport, 'exchanges'> | null = null;
  readonly #totals = {
    rounds: 0,
    exchanges: 0,
    failed: 0,
    segmentsDiffering: 0,
    keysSent: 0,
    keysFetched: 0,
    bytesSent: 0,
    bytesReceived: 0,
    tombstonesReaped: 0,
    rebuilds: 0,
    treesDrifted: 0,
    treesRestored: 0,
  };

  constructor(node: KvNode, options: AntiEntropyOptions = {}) {
    this.#node = node;
    this.depth = options.depth ?? node.config.merkleDepth ?? merkleDepthDefault;
    this.intervalMs = options.intervalMs ?? node.config.antiEntropyIntervalMs;
    this.tombstoneGraceMs =
      options.tombstoneGraceMs ?? node.config.tombstoneGraceMs ?? TOMBSTONE_GRACE_MS_DEFAULT;
    this.#rebuildIntervalMs = options.rebuildIntervalMs ?? REBUILD_INTERVAL_MS_DEFAULT;
    this.#pauseMs = options.partitionPauseMs ?? PARTITION_PAUSE_MS_DEFAULT;
    this.#limits = options.limits ?? exchangeLimitsDefault;
    // Registered before the node starts, so no change of stored data is missed.
    // A partition without a tree yet needs nothing: its build reads storage, which holds the
    // change already (ranges see writes in flight, ST3).
    node.onLocalChange((partition, key, before, after) => this.#trees.get(partition)?.apply(key, before, after));
    node.handlePeerMessages('ae', (from, m) => this.#onAe(from, m));
    node.handlePeerMessages('fetch', (from, m) => this.#onFetch(from, m));
  }

  // ------------------------------------------------------------------ lifecycle

  start(): void {
    this.#unsubscribe = this.#node.events.subscribe((e) => this.#onEvent(e));
    this.#syncPartitions();
    const clock = this.#node.services.clock;
    if (this.intervalMs > 0)
      this.#scheduleRound(this.intervalMs * (0.5 + this.#node.services.random() * 0.5));
    const rebuild = (): void => {
      this.#rebuildTimer = clock.setTimeout(() => {
        void this.rebuild().finally(rebuild);
      }, this.#rebuildIntervalMs);
    };
    rebuild();
  }

  close(): void {
    this.#closed = true;
    const clock = this.#node.services.clock;
    if (this.#roundTimer !== null) clock.clearTimeout(this.#roundTimer);
    if (this.#rebuildTimer !== null) clock.clearTimeout(this.#rebuildTimer);
    this.#unsubscribe?.();
  }

  /**
   * Every tree, for the node's clean-shutdown state: the next start restores them instead of
   * scanning storage. Leaves as base64 (the node's meta records are JSON).
   */
  snapshot(): unknown {
    const trees = [...this.#trees].map(([p, pt]) => {
      const { words, keys, tombstones } = pt.snapshot();
      return [p, Buffer.from(words.buffer, words.byteOffset, words.byteLength).toString('base64'), keys, tombstones];
    });
    return { depth: this.depth, trees };
  }

  /** Restores trees saved by `snapshot`; anything malformed is skipped (and built from storage). */
  restore(saved: unknown): void {
    const { depth, trees } = (saved ?? {}) as { depth?: unknown; trees?: unknown };
    if (depth !== this.depth || !Array.isArray(trees)) return;
    const wordCount = 4 * 2 ** this.depth;
    for (const t of trees as unknown[]) {
      if (!Array.isArray(t) || t.length !== 4) continue;
      const [p, b64, keys, tombstones] = t as unknown[];
      if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || typeof b64 !== 'string') continue;
      if (typeof keys !== 'number' || !Number.isSafeInteger(keys) || keys < 0) continue;
      if (!Array.isArray(tombstones) || !tombstones.every((k) => typeof k === 'string')) continue;
      const bytes = Buffer.from(b64, 'base64');
      if (bytes.byteLength !== 4 * wordCount) continue;
      const words = new Uint32Array(wordCount);
      new Uint8Array(words.buffer).set(bytes);
      this.#trees.set(p, PartitionTree.restore(this.#node.services.storage, p, this.depth, this.#now, { words, keys, tombstones }));
      this.#totals.treesRestored++;
    }
  }

  #onEvent(e: NodeEvent): void {
    if (e.type === 'ring-changed') this.#syncPartitions();
    // A peer is back: it may have missed writes, so compare soon instead of at the next interval.
    if (e.type === 'member-state' && e.state === 'up' && this.intervalMs > 0) {
      if (this.#progress !== null) this.#kickAgain = true;
      else this.#scheduleRound(PEER_UP_DELAY_MS);
    }
  }

  #scheduleRound(delayMs: number): void {
    if (this.#closed) return;
    const clock = this.#node.services.clock;
    if (this.#roundTimer !== null) clock.clearTimeout(this.#roundTimer);
    this.#roundTimer = clock.setTimeout(() => {
      this.#roundTimer = null;
      void this.run({ trigger: 'periodic' })
        .catch(() => undefined)
        .then(() => {
          const again = this.#kickAgain;
          this.#kickAgain = false;
          this.#scheduleRound(
            again ? PEER_UP_DELAY_MS : this.intervalMs * (0.9 + this.#node.services.random() * 0.2),
          );
        });
    }, delayMs);
  }

  // ------------------------------------------------------------------ trees

  /** Follows the ring: drops trees of partitions lost, builds those gained (in the background). */
  #syncPartitions(): void {
    if (this.#closed) return;
    const wanted = new Set(this.#node.replicatedPartitions());
    for (const p of [...this.#trees.keys()]) if (!wanted.has(p)) this.#trees.delete(p);
    if ([...wanted].some((p) => !this.#trees.has(p))) void this.#buildMissing();
  }

  async #buildMissing(): Promise<void> {
    if (this.#building) {
      this.#buildAgain = true;
      return;
    }
    this.#building = true;
    try {
      const clock = this.#node.services.clock;
      let sliceStartMs = clock.now();
      do {
        this.#buildAgain = false;
        for (const p of this.#node.replicatedPartitions()) {
          if (this.#closed) return;
          if (this.#trees.has(p)) continue;
          // Time-sliced: a build never holds the event loop (and client traffic) for long.
          if (clock.now() - sliceStartMs >= BUILD_SLICE_MS) {
            await this.#yield();
            sliceStartMs = clock.now();
            if (
              this.#closed ||
              this.#trees.has(p) ||
              !this.#node.replicatedPartitions().includes(p)
            )
              continue;
          }
          const { tree } = buildPartitionTree(this.#node.services.storage, p, this.depth, this.#now);
          this.#trees.set(p, tree);
        }
      } while (this.#buildAgain);
    } catch {
      // Storage closed under us (shutdown) or unreadable: the next ring change or rebuild retries.
    } finally {
      this.#building = false;
    }
  }

  /**
   * Rebuilds every tree from storage and reports the ones that had drifted (a missed update or
   * silent corruption). Runs on `rebuildIntervalMs`; callable for tests and operators.
   */
  async rebuild(): Promise<{ partitions: number; drifted: number[] }> {
    const drifted: number[] = [];
    let partitions = 0;
    try {
      const clock = this.#node.services.clock;
      let sliceStartMs = clock.now();
      for (const [p, old] of [...this.#trees]) {
        if (clock.now() - sliceStartMs >= BUILD_SLICE_MS) {
          await this.#yield();
          sliceStartMs = clock.now();
        }
        if (this.#closed) break;
        if (this.#trees.get(p) !== old) continue;
        const { tree } = buildPartitionTree(this.#node.services.storage, p, this.depth, this.#now);
        partitions++;
        if (!tree.tree.equals(old.tree)) drifted.push(p);
        this.#trees.set(p, tree);
      }
    } catch {
      // Storage closed (shutdown): nothing to report.
    }
    this.#totals.rebuilds++;
    this.#totals.treesDrifted += drifted.length;
    if (!this.#closed) this.#node.services.emit('ae-rebuild', { partitions, drifted });
    return { partitions, drifted };
  }

  #yield(ms = 0): Promise<void> {
    return new Promise((resolve) => this.#node.services.clock.setTimeout(resolve, ms));
  }

  /** This node's tree of a partition, or undefined when it does not replicate it (or not yet). */
  tree(partition: PartitionIndex): PartitionTree | undefined {
    return this.#trees.get(partition);
  }

  /** Root hashes of every tree held, by partition (`GET /admin/merkle`). */
  roots(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const p of [...this.#trees.keys()].sort((a, b) => a - b))
      out[String(p)] = this.#trees.get(p)!.tree.rootHex();
    return out;
  }

  // ------------------------------------------------------------------ rounds

  /** The replicas of a partition (its preference list), as the node places keys. */
  replicasOf(partition: PartitionIndex): NodeId[] {
    const ring = this.#node.view.ring;
    if (ring === null) return [];
    const zones = new Map([...this.#node.view.members.values()].map((m) => [m.id, m.zone]));
    return preferenceList(ring, partition, this.#node.config.n, zones);
  }

  #pickPeer(partition: PartitionIndex, replicas: readonly NodeId[]): NodeId | undefined {
    const up = replicas.filter((r) => r !== this.#node.id && this.#node.memberState(r) === 'up');
    if (up.length === 0) return undefined;
    const turn =
      this.#rotation.get(partition) ?? Math.floor(this.#node.services.random() * up.length);
    this.#rotation.set(partition, turn + 1);
    return up[turn % up.length];
  }

  /**
   * Runs one round now: every replicated partition (or one), each with one peer (rotating over
   * the up replicas, or the given one), then a tombstone reaping pass. Rounds run one at a time.
   */
  async run(options: RunOptions = {}): Promise<RoundReport> {
    if (this.#waiting >= RUNS_WAITING_MAX)
      throw new KvError('KV_OVERLOADED', 'anti-entropy rounds are already queued; try again later');
    this.#waiting++;
    const previous = this.#lock;
    let release = (): void => undefined;
    this.#lock = new Promise((resolve) => (release = resolve));
    await previous;
    this.#waiting--;
    try {
      return await this.#round(options);
    } finally {
      release();
    }
  }

  async #round(options: RunOptions): Promise<RoundReport> {
    const services = this.#node.services;
    const trigger = options.trigger ?? 'manual';
    const startedAtMs = services.clock.now();
    this.#syncPartitions();
    const partitions =
      options.partition !== undefined
        ? [options.partition]
        : [...this.#trees.keys()].sort((a, b) => a - b);
    const exchanges: ExchangeReport[] = [];
    let skipped = 0;
    let reaped = 0;
    this.#progress = { trigger, done: 0, total: partitions.length, startedAtMs };
    this.#emitProgress(true);
    let pauseMs = this.#pauseMs;
    try {
      for (const [i, p] of partitions.entries()) {
        if (this.#closed) break;
        const pt = this.#trees.get(p);
        const replicas = this.replicasOf(p);
        const peer = options.peer ?? this.#pickPeer(p, replicas);
        if (
          pt === undefined ||
          peer === undefined ||
          !replicas.includes(peer) ||
          peer === this.#node.id
        )
          skipped++;
        else {
          const report = await this.#exchange(pt, peer);
          exchanges.push(report);
          this.#record(report);
          pauseMs = Math.min(PARTITION_PAUSE_MS_MAX, Math.max(this.#pauseMs, 2 * report.durationMs));
        }
        this.#progress.done = i + 1;
        this.#emitProgress(false);
        if (i + 1 < partitions.length && this.#pauseMs > 0) await this.#yield(pauseMs);
      }
      if (options.peer === undefined) reaped = await this.#reap(partitions);
    } finally {
      this.#progress = null;
    }
    const sum = (f: (r: ExchangeReport) => number): number =>
      exchanges.reduce((n, r) => n + f(r), 0);
    const summary = {
      trigger,
      startedAtMs,
      durationMs: services.clock.now() - startedAtMs,
      partitionsCompared: exchanges.length,
      partitionsSkipped: skipped,
      partitionsDiffering: exchanges.filter((r) => r.segmentsDiffering > 0).length,
      segmentsDiffering: sum((r) => r.segmentsDiffering),
      keysSent: sum((r) => r.keysSent),
      keysFetched: sum((r) => r.keysFetched),
      bytes: sum((r) => r.bytes),
      failed: exchanges.filter((r) => !r.ok).length,
      tombstonesReaped: reaped,
    };
    this.#lastRound = summary;
    // Groupings of keys by segment served this round's lookups; past their TTL they go.
    for (const pt of this.#trees.values()) pt.dropStaleGrouping();
    this.#totals.rounds++;
    this.#totals.tombstonesReaped += reaped;
    if (!this.#closed) services.emit('ae-round', summary);
    const shown =
      partitions.length === 1
        ? exchanges
        : exchanges.filter((r) => !r.ok || r.segmentsDiffering > 0);
    return { ...summary, exchanges: shown };
  }

  #emitProgress(force: boolean): void {
    const p = this.#progress;
    const now = this.#node.services.clock.now();
    if (
      p === null ||
      this.#closed ||
      (!force && p.done < p.total && now - this.#lastProgressMs < PROGRESS_EVERY_MS)
    )
      return;
    this.#lastProgressMs = now;
    const percent = p.total === 0 ? 100 : Math.round((100 * p.done) / p.total);
    this.#node.services.emit('ae-progress', {
      trigger: p.trigger,
      done: p.done,
      total: p.total,
      percent,
    });
  }

  #record(r: ExchangeReport): void {
    const t = this.#totals;
    t.exchanges++;
    if (!r.ok) t.failed++;
    t.segmentsDiffering += r.segmentsDiffering;
    t.keysSent += r.keysSent;
    t.keysFetched += r.keysFetched;
    t.bytesSent += r.bytesSent;
    t.bytesReceived += r.bytesReceived;
    this.#recent.unshift(r);
    if (this.#recent.length > RECENT_EXCHANGES_MAX) this.#recent.length = RECENT_EXCHANGES_MAX;
    if (!this.#closed) this.#node.services.emit('ae-exchange', { ...r });
  }

  /** One exchange with one peer: compare trees, then push and fetch the differing records. */
  async #exchange(pt: PartitionTree, peer: NodeId): Promise<ExchangeReport> {
    const clock = this.#node.services.clock;
    const startedMs = clock.now();
    const meter: RepairMeter = { bytesSent: 0, bytesReceived: 0 };
    const timeoutMs = this.#node.config.requestTimeoutMs;
    let roundTrips = 0;
    let segmentsDiffering = 0;
    let keysSent = 0;
    let keysFetched = 0;
    let error: string | undefined;
    try {
      const first = startExchange(pt.partition, pt.tree, this.#limits);
      let state = first.state;
      let request: AeRequest = first.message;
      // The descent's segment lookups share one scan of the partition's keys (anti-entropy-trees.ts).
      let result: ExchangeResult | undefined;
      while (result === undefined) {
        roundTrips++;
        const reply = await this.#ask(peer, pt.partition, request, timeoutMs, meter);
        if (reply.type === 'tomb-check-reply' || reply.type === 'tomb-reap-reply')
          throw new KvError('KV_BAD_REQUEST', `unexpected ${reply.type}`);
        const step = receiveReply(state, pt.tree, pt.lookup, reply);
        if (step.kind === 'failed')
          throw new KvError('KV_INTERNAL', `exchange failed: ${step.reason}`);
        if (step.kind === 'done') result = step.result;
        else {
          state = step.state;
          request = step.message;
        }
      }
      segmentsDiffering = result.segmentsDiffering;
      keysSent = await pushRecords(this.#node, peer, result.keysToSend, timeoutMs, meter);
      keysFetched = await fetchRecords(this.#node, peer, result.keysToFetch, timeoutMs, meter);
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    const report: ExchangeReport = {
      partition: pt.partition,
      peer,
      ok: error === undefined,
      segmentsDiffering,
      keysSent,
      keysFetched,
      bytesSent: meter.bytesSent,
      bytesReceived: meter.bytesReceived,
      bytes: meter.bytesSent + meter.bytesReceived,
      roundTrips,
      durationMs: clock.now() - startedMs,
      atMs: startedMs,
    };
    return error === undefined ? report : { ...report, error };
  }

  /** Sends one anti-entropy request to a peer and checks its reply. */
  async #ask(
    peer: NodeId,
    partition: PartitionIndex,
    msg: AeEnvelopeRequest,
    timeoutMs: number,
    meter: RepairMeter,
  ): Promise<AeEnvelopeReply> {
    const m: PeerMessage = { t: 'ae', id: 0, partition, msg: aeToWire(msg) };
    meter.bytesSent += frameBytes(m);
    const res = await this.#node.services.request(peer, (id) => ({ ...m, id }), timeoutMs);
    meter.bytesReceived += frameBytes(res);
    if (res.t !== 'ae-r')
      throw new KvError('KV_INTERNAL', `expected ae-r from ${peer}, got ${res.t}`);
    if (res.err) throw errorFromWire(res.err);
    return aeReplyFromWire(res.msg);
  }

  /** Reaping pass over the partitions this node leads (first in the preference list, all up). */
  async #reap(partitions: readonly PartitionIndex[]): Promise<number> {
    let reaped = 0;
    const meter: RepairMeter = { bytesSent: 0, bytesReceived: 0 };
    for (const p of partitions) {
      const pt = this.#trees.get(p);
      if (this.#closed || pt === undefined || pt.tombstones().size === 0) continue;
      const replicas = this.replicasOf(p);
      if (
        replicas[0] !== this.#node.id ||
        !replicas.every((r) => this.#node.memberState(r) === 'up')
      )
        continue;
      try {
        reaped += await reapPartition(
          {
            node: this.#node,
            graceMs: this.tombstoneGraceMs,
            nowMs: this.#node.services.wallNow(),
            ask: (peer, partition, msg) =>
              this.#ask(peer, partition, msg, this.#node.config.requestTimeoutMs, meter),
          },
          pt,
          replicas,
        );
      } catch {
        // A replica did not answer: nothing is reaped that it might not hold; next round retries.
      }
    }
    if (reaped > 0 && !this.#closed)
      this.#node.services.emit('tombstones-reaped', { count: reaped });
    return reaped;
  }

  // ------------------------------------------------------------------ responder

  #onAe(from: NodeId, m: PeerMessage): void {
    if (m.t !== 'ae') return;
    const services = this.#node.services;
    const reply = (fields: { msg: unknown } | { err: ReturnType<typeof errorToWire> }): void => {
      services.send(from, { t: 'ae-r', id: m.id, ...fields });
    };
    try {
      const req = aeRequestFromWire(m.msg);
      switch (req.type) {
        case 'tomb-check':
          reply({
            msg: aeToWire({
              type: 'tomb-check-reply',
              digests: req.keys.map((k) => localDigest(this.#node, k)),
            }),
          });
          return;
        case 'tomb-reap':
          reapLocal(this.#node, req.entries).then(
            (reaped) => reply({ msg: aeToWire({ type: 'tomb-reap-reply', reaped }) }),
            (e: unknown) => reply({ err: errorToWire(e) }),
          );
          return;
        default: {
          if (req.partition !== m.partition)
            throw new KvError('KV_BAD_REQUEST', 'partition of envelope and message differ');
          const pt = this.#trees.get(m.partition);
          if (pt === undefined)
            throw new KvError(
              'KV_UNAVAILABLE',
              `${this.#node.id} holds no tree for partition ${m.partition}`,
            );
          reply({ msg: aeToWire(answerRequest(pt.tree, pt.lookup, req, this.#limits)) });
          // A node answering exchanges need not run rounds itself (interval 0): drop here too.
          for (const other of this.#trees.values()) if (other !== pt) other.dropStaleGrouping();
        }
      }
    } catch (e) {
      reply({ err: errorToWire(e) });
    }
  }

  #onFetch(from: NodeId, m: PeerMessage): void {
    if (m.t !== 'fetch') return;
    const services = this.#node.services;
    try {
      services.send(from, { t: 'fetch-r', id: m.id, entries: answerFetch(this.#node, m.keys) });
    } catch (e) {
      services.send(from, { t: 'fetch-r', id: m.id, entries: [], err: errorToWire(e) });
    }
  }

  // ------------------------------------------------------------------ status

  status(): Record<string, unknown> {
    const p = this.#progress;
    let tombstones = 0;
    let keys = 0;
    for (const pt of this.#trees.values()) {
      tombstones += pt.tombstones().size;
      keys += pt.keyCount;
    }
    return {
      enabled: this.intervalMs > 0,
      intervalMs: this.intervalMs,
      depth: this.depth,
      running: p !== null,
      progress:
        p === null
          ? null
          : {
              trigger: p.trigger,
              done: p.done,
              total: p.total,
              percent: p.total === 0 ? 100 : Math.round((100 * p.done) / p.total),
            },
      trees: this.#trees.size,
      treeKeys: keys,
      lastRound: this.#lastRound,
      exchanges: [...this.#recent],
      totals: { ...this.#totals, bytes: this.#totals.bytesSent + this.#totals.bytesReceived },
      tombstones: {
        held: tombstones,
        reaped: this.#totals.tombstonesReaped,
        graceMs: this.tombstoneGraceMs,
      },
    };
  }
}
