import type { NodeId, PeerAddress } from '../core/types.ts';

/** Everything a node is told at start. Defaults follow Dynamo / Riak (N=3, R=2, W=2, Q=64). */
export interface NodeConfig {
  readonly id: NodeId;
  readonly zone: string;
  /** The HTTP address clients and peers see, e.g. http://127.0.0.1:7001. */
  readonly httpUrl: string;
  readonly peer: PeerAddress;
  /** Other nodes' HTTP addresses (host:port) to bootstrap membership from. */
  readonly seeds: readonly string[];
  /** Replicas per key. */
  readonly n: number;
  readonly r: number;
  readonly w: number;
  /** Ring size Q: fixed, equal partitions; a power of two. */
  readonly partitions: number;
  /** Default per-request time-out. */
  readonly requestTimeoutMs: number;
  /** How long a coordinator keeps collecting late replies after answering, for read repair. */
  readonly readRepairWaitMs: number;
  readonly gossipIntervalMs: number;
  /** Largest value accepted, in bytes. */
  readonly valueBytesMax: number;
  /** Join the cluster on start when seeds are given (false = wait for POST /admin/join). */
  readonly join: boolean;
  readonly hintedHandoff: boolean;
  /** Hints kept per unreachable target; past it writes for that target are refused, counted. */
  readonly hintsPerTargetMax: number;
  readonly hintDeliveryIntervalMs: number;
  /** Hints per delivery batch (one batch in flight per target). */
  readonly hintBatchSize: number;
  /** Idempotency keys remembered per CRDT document, at least (besides the 24 h window; swept at +10%). */
  readonly idempotencyKeysMax: number;
  readonly antiEntropyIntervalMs: number;
  /** Anti-entropy: how long a tombstone every replica holds is kept before it is reaped (default 5 min). */
  readonly tombstoneGraceMs?: number;
  /** Anti-entropy: depth of the Merkle trees (default 10: 1,024 segments per partition). */
  readonly merkleDepth?: number;
}

export const DEFAULTS = {
  zone: 'default',
  n: 3,
  r: 2,
  w: 2,
  partitions: 64,
  requestTimeoutMs: 3000,
  readRepairWaitMs: 200,
  gossipIntervalMs: 1000,
  // 1 MiB: Riak warns at 1 MiB objects and Dynamo targets objects under 1 MB.
  valueBytesMax: 1024 * 1024,
  join: true,
  hintedHandoff: true,
  // A day of writes to one dead node at ~1 write/s per key range; Cassandra bounds by time (3 h).
  hintsPerTargetMax: 100_000,
  hintDeliveryIntervalMs: 500,
  hintBatchSize: 200,
  // Exactly-once holds for a retry whose first attempt is among a document's last 10,000 keyed
  // updates (and within 24 h). The table is stored one row per key apart from its document
  // (document-tables.ts), so the bound costs disk (~60 bytes a key) and the size of a full-state
  // transfer (~600 KB), not time per update.
  idempotencyKeysMax: 10_000,
  antiEntropyIntervalMs: 10_000,
} as const;
