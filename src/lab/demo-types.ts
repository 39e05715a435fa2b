/**
 * The shapes the TweetStats and InventorySync demos exchange with the Lab server
 * (`WS /api/demo/live`, `/api/demo/*`). Types only, no imports: the web app imports this too.
 */

/** What one replica holds for one key, as its own `GET /kv/:key?local=true` says. */
export interface ReplicaValue {
  /** `ok` 200, `missing` 404, `siblings` 300, `down` process not running, `unreachable` no answer. */
  readonly state: 'ok' | 'missing' | 'siblings' | 'down' | 'unreachable';
  readonly value: unknown;
  /** Wall-clock ms when the Lab first saw this replica hold this value (its "last update"). */
  readonly changedAtMs: number;
}

/** A coordinated read through one node (`GET /kv/:key?r=R` there). */
export interface CoordinatedRead {
  readonly key: string;
  readonly node: string;
  readonly r: number;
  readonly status: number;
  readonly value: unknown;
  readonly atMs: number;
}

/** The XOR of one node's Merkle roots over the partitions holding the watched keys. */
export interface MerkleSummary {
  /** 16 hex digits, or null when the node did not answer. */
  readonly root: string | null;
  /** Partition index → that partition's root on this node. */
  readonly partitions: Readonly<Record<string, string>>;
}

/** What a browser asks to watch (sent as `{"watch":{…}}` on the socket). */
export interface LiveWatch {
  readonly keys: readonly string[];
  readonly reads?: readonly { readonly key: string; readonly node: string; readonly r: number }[];
  readonly merkle?: boolean;
}

export interface BurstConfig {
  readonly key: string;
  readonly field: string;
  /** Increments per second, all nodes together. */
  readonly rate: number;
  readonly durationS: number;
  readonly w: number;
}

export interface BurstResult {
  /** Highest replica value of `field` just before the burst. */
  readonly baseline: number;
  readonly expected: number;
  /** Each replica's final value, once they agreed (or at the deadline). */
  readonly finals: Readonly<Record<string, number | null>>;
  readonly converged: boolean;
  /** Acknowledged increments missing from the final count (by the lowest replica). */
  readonly lost: number;
  /** Increments counted beyond the acknowledged ones (only possible for unresolved requests). */
  readonly extra: number;
  readonly checkedAtMs: number;
}

export interface BurstStatus {
  readonly id: number;
  readonly config: BurstConfig;
  readonly phase: 'running' | 'draining' | 'verifying' | 'done';
  readonly startedAtMs: number;
  readonly endedAtMs: number | null;
  /** Increments issued (each with its own Idempotency-Key). */
  readonly issued: number;
  readonly acknowledged: number;
  /** Retries of an increment with the same key after a failure (counted once by the node). */
  readonly retries: number;
  /** Increments given up on without an acknowledgement: their outcome is unknown. */
  readonly unresolved: number;
  readonly inFlight: number;
  readonly perNode: Readonly<Record<string, number>>;
  /** The last failure of a try (node: status or error), for the page to show. */
  readonly lastError: string | null;
  readonly result: BurstResult | null;
}

export interface AutoSyncStatus {
  readonly on: boolean;
  readonly periodMs: number;
  readonly rounds: number;
  readonly lastRunAtMs: number | null;
  /** Each node's own background interval, as its `/admin/status` reports it (0 = off). */
  readonly nodeIntervalMs: Readonly<Record<string, number | null>>;
}

/** One message of `WS /api/demo/live`. */
export interface LiveSnapshot {
  readonly type: 'snapshot';
  readonly atMs: number;
  readonly nodes: readonly { readonly id: string; readonly process: string; readonly health: string }[];
  /** Key → node → its own copy. */
  readonly values: Readonly<Record<string, Readonly<Record<string, ReplicaValue>>>>;
  /** Key → partition index and its preference list (first = the key's primary). */
  readonly placement: Readonly<Record<string, { readonly partition: number; readonly preferenceList: readonly string[] }>>;
  readonly reads: readonly CoordinatedRead[];
  readonly merkle: Readonly<Record<string, MerkleSummary>> | null;
  readonly burst: BurstStatus | null;
  readonly autoSync: AutoSyncStatus;
}

/** One Merkle tree node in a comparison: level 0 is a partition's root. */
export interface MerkleCompareNode {
  readonly level: number;
  readonly index: number;
  readonly a: string;
  readonly b: string;
  readonly differs: boolean;
}

export interface MerkleCompareKey {
  readonly key: string;
  readonly segment: number;
  readonly differs: boolean;
  /** Both copies show the same value although their versions may differ (e.g. equal counter totals). */
  readonly sameValue: boolean;
  readonly a: ReplicaValue | null;
  readonly b: ReplicaValue | null;
}

export interface MerkleComparePartition {
  readonly partition: number;
  readonly depth: number;
  readonly rootA: string;
  readonly rootB: string;
  /** The differing path, level by level: children of differing nodes only (both shown). */
  readonly nodes: readonly MerkleCompareNode[];
  /** The watched keys of this partition, with the segment (leaf) each falls in. */
  readonly keys: readonly MerkleCompareKey[];
  /** Differing leaves holding none of the watched keys (other keys differ there). */
  readonly otherSegments: readonly number[];
}

/** `GET /api/demo/merkle-compare?a=n1&b=n2&keys=k1,k2`. */
export interface MerkleCompare {
  readonly a: string;
  readonly b: string;
  readonly rootA: string;
  readonly rootB: string;
  readonly partitions: readonly MerkleComparePartition[];
  readonly differingKeys: readonly string[];
  readonly atMs: number;
}
