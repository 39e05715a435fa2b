import type { NodeId, PeerAddress } from '../core/types.ts';
import type { Transport } from './transport.ts';

interface Delivery {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly message: unknown;
}

/**
 * An in-process network for tests: endpoints exchange copies of messages asynchronously, in
 * order per pair (one FIFO for the whole network). A node marked down models a dead process:
 * sends to or from it return false and messages already in flight to it are lost.
 */
export class MemoryNetwork<M> {
  private readonly endpoints = new Map<NodeId, MemoryTransport<M>>();
  private readonly down = new Set<NodeId>();
  private inFlight: Delivery[] = [];
  private flushHandle: NodeJS.Immediate | null = null;

  /** The endpoint of node `id`. Throws if that node already has an open endpoint (a bug). */
  endpoint(id: NodeId): MemoryTransport<M> {
    if (this.endpoints.has(id)) throw new Error(`memory endpoint ${id} is already open`);
    const endpoint = new MemoryTransport<M>(this, id);
    this.endpoints.set(id, endpoint);
    return endpoint;
  }

  setDown(id: NodeId, down: boolean): void {
    if (down) this.down.add(id);
    else this.down.delete(id);
  }

  /** @internal Whether `from` could reach `to` right now. */
  canDeliver(from: NodeId, to: NodeId): boolean {
    return this.endpoints.has(from) && this.endpoints.has(to) && !this.down.has(from) && !this.down.has(to);
  }

  /** @internal */
  enqueue(from: NodeId, to: NodeId, message: M): void {
    // Copy now, so the sender mutating its object after `send` cannot change what arrives,
    // and the receiver never shares an object with the sender.
    this.inFlight.push({ from, to, message: structuredClone(message) });
    // setImmediate, not microtasks: a ping-pong between endpoints must not starve timers and I/O.
    this.flushHandle ??= setImmediate(() => this.deliver());
  }

  /** @internal */
  detach(id: NodeId, endpoint: MemoryTransport<M>): void {
    if (this.endpoints.get(id) === endpoint) this.endpoints.delete(id);
  }

  private deliver(): void {
    this.flushHandle = null;
    // Only what was in flight at the start of this turn; replies go out on the next turn.
    const batch = this.inFlight;
    this.inFlight = [];
    for (const d of batch) {
      if (!this.canDeliver(d.from, d.to)) continue;
      try {
        this.endpoints.get(d.to)?.receive(d.from, d.message as M);
      } catch (e) {
        // A handler bug must surface (as an uncaught error) without losing the rest of the batch.
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }
}

/** One node's view of a MemoryNetwork. Peers must be introduced with `setPeer`, as over TCP. */
export class MemoryTransport<M> implements Transport<M> {
  private readonly peers = new Set<NodeId>();
  private handler: ((from: NodeId, message: M) => void) | null = null;
  private closed = false;

  constructor(
    private readonly network: MemoryNetwork<M>,
    readonly self: NodeId,
  ) {}

  setPeer(id: NodeId, _address: PeerAddress): void {
    this.peers.add(id);
  }

  removePeer(id: NodeId): void {
    this.peers.delete(id);
  }

  send(to: NodeId, message: M): boolean {
    if (!this.isReachable(to)) return false;
    this.network.enqueue(this.self, to, message);
    return true;
  }

  onMessage(handler: (from: NodeId, message: M) => void): void {
    this.handler = handler;
  }

  isReachable(id: NodeId): boolean {
    return !this.closed && this.peers.has(id) && this.network.canDeliver(this.self, id);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.network.detach(this.self, this);
  }

  /** @internal Called by the network. */
  receive(from: NodeId, message: M): void {
    if (this.closed) return;
    this.handler?.(from, message);
  }
}
