import type { NodeId } from '../core/types.ts';
import { encodeContext, decodeContext } from '../core/context.ts';
import { KvError } from '../core/errors.ts';
import { KvNode } from '../node/kv-node.ts';
import type { NodeConfig } from '../node/config.ts';
import { DEFAULTS } from '../node/config.ts';
import type { PeerMessage } from '../node/peer-messages.ts';
import type { Transport } from '../transport/transport.ts';
import { checkHistory } from './checkers/check-history.ts';
import { emptyStats, type CheckStats, type Violation } from './checkers/violation.ts';
import type { CounterWorkloadOptions } from './counter-workload.ts';
import { EventLog } from './event-log.ts';
import type { FaultEvent, FaultKind } from './faults.ts';
import { CALM_NETWORK, drawNetworkFaults, drawSkew, drawSplit } from './faults.ts';
import type { HistoryOp } from './history.ts';
import { dotString, HistoryRecorder, recordToJson, vectorJson } from './history.ts';
import type { PlantedBug } from './planted-bugs.ts';
import { Prng } from './prng.ts';
import { Scheduler } from './scheduler.ts';
import type { ClockSkew } from './sim-clock.ts';
import { SimClock } from './sim-clock.ts';
import { SimDisk } from './sim-disk.ts';
import { SimNetwork } from './sim-network.ts';

/** One simulated run: everything it does follows from these options (and the seed above all). */
export interface SimOptions {
  readonly seed: number;
  /** Cluster size; 3..9. */
  readonly nodes: number;
  readonly faults: ReadonlySet<FaultKind>;
  /** Client operations in the run, over all clients. */
  readonly ops: number;
  /** Concurrent clients (each issues one op at a time). */
  readonly clients: number;
  /** Distinct keys the plain workload writes; few keys mean more contention. */
  readonly keys: number;
  /** Replicas per key. */
  readonly n: number;
  /**
   * Sloppy quorum with hinted handoff (Dynamo §4.6). Undefined: drawn from the seed (half the
   * runs each way). With it on, a fallback may stand in for a replica, so R+W>N no longer
   * promises that a read sees an acknowledged write; the checkers then count such reads
   * instead of failing them.
   */
  readonly hintedHandoff?: boolean | undefined;
  /** A deliberate bug to plant (tests and demos only). */
  readonly plant?: PlantedBug | undefined;
  /** The `$inc` workload, once the node has a patch API (see counter-workload.ts). */
  readonly counters?: CounterWorkloadOptions | undefined;
  /** Every event-log line, as it happens (`--verbose`). */
  readonly onEvent?: ((line: string) => void) | undefined;
}

export const SIM_DEFAULTS = { nodes: 5, ops: 200, clients: 4, keys: 6, n: 3 } as const;

export interface SimResult {
  readonly seed: number;
  readonly hintedHandoff: boolean;
  /** SHA-256 of the event log: equal for every replay of the same options. */
  readonly hash: string;
  readonly events: number;
  readonly virtualMs: number;
  readonly history: readonly HistoryOp[];
  readonly violations: readonly Violation[];
  readonly stats: CheckStats;
  /** Fault events by kind (drop, duplicate, delay, cut, lost, crash, partition, …). */
  readonly faultCounts: Readonly<Record<string, number>>;
  /** The nemesis timeline: partitions, crashes, disk faults and their heals. */
  readonly faultTimeline: readonly FaultEvent[];
  /** The last lines of the event log. */
  readonly trace: readonly string[];
  /** Set when the cluster never formed (the run checked nothing). */
  readonly setupError?: string;
}

/** Virtual-time budget of each phase, in ms; generous, since virtual time costs only events. */
const formRingMsMax = 30_000;
const runMsMax = 120_000;
/** After the final heal: gossip settles, in-flight requests time out. */
const settleMs = 3_000;
/** Between the final reads and the replica snapshot: read repair lands. */
const repairMs = 1_000;
/** Final R=N reads retried this often before the key is reported unreadable. */
const finalReadAttemptsMax = 5;
/** Simulated node settings: fast gossip and short time-outs keep runs small in events. */
const gossipIntervalMs = 100;
const requestTimeoutMs = 500;
const partitions = 16;
/** A node's fsync lands within this long after its first unsynced write. */
const syncDelayMaxMs = 8;

/** The CRASHED pseudo error code: the node died while serving the request. */
const CRASHED = 'CRASHED';

interface Incarnation {
  readonly node: KvNode;
  readonly clock: SimClock;
  /** Resolves when this incarnation crashes. */
  readonly dead: Promise<void>;
  readonly kill: () => void;
}

interface Slot {
  readonly id: NodeId;
  readonly disk: SimDisk;
  readonly skew: ClockSkew;
  readonly rng: Prng;
  current: Incarnation | null;
  generation: number;
}

/**
 * Runs one seed: forms a cluster of real KvNodes on simulated ports, runs the workload under
 * the nemesis, heals everything, reads every key with R=N, snapshots every replica and checks
 * the history. Deterministic: the same options give the same event-log hash.
 */
export async function runSimulation(opts: SimOptions): Promise<SimResult> {
  const sim = new ClusterSim(opts);
  return sim.run();
}

class ClusterSim {
  readonly #o: SimOptions;
  readonly #root: Prng;
  readonly #sched = new Scheduler();
  readonly #log = new EventLog();
  readonly #net: SimNetwork;
  readonly #ids: NodeId[];
  readonly #slots: Slot[];
  readonly #history: HistoryRecorder;
  readonly #timeline: FaultEvent[] = [];
  #nemesisOn = false;
  #stopClients = false;
  readonly #activeHeals = new Set<() => void>();
  readonly #hintedHandoff: boolean;

  constructor(opts: SimOptions) {
    if (opts.nodes < 3 || opts.nodes > 9) throw new Error('sim: nodes must be 3..9');
    if (opts.n < 1 || opts.n > opts.nodes) throw new Error('sim: n must be 1..nodes');
    this.#o = opts;
    this.#root = new Prng(opts.seed);
    this.#hintedHandoff = opts.hintedHandoff ?? this.#root.fork('config').chance(0.5);
    this.#log.onLine = opts.onEvent ?? null;
    this.#net = new SimNetwork(this.#sched, this.#root.fork('network'), this.#log);
    this.#history = new HistoryRecorder(() => this.#sched.nowMs);
    this.#ids = Array.from({ length: opts.nodes }, (_, i) => `n${i + 1}`);
    const skewRng = this.#root.fork('skew');
    this.#slots = this.#ids.map((id) => {
      const rng = this.#root.fork(`node ${id}`);
      return {
        id,
        rng,
        skew: drawSkew(skewRng, opts.faults),
        disk: new SimDisk(this.#sched, rng.fork('disk'), syncDelayMaxMs),
        current: null,
        generation: 0,
      };
    });
  }

  #event(kind: string, text: string): void {
    this.#log.log(this.#sched.nowMs, kind, text);
  }

  #fault(kind: string, text: string): void {
    this.#timeline.push({ atMs: this.#sched.nowMs, text: `${kind} ${text}` });
    this.#event(kind, text);
  }

  /**
   * Runs the simulation, watching for rejections the node leaves unhandled (each one would kill
   * a real node process); they are reported as violations instead of ending this process.
   */
  async run(): Promise<SimResult> {
    const unhandled: Violation[] = [];
    const onUnhandled = (reason: unknown): void => {
      const text = reason instanceof Error ? `${reason.message}\n${reason.stack?.split('\n').slice(1, 4).join('\n') ?? ''}` : String(reason);
      this.#event('unhandled-rejection', text.split('\n')[0] ?? '');
      unhandled.push({ kind: 'unhandled-rejection', key: '', message: `at ${this.#sched.nowMs.toFixed(0)} ms: ${text}`, ops: [] });
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      const result = await this.#run();
      return unhandled.length === 0 ? result : { ...result, violations: [...unhandled, ...result.violations] };
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  }

  async #run(): Promise<SimResult> {
    this.#event('config', `nodes=${this.#o.nodes} n=${this.#o.n} hinted-handoff=${this.#hintedHandoff} faults=${[...this.#o.faults].join(',') || 'none'}`);
    for (const s of this.#slots) {
      if (s.skew.offsetMs !== 0 || s.skew.rate !== 1) this.#fault('skew', `${s.id} offset=${s.skew.offsetMs}ms rate=${s.skew.rate}`);
      this.#start(s);
    }
    await this.#sched.runFor(formRingMsMax, () => this.#ringFormed());
    if (!this.#ringFormed()) return this.#result([], 'the ring did not form within 30 s of virtual time');
    this.#event('phase', 'ring formed; workload starts');

    this.#net.faults = drawNetworkFaults(this.#root.fork('network faults'), this.#o.faults);
    this.#nemesisOn = true;
    const nemesisRng = this.#root.fork('nemesis');
    this.#sched.schedule(nemesisRng.int(50, 300), () => this.#nemesisStep(nemesisRng));
    let running = this.#o.clients;
    const perClient = Math.ceil(this.#o.ops / this.#o.clients);
    for (let c = 1; c <= this.#o.clients; c++) {
      void this.#client(`c${c}`, this.#root.fork(`client ${c}`), perClient).finally(() => running--);
    }
    await this.#sched.runFor(runMsMax, () => running === 0);

    this.#event('phase', 'final heal');
    this.#stopClients = true;
    this.#nemesisOn = false;
    for (const heal of [...this.#activeHeals]) heal();
    this.#net.faults = CALM_NETWORK;
    this.#net.healAll();
    for (const s of this.#slots) if (!s.current) this.#restart(s);
    await this.#sched.runFor(settleMs);
    await this.#sched.runFor(runMsMax, () => running === 0);

    await this.#finalReads();
    this.#history.closeOpen();
    const report = checkHistory(this.#history.ops, { n: this.#o.n, sloppy: this.#hintedHandoff });
    return this.#result(report.violations, undefined, report.stats);
  }

  #result(violations: Violation[], setupError?: string, stats?: CheckStats): SimResult {
    const faultCounts: Record<string, number> = {};
    for (const [k, v] of this.#log.counts()) {
      if (!['deliver', 'op', 'phase', 'config', 'start', 'start-failed'].includes(k)) faultCounts[k] = v;
    }
    return {
      seed: this.#o.seed,
      hintedHandoff: this.#hintedHandoff,
      hash: this.#log.digest(),
      events: this.#sched.events,
      virtualMs: this.#sched.nowMs,
      history: this.#history.ops,
      violations,
      stats: stats ?? emptyStats(),
      faultCounts,
      faultTimeline: this.#timeline,
      trace: this.#log.tail(),
      ...(setupError ? { setupError } : {}),
    };
  }

  // ------------------------------------------------------------------ nodes

  #config(id: NodeId): NodeConfig {
    return {
      ...DEFAULTS,
      id,
      zone: 'default',
      httpUrl: `http://${id}.sim`,
      peer: { host: `${id}.sim`, port: 7000 },
      // Everyone bootstraps from n1; n1 creates the ring.
      seeds: id === this.#ids[0] ? [] : [this.#ids[0]!],
      n: this.#o.n,
      r: 2,
      w: 2,
      partitions,
      requestTimeoutMs,
      gossipIntervalMs,
      join: true,
      hintedHandoff: this.#hintedHandoff,
    };
  }

  #start(s: Slot): void {
    s.generation++;
    const endpoint = this.#net.attach(s.id);
    const clock = new SimClock(this.#sched, s.skew);
    const plant = this.#o.plant;
    const storage = plant?.wrapStorage ? plant.wrapStorage(s.disk.port(), s.id) : s.disk.port();
    const transport: Transport<PeerMessage> = plant?.wrapTransport ? plant.wrapTransport(endpoint, s.id) : endpoint;
    let kill!: () => void;
    const dead = new Promise<void>((resolve) => (kill = resolve));
    const node = new KvNode({
      config: this.#config(s.id),
      storage,
      transport,
      clock,
      random: () => s.rng.next(),
      discoverSeed: async (seed) => {
        if (!this.#net.isUp(seed)) throw new Error(`${seed} is down`);
        return { id: seed, peer: { host: `${seed}.sim`, port: 7000 } };
      },
    });
    s.current = { node, clock, dead, kill };
    this.#event('start', `${s.id} generation ${s.generation}`);
    node.start().catch((e: unknown) => this.#event('start-failed', `${s.id} ${String(e)}`));
  }

  #crash(s: Slot): void {
    const inc = s.current;
    if (!inc) return;
    inc.clock.kill();
    this.#net.detach(s.id);
    const lost = s.disk.crash();
    s.current = null;
    inc.kill();
    this.#fault('crash', `${s.id} (lost ${lost} unsynced writes)`);
  }

  #restart(s: Slot): void {
    if (s.current) return;
    s.disk.restart();
    this.#fault('restart', s.id);
    this.#start(s);
  }

  #ringFormed(): boolean {
    const all = [...this.#ids].sort().join(',');
    let version: number | undefined;
    for (const s of this.#slots) {
      const ring = s.current?.node.view.ring;
      if (!ring || [...new Set(ring.owners)].sort().join(',') !== all) return false;
      if (version !== undefined && ring.version !== version) return false;
      version = ring.version;
      for (const m of s.current!.node.view.members.values()) if (m.status !== 'valid') return false;
    }
    return true;
  }

  // ------------------------------------------------------------------ nemesis

  /** Starts a fault now and then; each one heals itself after a while (or at the final heal). */
  #nemesisStep(rng: Prng): void {
    if (!this.#nemesisOn) return;
    const kinds = (['partition', 'one-way', 'crash', 'disk-full'] as const).filter((k) => this.#o.faults.has(k));
    // At most two faults at a time, so that most ops still have a chance to succeed.
    if (kinds.length > 0 && this.#activeHeals.size < 2) {
      const kind = rng.pick(kinds);
      const durationMs = rng.int(100, 1500);
      let heal: (() => void) | null = null;
      switch (kind) {
        case 'partition': {
          const [a, b] = drawSplit(rng, this.#ids);
          for (const x of a) {
            for (const y of b) {
              this.#net.cut(x, y);
              this.#net.cut(y, x);
            }
          }
          this.#fault('partition', `${a.join(',')} | ${b.join(',')} for ${durationMs}ms`);
          heal = () => {
            for (const x of a) {
              for (const y of b) {
                this.#net.uncut(x, y);
                this.#net.uncut(y, x);
              }
            }
            this.#fault('heal', `partition ${a.join(',')} | ${b.join(',')}`);
          };
          break;
        }
        case 'one-way': {
          const [a, b] = drawSplit(rng, this.#ids);
          for (const x of a) for (const y of b) this.#net.cut(x, y);
          this.#fault('one-way', `${a.join(',')} -/-> ${b.join(',')} for ${durationMs}ms`);
          heal = () => {
            for (const x of a) for (const y of b) this.#net.uncut(x, y);
            this.#fault('heal', `one-way ${a.join(',')} -/-> ${b.join(',')}`);
          };
          break;
        }
        case 'crash': {
          const up = this.#slots.filter((s) => s.current);
          // Keep a majority up: with more down, almost nothing can complete.
          if (this.#slots.length - up.length >= Math.floor((this.#slots.length - 1) / 2)) break;
          const s = rng.pick(up);
          this.#crash(s);
          heal = () => this.#restart(s);
          break;
        }
        case 'disk-full': {
          const s = rng.pick(this.#slots);
          s.disk.setDiskFull(true);
          this.#fault('disk-full', `${s.id} for ${durationMs}ms`);
          heal = () => {
            s.disk.setDiskFull(false);
            this.#fault('heal', `disk-full ${s.id}`);
          };
          break;
        }
        default: {
          const never: never = kind;
          throw new Error(`unknown fault ${String(never)}`);
        }
      }
      if (heal) {
        const h = heal;
        const once = (): void => {
          if (!this.#activeHeals.delete(once)) return;
          h();
        };
        this.#activeHeals.add(once);
        this.#sched.schedule(durationMs, once);
      }
    }
    this.#sched.schedule(rng.int(50, 400), () => this.#nemesisStep(rng));
  }

  // ------------------------------------------------------------------ workload

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.#sched.schedule(ms, resolve));
  }

  /** One client: one op at a time against a random live node, with think time between. */
  async #client(name: string, rng: Prng, ops: number): Promise<void> {
    /** The context of this client's last read, per key (what a real client carries). */
    const contexts = new Map<string, string>();
    let seq = 0;
    for (let i = 0; i < ops && !this.#stopClients; i++) {
      await this.#sleep(rng.int(0, 30));
      if (this.#stopClients) return;
      const up = this.#slots.filter((s) => s.current?.node.view.ring);
      if (up.length === 0) {
        await this.#sleep(50);
        continue;
      }
      const slot = rng.pick(up);
      const inc = slot.current!;
      const counters = this.#o.counters;
      if (counters && rng.chance(counters.share)) {
        await this.#counterOp(name, rng, slot.id, inc, counters, `${name}:i${++seq}`);
        continue;
      }
      const key = `k${rng.int(0, this.#o.keys - 1)}`;
      // Quorums biased to the defaults (R=W=2) but covering 1..N.
      const level = (): number => Math.min(this.#o.n, rng.pick([1, 2, 2, 2, 3]));
      const roll = rng.next();
      if (roll < 0.4) {
        const r = level();
        const op = this.#invoke({ process: name, node: slot.id, f: 'read', key, r });
        const out = await this.#race(inc, inc.node.get(key, { r, timeoutMs: requestTimeoutMs }));
        if (out.ok) {
          this.#complete(op, 'ok', { result: recordToJson(out.value.record) });
          if (out.value.record) contexts.set(key, encodeContext(out.value.record.context));
          else contexts.delete(key);
        } else this.#complete(op, out.crashed ? 'info' : 'fail', { error: out.error });
      } else {
        const kind: 'put' | 'del' = roll < 0.85 ? 'put' : 'del';
        // A fifth of the puts are blind (no context): they make siblings on purpose.
        const blind = kind === 'put' && rng.chance(0.2);
        const context = blind ? null : (contexts.get(key) ?? null);
        const w = level();
        const value = kind === 'put' ? `${name}:${++seq}` : '';
        const op = this.#invoke({
          process: name,
          node: slot.id,
          f: kind,
          key,
          w,
          ...(kind === 'put' ? { value } : {}),
          context: context ? vectorJson(decodeContext(context)) : null,
        });
        const call = inc.node.write({
          kind,
          key,
          value: new TextEncoder().encode(value),
          contentType: 'text/plain',
          context,
          idempotencyKey: null,
          w,
          timeoutMs: requestTimeoutMs,
          hops: 0,
        });
        const out = await this.#race(inc, call);
        if (out.ok) {
          const { record, coordinator } = out.value;
          const counter = record.context[coordinator] ?? 0;
          const mine = record.siblings.find((s) => s.dot.actor === coordinator && s.dot.counter === counter);
          const valueOk = mine && mine.deleted === (kind === 'del') && new TextDecoder().decode(mine.value) === value;
          this.#complete(op, 'ok', { dot: mine && valueOk ? dotString(mine.dot) : null });
        } else {
          // A failed write may still have reached some replica: its outcome is unknown.
          const definite = out.error === 'KV_BAD_REQUEST' || out.error === 'KV_TOO_MANY_SIBLINGS';
          this.#complete(op, definite ? 'fail' : 'info', { error: out.error });
        }
      }
    }
  }

  /** One `$inc` (retried with the same idempotency key while its outcome is unknown), or a counter read. */
  async #counterOp(name: string, rng: Prng, nodeId: NodeId, inc: Incarnation, c: CounterWorkloadOptions, idempotencyKey: string): Promise<void> {
    const key = `ctr${rng.int(0, c.keys - 1)}`;
    const field = rng.pick(['a', 'b']);
    if (rng.chance(0.25)) {
      const r = Math.min(this.#o.n, rng.pick([1, 2, 3]));
      const op = this.#invoke({ process: name, node: nodeId, f: 'counter-read', key, field, r });
      const out = await this.#race(inc, c.adapter.read(inc.node, key, field, r, requestTimeoutMs));
      if (out.ok) this.#complete(op, 'ok', { counter: out.value ?? 0 });
      else this.#complete(op, out.crashed ? 'info' : 'fail', { error: out.error });
      return;
    }
    const by = rng.int(-3, 10);
    const w = Math.min(this.#o.n, rng.pick([1, 2, 2, 3]));
    for (let attempt = 0; attempt < 3; attempt++) {
      const target = attempt === 0 ? inc : (rng.pick(this.#slots.filter((s) => s.current?.node.view.ring)).current ?? inc);
      const op = this.#invoke({ process: name, node: target.node.id, f: 'inc', key, field, by, idempotencyKey, w });
      const out = await this.#race(target, c.adapter.inc(target.node, key, field, by, idempotencyKey, w, requestTimeoutMs));
      if (out.ok) {
        this.#complete(op, 'ok');
        return;
      }
      const definite = (c.adapter.definiteErrors ?? []).includes(out.error);
      this.#complete(op, definite ? 'fail' : 'info', { error: out.error });
      if (definite || !rng.chance(c.retryP)) return;
      await this.#sleep(rng.int(10, 100));
    }
  }

  #invoke(fields: Parameters<HistoryRecorder['invoke']>[0]): HistoryOp {
    const op = this.#history.invoke(fields);
    const q = op.r !== undefined ? ` r=${op.r}` : op.w !== undefined ? ` w=${op.w}` : '';
    this.#event('op', `invoke #${op.id} ${op.process} ${op.f} ${op.key}${op.value ? `=${op.value}` : ''}${q} on ${op.node}`);
    return op;
  }

  #complete(op: HistoryOp, type: 'ok' | 'fail' | 'info', fields: Parameters<HistoryRecorder['complete']>[2] = {}): void {
    this.#history.complete(op, type, fields);
    const detail = fields.error ?? (fields.dot !== undefined ? `dot=${fields.dot}` : fields.result !== undefined ? `dots=${fields.result?.siblings.map((s) => s.dot).join(',') ?? 'none'}` : '');
    this.#event('op', `${type} #${op.id} ${detail}`);
  }

  /** Waits for a node call, or for the node to crash under it. */
  async #race<T>(inc: Incarnation, call: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: string; crashed: boolean }> {
    return Promise.race([
      call.then(
        (value) => ({ ok: true as const, value }),
        (e: unknown) => ({ ok: false as const, error: e instanceof KvError ? e.code : `ERROR ${String(e)}`, crashed: false }),
      ),
      inc.dead.then(() => ({ ok: false as const, error: CRASHED, crashed: true })),
    ]);
  }

  // ------------------------------------------------------------------ final state

  /** Drives the scheduler until `p` settles (or `maxMs` of virtual time pass). */
  async #drive<T>(p: Promise<T>, maxMs: number): Promise<void> {
    let done = false;
    p.then(
      () => (done = true),
      () => (done = true),
    );
    await this.#sched.runFor(maxMs, () => done);
  }

  /**
   * The convergence step while anti-entropy is not wired: an R=N read of every written key
   * (its read repair pushes the merged version to every replica), then each replica's copy.
   */
  async #finalReads(): Promise<void> {
    const keys = [...new Set(this.#history.ops.filter((o) => o.f === 'put' || o.f === 'del').map((o) => o.key))].sort();
    let turn = 0;
    for (const key of keys) {
      for (let attempt = 0; attempt < finalReadAttemptsMax; attempt++) {
        const slot = this.#slots[turn++ % this.#slots.length]!;
        const inc = slot.current!;
        const op = this.#invoke({ process: 'final', node: slot.id, f: 'read', key, r: this.#o.n });
        const call = this.#race(inc, inc.node.get(key, { r: this.#o.n, timeoutMs: 2 * requestTimeoutMs }));
        await this.#drive(call, 4 * requestTimeoutMs);
        const out = await Promise.race([call, Promise.resolve(null)]);
        if (out?.ok) {
          this.#complete(op, 'ok', { result: recordToJson(out.value.record) });
          break;
        }
        this.#complete(op, 'fail', { error: out ? out.error : 'STUCK' });
        await this.#sched.runFor(requestTimeoutMs);
      }
    }
    const c = this.#o.counters;
    if (c) {
      const fields = new Set(this.#history.ops.filter((o) => o.f === 'inc').map((o) => `${o.key}\u0000${o.field ?? ''}`));
      for (const id of [...fields].sort()) {
        const [key, field] = id.split('\u0000') as [string, string];
        const slot = this.#slots[turn++ % this.#slots.length]!;
        const inc = slot.current!;
        const op = this.#invoke({ process: 'final', node: slot.id, f: 'counter-read', key, field, r: this.#o.n });
        const call = this.#race(inc, c.adapter.read(inc.node, key, field, this.#o.n, 2 * requestTimeoutMs));
        await this.#drive(call, 4 * requestTimeoutMs);
        const out = await Promise.race([call, Promise.resolve(null)]);
        if (out?.ok) this.#complete(op, 'ok', { counter: out.value ?? 0 });
        else this.#complete(op, 'fail', { error: out ? out.error : 'STUCK' });
      }
    }
    await this.#sched.runFor(repairMs);
    for (const key of keys) {
      const any = this.#slots[0]!.current!.node;
      let replicas: readonly NodeId[];
      try {
        replicas = any.placement(key).replicas;
      } catch {
        continue;
      }
      for (const id of replicas) {
        const node = this.#slots.find((s) => s.id === id)!.current!.node;
        const op = this.#invoke({ process: 'final', node: id, f: 'local-read', key });
        this.#complete(op, 'ok', { result: recordToJson(node.getLocal(key)) });
      }
    }
  }
}
