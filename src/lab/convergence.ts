import { keyHash, partitionOfHash } from '../core/hash.ts';
import type { ConvergenceRecord, LabRing } from './lab-types.ts';

/** How often replicas are compared while a measurement runs. */
const POLL_MS = 300;
/** A measurement that has not converged by then is reported as given up, not left running. */
const GIVE_UP_MS = 120_000;
const REQUEST_TIMEOUT_MS = 1000;
/** Measurements kept for the dashboard and the export. */
const RECORDS_MAX = 100;

export interface ReplicaTarget {
  readonly id: string;
  readonly url: string;
}

export interface ConvergenceOptions {
  /** The nodes that serve now (running and reachable). */
  readonly replicas: () => readonly ReplicaTarget[];
  readonly ring: () => LabRing | null;
  /** Keys the traffic generator wrote: compared when no node serves `/admin/merkle`. */
  readonly keys: () => readonly string[];
  readonly now: () => number;
  /** Called once converged with what every replica of each key holds (for lost-write checks). */
  readonly onConverged: (values: ReadonlyMap<string, readonly string[]>, record: ConvergenceRecord) => void;
}

/**
 * Convergence time per fault: from a heal or restart until every replica of every partition
 * holds the same data. Compares Merkle roots (`GET /admin/merkle`) when every node serves
 * them; until then, what each replica itself stores (`?local=true`) for the traffic
 * generator's keys.
 */
export class ConvergenceMeter {
  readonly #opts: ConvergenceOptions;
  readonly #records: ConvergenceRecord[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  #nextId = 1;
  #closed = false;

  constructor(options: ConvergenceOptions) {
    this.#opts = options;
  }

  records(): readonly ConvergenceRecord[] {
    return this.#records;
  }

  /** Starts measuring after `fault` ended (now). */
  start(fault: string, waitFor: readonly string[] = []): void {
    if (this.#closed) return;
    const id = this.#nextId++;
    const startT = this.#opts.now();
    this.#put({ id, fault, startT, endT: null, ms: null, method: 'local-reads', state: 'measuring', detail: waitFor.length ? `waiting for ${waitFor.join(', ')} to serve` : 'comparing replicas' });
    const poll = async (): Promise<void> => {
      if (this.#closed) return;
      const replicas = this.#opts.replicas();
      const missing = waitFor.filter((w) => !replicas.some((r) => r.id === w));
      const verdict = missing.length > 0 ? { converged: false, method: 'local-reads' as const, detail: `waiting for ${missing.join(', ')} to serve`, values: new Map<string, string[]>() } : await this.#compare(replicas);
      const nowT = this.#opts.now();
      if (verdict.converged) {
        const record: ConvergenceRecord = { id, fault, startT, endT: nowT, ms: Math.round(nowT - startT), method: verdict.method, state: 'converged', detail: verdict.detail };
        this.#put(record);
        this.#opts.onConverged(verdict.values, record);
        return;
      }
      if (nowT - startT > GIVE_UP_MS) {
        this.#put({ id, fault, startT, endT: nowT, ms: null, method: verdict.method, state: 'gave-up', detail: verdict.detail });
        return;
      }
      this.#put({ id, fault, startT, endT: null, ms: null, method: verdict.method, state: 'measuring', detail: verdict.detail });
      this.#schedule(poll);
    };
    this.#schedule(poll, 0);
  }

  #schedule(fn: () => Promise<void>, ms = POLL_MS): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      void fn();
    }, ms);
    this.#timers.add(t);
  }

  async #compare(replicas: readonly ReplicaTarget[]): Promise<{ converged: boolean; method: 'merkle' | 'local-reads'; detail: string; values: Map<string, string[]> }> {
    const ring = this.#opts.ring();
    const partitionCount = ring?.partitions.length ?? 0;
    const replicasOf = (partition: number): ReplicaTarget[] => {
      const list = ring?.partitions[partition]?.preferenceList ?? replicas.map((r) => r.id);
      return replicas.filter((r) => list.includes(r.id));
    };
    const merkle = await this.#merkleRoots(replicas);
    let mismatched = 0;
    let method: 'merkle' | 'local-reads' = 'local-reads';
    if (merkle && partitionCount > 0) {
      method = 'merkle';
      for (let p = 0; p < partitionCount; p++) {
        const roots = new Set(replicasOf(p).map((r) => merkle.get(r.id)?.[String(p)] ?? ''));
        if (roots.size > 1) mismatched++;
      }
      if (mismatched > 0) return { converged: false, method, detail: `${mismatched} partition(s) with differing Merkle roots`, values: new Map() };
    }
    // Local reads: the comparison itself without Merkle trees, and the final values for the checker.
    const values = new Map<string, string[]>();
    let differing = 0;
    const keys = this.#opts.keys();
    await Promise.all(
      keys.map(async (key) => {
        const partition = partitionCount > 0 ? partitionOfHash(keyHash(key), partitionCount) : 0;
        const holders = partitionCount > 0 ? replicasOf(partition) : [...replicas];
        const seen = await Promise.all(holders.map((r) => localValue(r.url, key)));
        const signatures = new Set(seen.map((s) => s?.signature ?? 'unreachable'));
        if (signatures.size > 1 || seen.some((s) => s === null)) differing++;
        else if (seen[0]) values.set(key, seen[0].values);
      }),
    );
    if (method === 'merkle') return { converged: true, method, detail: `Merkle roots equal on all ${partitionCount} partitions`, values };
    if (differing > 0) return { converged: false, method, detail: `${differing} of ${keys.length} keys differ between replicas`, values };
    return { converged: true, method, detail: keys.length ? `all replicas of ${keys.length} keys agree` : 'no traffic keys to compare', values };
  }

  /** Every replica's Merkle roots, or null when any node does not serve them (yet). */
  async #merkleRoots(replicas: readonly ReplicaTarget[]): Promise<Map<string, Record<string, string>> | null> {
    const out = new Map<string, Record<string, string>>();
    for (const r of replicas) {
      try {
        const res = await fetch(`${r.url}/admin/merkle`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
        if (!res.ok) {
          await res.arrayBuffer();
          return null;
        }
        const body = (await res.json()) as { roots?: Record<string, string> };
        if (!body.roots || typeof body.roots !== 'object') return null;
        out.set(r.id, body.roots);
      } catch {
        return null;
      }
    }
    return out;
  }

  #put(record: ConvergenceRecord): void {
    const i = this.#records.findIndex((r) => r.id === record.id);
    if (i >= 0) this.#records[i] = record;
    else this.#records.push(record);
    if (this.#records.length > RECORDS_MAX) this.#records.shift();
  }

  close(): void {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }
}

/** What one replica stores for a key: a comparable signature and the values (for the checker). */
async function localValue(url: string, key: string): Promise<{ signature: string; values: string[] } | null> {
  try {
    const res = await fetch(`${url}/kv/${key}?local=true`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    if (res.status === 404) {
      await res.arrayBuffer();
      return { signature: '404', values: [] };
    }
    if (res.status === 200) {
      const text = await res.text();
      return { signature: `200 ${res.headers.get('x-vector-clock') ?? ''} ${text}`, values: [String(JSON.parse(text) as unknown)] };
    }
    if (res.status === 300) {
      const body = (await res.json()) as { siblings: { value: unknown; vectorClock: unknown }[] };
      const parts = body.siblings.map((s) => JSON.stringify([s.value, s.vectorClock])).sort();
      return { signature: `300 ${parts.join(' ')}`, values: body.siblings.map((s) => String(s.value)) };
    }
    await res.arrayBuffer();
    return null;
  } catch {
    return null;
  }
}
