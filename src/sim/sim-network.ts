import type { NodeId, PeerAddress } from '../core/types.ts';
import type { PeerMessage } from '../node/peer-messages.ts';
import { recordFromPeer } from '../node/record-codec.ts';
import type { Transport } from '../transport/transport.ts';
import type { EventLog } from './event-log.ts';
import type { Prng } from './prng.ts';
import type { Scheduler } from './scheduler.ts';

/** How the simulated network misbehaves; every choice is drawn from the run's seed. */
export interface NetworkFaults {
  /** Probability that a message is lost. */
  readonly dropP: number;
  /** Probability that a message arrives twice (the copy has its own delay). */
  readonly duplicateP: number;
  /** Normal one-way latency, uniform in [min, max]. */
  readonly latencyMinMs: number;
  readonly latencyMaxMs: number;
  /** Probability that a message is held up by an extra 0..`spikeMaxMs` (a GC pause, a slow link). */
  readonly spikeP: number;
  readonly spikeMaxMs: number;
  /** When false, each link delivers in send order (TCP-like); when true, delays are independent. */
  readonly reorder: boolean;
}

export const CALM_NETWORK: NetworkFaults = {
  dropP: 0,
  duplicateP: 0,
  latencyMinMs: 1,
  latencyMaxMs: 3,
  spikeP: 0,
  spikeMaxMs: 0,
  reorder: false,
};

/**
 * The simulated network: one endpoint per node incarnation, delivery driven by the scheduler.
 * A crashed node's endpoint is gone: sends to it fail fast (a refused connection) and messages
 * in flight to it are lost, as are messages to an earlier incarnation of a restarted node.
 * Partitions are sets of cut directed links; they drop silently (sends still return true), so
 * nodes learn about them only through time-outs, as over a real network.
 */
export class SimNetwork {
  faults: NetworkFaults = CALM_NETWORK;
  readonly #endpoints = new Map<NodeId, SimEndpoint>();
  /** Cut directed links `from>to`, counted (partitions may overlap). */
  readonly #cut = new Map<string, number>();
  /** Per link, the time of the last scheduled delivery (FIFO when reorder is off). */
  readonly #lastDeliveryMs = new Map<string, number>();

  constructor(
    private readonly scheduler: Scheduler,
    private readonly rng: Prng,
    private readonly log: EventLog,
  ) {}

  /** A new endpoint for `id`'s next incarnation (the previous one must be detached). */
  attach(id: NodeId): SimEndpoint {
    if (this.#endpoints.has(id)) throw new Error(`sim network: ${id} is already attached`);
    const e = new SimEndpoint(this, id);
    this.#endpoints.set(id, e);
    return e;
  }

  detach(id: NodeId): void {
    const e = this.#endpoints.get(id);
    if (e) e.closed = true;
    this.#endpoints.delete(id);
  }

  isUp(id: NodeId): boolean {
    return this.#endpoints.has(id);
  }

  cut(from: NodeId, to: NodeId): void {
    const k = `${from}>${to}`;
    this.#cut.set(k, (this.#cut.get(k) ?? 0) + 1);
  }

  uncut(from: NodeId, to: NodeId): void {
    const k = `${from}>${to}`;
    const n = (this.#cut.get(k) ?? 0) - 1;
    if (n <= 0) this.#cut.delete(k);
    else this.#cut.set(k, n);
  }

  healAll(): void {
    this.#cut.clear();
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.#cut.has(`${from}>${to}`);
  }

  /** @internal */
  send(from: SimEndpoint, to: NodeId, message: PeerMessage): boolean {
    const target = this.#endpoints.get(to);
    if (!target || from.closed) return false;
    const what = describe(message);
    if (this.isCut(from.self, to)) {
      this.log.log(this.scheduler.nowMs, 'cut', `${from.self}>${to} ${what}`);
      return true;
    }
    const f = this.faults;
    if (this.rng.chance(f.dropP)) {
      this.log.log(this.scheduler.nowMs, 'drop', `${from.self}>${to} ${what}`);
      return true;
    }
    // Copy now: the sender may reuse its objects, and the receiver must never share them.
    const copies = this.rng.chance(f.duplicateP) ? 2 : 1;
    if (copies === 2) this.log.log(this.scheduler.nowMs, 'duplicate', `${from.self}>${to} ${what}`);
    for (let i = 0; i < copies; i++) {
      let delay = this.rng.int(f.latencyMinMs, f.latencyMaxMs);
      if (this.rng.chance(f.spikeP)) {
        delay += this.rng.int(0, f.spikeMaxMs);
        this.log.log(this.scheduler.nowMs, 'delay', `${from.self}>${to} ${what} +${delay}ms`);
      }
      const link = `${from.self}>${to}`;
      if (!f.reorder) {
        // FIFO per link: never before the previous message on this link.
        const at = Math.max(this.scheduler.nowMs + delay, this.#lastDeliveryMs.get(link) ?? 0);
        this.#lastDeliveryMs.set(link, at);
        delay = at - this.scheduler.nowMs;
      }
      const payload = structuredClone(message);
      this.scheduler.schedule(delay, () => this.#deliver(from.self, target, payload, what));
    }
    return true;
  }

  #deliver(from: NodeId, target: SimEndpoint, message: PeerMessage, what: string): void {
    // A message to an incarnation that died (or whose link was cut meanwhile) is lost.
    if (target.closed || this.#endpoints.get(target.self) !== target || this.isCut(from, target.self)) {
      this.log.log(this.scheduler.nowMs, 'lost', `${from}>${target.self} ${what}`);
      return;
    }
    this.log.log(this.scheduler.nowMs, 'deliver', `${from}>${target.self} ${what}`);
    target.receive(from, message);
  }
}

/** One node incarnation's side of the network; implements the transport port. */
export class SimEndpoint implements Transport<PeerMessage> {
  closed = false;
  readonly #peers = new Set<NodeId>();
  #handler: ((from: NodeId, message: PeerMessage) => void) | null = null;

  constructor(
    private readonly network: SimNetwork,
    readonly self: NodeId,
  ) {}

  setPeer(id: NodeId, _address: PeerAddress): void {
    this.#peers.add(id);
  }

  removePeer(id: NodeId): void {
    this.#peers.delete(id);
  }

  send(to: NodeId, message: PeerMessage): boolean {
    if (!this.isReachable(to)) return false;
    return this.network.send(this, to, message);
  }

  onMessage(handler: (from: NodeId, message: PeerMessage) => void): void {
    this.#handler = handler;
  }

  /** Known and alive: a dead process refuses connections at once, a partition does not. */
  isReachable(id: NodeId): boolean {
    return !this.closed && this.#peers.has(id) && this.network.isUp(id);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** @internal */
  receive(from: NodeId, message: PeerMessage): void {
    if (!this.closed) this.#handler?.(from, message);
  }
}

/** A short, stable description of a message for the event log. */
export function describe(m: PeerMessage): string {
  switch (m.t) {
    case 'gossip':
      return `gossip ring=${m.view.ring?.version ?? '-'} members=${m.view.members.length}`;
    case 'get':
      return `get#${m.id} ${m.key}`;
    case 'put':
      return `put#${m.id} ${m.key} ack=${m.ack} dots=${dotsOf(m.rec)}`;
    case 'get-r':
      return `get-r#${m.id}${m.err ? ` ${m.err.code}` : ''} dots=${m.rec ? dotsOf(m.rec) : '-'}`;
    case 'put-r':
      return `put-r#${m.id}${m.err ? ` ${m.err.code}` : ''}`;
    case 'fwd':
      return `fwd#${m.id} ${m.req.kind} ${m.req.key}`;
    case 'fwd-r':
      return `fwd-r#${m.id}${m.err ? ` ${m.err.code}` : ''}`;
    case 'list':
      return `list#${m.id}`;
    case 'list-r':
      return `list-r#${m.id}`;
    default: {
      // Messages added by others (Merkle, hints) are logged by type until described here.
      const t = (m as { t?: unknown }).t;
      return `${String(t)}`;
    }
  }
}

/** The sibling dots of an encoded record, for the log (a malformed one is logged as such). */
function dotsOf(bytes: Uint8Array): string {
  try {
    return recordFromPeer(bytes)
      .siblings.map((s) => `${s.dot.actor}:${s.dot.counter}`)
      .join(',');
  } catch {
    return '(malformed)';
  }
}
