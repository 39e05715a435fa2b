/**
 * The shapes the Lab server sends to the web UI (`GET /api/state`, `WS /api/events`). Types
 * and constants only, no imports: the web app imports this file too, so server and UI share
 * one definition.
 */

/** The WebSocket subprotocol that carries the admin token: `nosqldb.bearer.<base64url token>` (socket-auth.ts). */
export const TOKEN_PROTOCOL_PREFIX = 'nosqldb.bearer.';

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
  /** The clock skew the node reports it runs with (`faults.clockSkewMs`), 0 when none; null when unreachable. */
  readonly clockSkewMs: number | null;
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
  /**
   * Replication backlog, from the same scrape (gauges; null when the node did not answer):
   * hints this node holds for replicas that missed writes, and keys it still has to hand over
   * after a ring change. Their sum is what the lag chart draws (docs/LAB.md).
   */
  readonly hintsPending: number | null;
  readonly handoffKeysPending: number | null;
  /** Live keys the node stores (`nosqldb_keys`): lets a replay show the node cards' counts. */
  readonly keys: number | null;
}

/** A fault the Lab injected, with its end once healed; drawn as a band on the charts. */
export interface FaultInterval {
  readonly id: number;
  readonly kind: 'kill' | 'partition' | 'links' | 'stop' | 'skew';
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
  /** Per node: how far its clock is set off real time, in ms (absent = 0). */
  readonly skewMs: Readonly<Record<string, number>>;
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
  /** When it happened, by the clock of whoever emitted it (a skewed node's clock is off). */
  readonly atMs: number;
  /** When the Lab received it, by the Lab's clock: what a replay orders events by. */
  readonly receivedAtMs?: number;
  readonly [field: string]: unknown;
}

/** A node's health or process changed (what the cards show), `t` on the Lab's time axis. */
export interface NodeStateChange {
  readonly t: number;
  readonly id: string;
  readonly health: NodeHealth;
  readonly process: LabProcessState;
}

/** The checker's counters at one moment: a replay shows the checker as of its slider. */
export type CheckerSample = { readonly t: number } & Pick<CheckerReport, 'reads' | 'writes' | 'acknowledgedWrites' | 'staleReads' | 'lostWrites' | 'siblingReads'>;

/** The ring as it was from `t` on. */
export interface RingSample {
  readonly t: number;
  readonly ring: LabRing;
}

/**
 * A recorded run, as `GET /api/run` exports it and the replay page loads it. Every `t` is in
 * ms since `startedAtMs` (the Lab's time axis); events carry wall-clock `atMs`/`receivedAtMs`.
 * Version 1 had no `series`, `trafficSeries`, `nodeStates`, `checkerSeries` or `rings`; a
 * replay of it shows what it has.
 */
export interface LabRun {
  readonly format: 'nosqldb-lab-run/1' | 'nosqldb-lab-run/2';
  readonly startedAtMs: number;
  readonly exportedAtMs: number;
  /** The Lab's time at export: where the replay's slider ends. */
  readonly endT?: number;
  readonly timeAxis?: string;
  readonly nodes: readonly { readonly id: string; readonly url: string; readonly zone: string }[];
  readonly traffic?: TrafficConfig;
  readonly history: readonly HistoryOp[];
  readonly events: readonly LabEvent[];
  readonly faults: readonly FaultInterval[];
  readonly convergence: readonly ConvergenceRecord[];
  readonly checker: CheckerReport;
  readonly series?: Readonly<Record<string, readonly MetricPoint[]>>;
  readonly trafficSeries?: readonly ThroughputPoint[];
  readonly nodeStates?: readonly NodeStateChange[];
  readonly checkerSeries?: readonly CheckerSample[];
  readonly rings?: readonly RingSample[];
}

/**
 * One operation of the traffic generator's history, in the shape Jepsen-style checkers read:
 * invocation and completion times (ms since the Lab started), the process (node) that ran it,
 * what it did and what came back. Written values are unique strings, so a read names exactly
 * the writes it saw.
 */
export interface HistoryOp {
  readonly id: number;
  readonly process: string;
  readonly f: 'read' | 'write';
  readonly key: string;
  /** write: the value written; read: the values returned (siblings: several; not found: []). */
  readonly value: string | readonly string[] | null;
  readonly invokeT: number;
  readonly completeT: number;
  /** `ok`: acknowledged; `fail`: certainly not done (4xx); `info`: unknown (time-out, 5xx). */
  readonly type: 'ok' | 'fail' | 'info';
  readonly status: number;
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
