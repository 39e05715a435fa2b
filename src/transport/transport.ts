import type { NodeId, PeerAddress } from '../core/types.ts';

/**
 * The transport port: an unreliable, unordered-across-peers message pipe between nodes.
 * Delivery is at most once; callers (the coordinator) own request ids and time-outs.
 * Two implementations pass test/transport/contract.ts: TCP (real sockets, length-prefixed
 * msgpack frames, batched) and memory (tests). The simulator brings a third.
 */
export interface Transport<M> {
  readonly self: NodeId;
  /** Learn or change where a peer listens. */
  setPeer(id: NodeId, address: PeerAddress): void;
  removePeer(id: NodeId): void;
  /**
   * Queue a message for a peer. Returns false, without queueing, when the peer is known to be
   * unreachable right now (no connection, reconnect backing off), so callers can fail fast.
   * A true return is no promise of delivery.
   */
  send(to: NodeId, message: M): boolean;
  /** Register the handler of incoming messages (one handler; a later call replaces it). */
  onMessage(handler: (from: NodeId, message: M) => void): void;
  /** Whether `send` to this peer would currently be attempted. */
  isReachable(id: NodeId): boolean;
  close(): Promise<void>;
}
