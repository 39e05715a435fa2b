/**
 * The shapes the Lab server sends to the web UI (`GET /api/state`, `WS /api/events`). Types
 * only, no imports: the web app imports this file too, so server and UI share one definition.
 */

/** What the Lab knows of a node's process (LocalCluster) — the ground truth for kill/restart. */
export type LabProcessState = 'starting' | 'running' | 'stopped' | 'killed' | 'exited';

/** What the node's peers say of it (SWIM-like liveness), or `unknown` when no peer answers. */
export type PeerView = 'up' | 'suspect' | 'down' | 'leaving' | 'joining' | 'left' | 'unknown';

/** The one word a node card shows. */
export type NodeHealth = 'up' | 'suspect' | 'down' | 'starting' | 'leaving' | 'joining';

export interface LabNode {
  readonly id: string;
  readonly url: string;
  readonly port: number;
  readonly zone: string;
  readonly pid: number | null;
  readonly process: LabProcessState;
  /** Whether the Lab's last `/admin/status` poll of this node succeeded. */
  readonly reachable: boolean;
  /** How each other node sees this one (`n1: "up"`). */
  readonly seenBy: Readonly<Record<string, PeerView>>;
  readonly health: NodeHealth;
  readonly keys: number | null;
  readonly tombstones: number | null;
  readonly hintsPending: number | null;
  readonly partitionsOwned: number | null;
  readonly uptimeMs: number | null;
  /** The node's `antiEntropy` status field, as it reports it. */
  readonly antiEntropy: unknown;
  readonly handoff: unknown;
  readonly faults: unknown;
}

export interface RingPartition {
  readonly index: number;
  readonly start: string;
  readonly end: string;
  readonly owner: string;
  readonly preferenceList: readonly string[];
}

export interface LabRing {
  readonly n: number;
  readonly version: number | null;
  readonly partitions: readonly RingPartition[];
}

/** One point of a per-node metric series, `t` in ms since the Lab started. */
export interface MetricPoint {
  readonly t: number;
  /** Key-value requests per second the node served (get/put/delete/patch). */
  readonly rps: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly errorsPerS: number;
}

/** A fault the Lab injected, with its end once healed; drawn as a band on the charts. */
export interface FaultInterval {
  readonly id: number;
  readonly kind: 'kill' | 'partition' | 'links' | 'stop';
  readonly label: string;
  readonly startT: number;
  readonly endT: number | null;
}

export interface LinkFault {
  readonly a: string;
  readonly b: string;
  readonly cut?: boolean;
  readonly delayMs?: number;
}

export interface FaultPlan {
  readonly groups: readonly (readonly string[])[];
  readonly links: readonly LinkFault[];
  /** Per node: the chance that any one of its peer messages is lost. */
  readonly loss: Readonly<Record<string, number>>;
}

export interface TrafficConfig {
  /** Operations per second, all nodes together. */
  readonly rate: number;
  /** Share of reads, 0..1. */
  readonly readRatio: number;
  /** How many distinct keys (`lab/k0..`). */
  readonly keys: number;
  readonly r: number;
  readonly w: number;
}

export interface TrafficStatus {
  readonly running: boolean;
  readonly config: TrafficConfig;
  readonly ops: number;
  readonly ok: number;
  readonly failed: number;
  readonly inFlight: number;
}

export interface CheckerReport {
  readonly name: string;
  readonly reads: number;
  readonly writes: number;
  readonly acknowledgedWrites: number;
  readonly staleReads: number;
  readonly lostWrites: number;
  readonly siblingReads: number;
  readonly siblingRate: number;
  /** The latest anomalies, newest last, `t` in ms since the Lab started. */
  readonly anomalies: readonly { readonly t: number; readonly kind: 'stale-read' | 'lost-write'; readonly key: string; readonly detail: string }[];
}

export interface ConvergenceRecord {
  readonly id: number;
  readonly fault: string;
  readonly startT: number;
  readonly endT: number | null;
  readonly ms: number | null;
  readonly method: 'merkle' | 'local-reads';
  readonly state: 'measuring' | 'converged' | 'gave-up';
  readonly detail: string;
}

export interface ThroughputPoint {
  readonly t: number;
  readonly ok: number;
  readonly failed: number;
}

export interface LabState {
  readonly startedAtMs: number;
  readonly nowT: number;
  readonly nodes: readonly LabNode[];
  readonly ring: LabRing | null;
  readonly series: Readonly<Record<string, readonly MetricPoint[]>>;
  readonly faults: readonly FaultInterval[];
  readonly plan: FaultPlan;
  readonly traffic: TrafficStatus;
  readonly trafficSeries: readonly ThroughputPoint[];
  readonly checker: CheckerReport;
  readonly convergence: readonly ConvergenceRecord[];
}

/** One message of `WS /api/events`: a node's event, or one of the Lab's own (`node: "lab"`). */
export interface LabEvent {
  readonly type: string;
  readonly node: string;
  readonly atMs: number;
  readonly [field: string]: unknown;
}

/** One version of a key as the node API returns it (a 200 body or one sibling of a 300). */
export interface KeyVersion {
  readonly value: unknown;
  readonly vectorClock: Record<string, number>;
  readonly contentType: string;
  readonly writtenAtMs: number | null;
}

/** A read of one key: its versions (one, or several siblings) and the context to write with. */
export interface KeyRead {
  readonly key: string;
  readonly status: number;
  readonly versions: readonly KeyVersion[];
  readonly context: string | null;
  readonly error?: string;
}
