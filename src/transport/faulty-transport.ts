import type { NodeId, PeerAddress } from '../core/types.ts';
import { parseFaultSpec, type FaultSpec } from './fault-spec.ts';
import type { Transport } from './transport.ts';

export { parseFaultSpec, type FaultSpec } from './fault-spec.ts';

/** Time and randomness, injected so tests (and the simulator) replay faults exactly. */
export interface FaultEnvironment {
  readonly schedule: (fn: () => void, ms: number) => unknown;
  readonly cancel?: (handle: unknown) => void;
  /** Uniform in [0, 1), like Math.random. */
  readonly random: () => number;
}

interface Held<M> {
  readonly message: M;
  ready: boolean;
  handle: unknown;
}

/**
 * Wraps any transport and applies a FaultSpec to both directions: what this node sends and
 * what it receives. An isolated peer's messages vanish and `send` still returns true, because
 * a partition looks like silence, not like a refused connection. Delayed messages are held and
 * released in order per peer and direction, even when the delay changes meanwhile.
 */
export class FaultyTransport<M> implements Transport<M> {
  readonly self: NodeId;
  private spec: FaultSpec = {};
  private isolated = new Set<NodeId>();
  /** A Map, not the spec's object, so a node named `constructor` has no inherited delay. */
  private delays = new Map<NodeId, number>();
  private dropByPeer = new Map<NodeId, number>();
  private handler: ((from: NodeId, message: M) => void) | null = null;
  /** Held messages per peer: outgoing to it, incoming from it. */
  private readonly outgoing = new Map<NodeId, Held<M>[]>();
  private readonly incoming = new Map<NodeId, Held<M>[]>();
  private closed = false;
  /**
   * Whether anything can hold, drop or delay a message: no faults in force and nothing held.
   * Every message of every node passes here, so without faults it goes straight through.
   */
  private clear = true;

  constructor(
    private readonly inner: Transport<M>,
    private readonly env: FaultEnvironment,
  ) {
    this.self = inner.self;
    inner.onMessage((from, message) => this.arrive(from, message));
  }

  /** Replace the faults in force (validated as untrusted input would be). */
  setFaults(spec: FaultSpec): void {
    const parsed = parseFaultSpec(spec);
    this.spec = parsed;
    this.isolated = new Set(parsed.isolate ?? []);
    this.delays = new Map(Object.entries(parsed.delayMs ?? {}));
    this.dropByPeer = new Map(Object.entries(parsed.dropRateByPeer ?? {}));
    this.updateClear();
  }

  private updateClear(): void {
    const spec = this.spec;
    const faultFree =
      this.isolated.size === 0 &&
      this.delays.size === 0 &&
      this.dropByPeer.size === 0 &&
      !((spec.dropRate ?? 0) > 0);
    this.clear = faultFree && this.outgoing.size === 0 && this.incoming.size === 0;
  }

  /** Heal everything. Messages already held still arrive when their delay ends. */
  clearFaults(): void {
    this.setFaults({});
  }

  faults(): FaultSpec {
    return structuredClone(this.spec);
  }

  setPeer(id: NodeId, address: PeerAddress): void {
    this.inner.setPeer(id, address);
  }

  removePeer(id: NodeId): void {
    this.inner.removePeer(id);
  }

  send(to: NodeId, message: M): boolean {
    if (this.clear && !this.closed) return this.inner.send(to, message);
    if (this.closed) return false;
    if (this.isolated.has(to)) return true;
    // An unreachable peer fails fast as without faults; only then may the network lose it.
    if (!this.inner.isReachable(to)) return false;
    if (this.lost(to)) return true;
    return this.pass(this.outgoing, to, message, (m) => this.inner.send(to, m));
  }

  onMessage(handler: (from: NodeId, message: M) => void): void {
    this.handler = handler;
  }

  isReachable(id: NodeId): boolean {
    return !this.closed && this.inner.isReachable(id);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const queues of [this.outgoing, this.incoming]) {
      for (const queue of queues.values()) for (const held of queue) this.env.cancel?.(held.handle);
      queues.clear();
    }
    await this.inner.close();
  }

  private arrive(from: NodeId, message: M): void {
    if (this.clear && !this.closed) {
      this.handler?.(from, message);
      return;
    }
    if (this.closed || this.isolated.has(from) || this.lost(from)) return;
    this.pass(this.incoming, from, message, (m) => {
      this.handler?.(from, m);
      return true;
    });
  }

  private lost(peer: NodeId): boolean {
    const rate = this.dropByPeer.get(peer) ?? this.spec.dropRate ?? 0;
    return rate > 0 && this.env.random() < rate;
  }

  /** Forward now, or hold behind the delay and behind anything already held for that peer. */
  private pass(
    queues: Map<NodeId, Held<M>[]>,
    peer: NodeId,
    message: M,
    forward: (m: M) => boolean,
  ): boolean {
    const delayMs = this.delays.get(peer) ?? 0;
    let queue = queues.get(peer);
    if (delayMs === 0 && queue === undefined) return forward(message);
    if (queue === undefined) queues.set(peer, (queue = []));
    this.clear = false;
    const held: Held<M> = { message, ready: delayMs === 0, handle: undefined };
    queue.push(held);
    if (!held.ready) {
      held.handle = this.env.schedule(() => {
        held.ready = true;
        this.release(queues, peer, forward);
      }, delayMs);
    }
    return true;
  }

  private release(queues: Map<NodeId, Held<M>[]>, peer: NodeId, forward: (m: M) => boolean): void {
    const queue = queues.get(peer);
    if (this.closed || queue === undefined) return;
    let n = 0;
    while (n < queue.length && queue[n]!.ready) n++;
    const due = queue.splice(0, n);
    if (queue.length === 0) {
      queues.delete(peer);
      this.updateClear();
    }
    for (const held of due) forward(held.message);
  }
}
