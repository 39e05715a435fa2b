import type { CheckerReport, HistoryOp } from './lab-types.ts';

// The history's shape lives with the other shared types (the replay page reads it too).
export type { HistoryOp };

export interface Anomaly {
  readonly t: number;
  readonly kind: 'stale-read' | 'lost-write';
  readonly key: string;
  readonly detail: string;
}

/**
 * What the Lab needs from a checker: watch the history as it grows, judge the values the
 * replicas hold once they agree, and report. One module, so the simulator's shared checkers
 * can replace this one.
 */
export interface OnlineChecker {
  readonly name: string;
  /** A write was just sent (a read may return its value before the write completes). */
  invoke(f: 'read' | 'write', key: string, value: string | null, invokeT: number): void;
  observe(op: HistoryOp): Anomaly[];
  /** The values every replica holds for `key` once converged, at time `t`. */
  final(key: string, values: readonly string[], t: number): Anomaly[];
  report(): CheckerReport;
  reset(): void;
}

interface WriteInfo {
  readonly invokeT: number;
  readonly completeT: number;
  readonly acked: boolean;
}

/** Writes remembered per key; older ones no longer decide anything once later ones are acked. */
const WRITES_PER_KEY_MAX = 256;
const ANOMALIES_MAX = 200;

/**
 * A register checker for a Dynamo store (no linearizability promised, so it looks for what
 * users notice):
 *
 * - **stale read**: a read that began after write L was acknowledged returns neither L nor
 *   any write invoked after L began — it saw only older data (possible with R + W ≤ N, or
 *   sloppy quorums across a partition);
 * - **lost write**: once the replicas agree, the value they hold contains neither the last
 *   acknowledged write nor any write invoked after it;
 * - **sibling rate**: the share of reads that returned more than one version.
 */
export class RegisterChecker implements OnlineChecker {
  readonly name = 'register (stale reads, lost writes, siblings)';
  #writes = new Map<string, Map<string, WriteInfo>>();
  #lastAcked = new Map<string, { value: string; info: WriteInfo }>();
  #reads = 0;
  #writesSeen = 0;
  #acked = 0;
  #stale = 0;
  #lost = 0;
  #siblings = 0;
  #lostReported = new Set<string>();
  #anomalies: Anomaly[] = [];

  invoke(f: 'read' | 'write', key: string, value: string | null, invokeT: number): void {
    if (f !== 'write' || value === null) return;
    this.#remember(key, value, { invokeT, completeT: Infinity, acked: false });
  }

  #remember(key: string, value: string, info: WriteInfo): void {
    let writes = this.#writes.get(key);
    if (!writes) this.#writes.set(key, (writes = new Map()));
    writes.set(value, info);
    if (writes.size > WRITES_PER_KEY_MAX) writes.delete(writes.keys().next().value!);
  }

  observe(op: HistoryOp): Anomaly[] {
    if (op.f === 'write') return this.#write(op);
    return this.#read(op);
  }

  #write(op: HistoryOp): Anomaly[] {
    this.#writesSeen++;
    if (typeof op.value !== 'string') return [];
    const info: WriteInfo = { invokeT: op.invokeT, completeT: op.completeT, acked: op.type === 'ok' };
    this.#remember(op.key, op.value, info);
    if (op.type === 'ok') {
      this.#acked++;
      const last = this.#lastAcked.get(op.key);
      if (!last || last.info.completeT < info.completeT) this.#lastAcked.set(op.key, { value: op.value, info });
    }
    return [];
  }

  #read(op: HistoryOp): Anomaly[] {
    if (op.type !== 'ok' || !Array.isArray(op.value)) return [];
    this.#reads++;
    const values = op.value as readonly string[];
    if (values.length > 1) this.#siblings++;
    const writes = this.#writes.get(op.key);
    // The latest write acknowledged before this read began.
    let latest: { value: string; info: WriteInfo } | undefined;
    for (const [value, info] of writes ?? []) {
      if (info.acked && info.completeT < op.invokeT && (!latest || info.completeT > latest.info.completeT)) latest = { value, info };
    }
    if (!latest || this.#covers(writes, values, latest.info)) return [];
    this.#stale++;
    const shown = values.length === 0 ? 'not found' : values.join(', ');
    return this.#add({ t: op.completeT, kind: 'stale-read', key: op.key, detail: `read via ${op.process} returned ${shown}; ${latest.value} was acknowledged ${Math.round(op.invokeT - latest.info.completeT)} ms before the read began` });
  }

  /** Whether some returned value is `l` itself or a write invoked after `l` began. */
  #covers(writes: Map<string, WriteInfo> | undefined, values: readonly string[], l: WriteInfo): boolean {
    return values.some((v) => {
      const w = writes?.get(v);
      return w !== undefined && w.invokeT >= l.invokeT;
    });
  }

  final(key: string, values: readonly string[], t: number): Anomaly[] {
    const last = this.#lastAcked.get(key);
    if (!last || this.#covers(this.#writes.get(key), values, last.info)) return [];
    const id = `${key} ${last.value}`;
    if (this.#lostReported.has(id)) return [];
    this.#lostReported.add(id);
    this.#lost++;
    return this.#add({ t, kind: 'lost-write', key, detail: `acknowledged write ${last.value} is missing once replicas agree on ${values.length === 0 ? 'not found' : values.join(', ')}` });
  }

  #add(a: Anomaly): Anomaly[] {
    this.#anomalies.push(a);
    if (this.#anomalies.length > ANOMALIES_MAX) this.#anomalies.shift();
    return [a];
  }

  report(): CheckerReport {
    return {
      name: this.name,
      reads: this.#reads,
      writes: this.#writesSeen,
      acknowledgedWrites: this.#acked,
      staleReads: this.#stale,
      lostWrites: this.#lost,
      siblingReads: this.#siblings,
      siblingRate: this.#reads === 0 ? 0 : this.#siblings / this.#reads,
      anomalies: [...this.#anomalies],
    };
  }

  reset(): void {
    this.#writes.clear();
    this.#lastAcked.clear();
    this.#lostReported.clear();
    this.#anomalies = [];
    this.#reads = this.#writesSeen = this.#acked = this.#stale = this.#lost = this.#siblings = 0;
  }
}
