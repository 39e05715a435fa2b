import type { LocalNodeInfo } from '../cluster/local-cluster.ts';
import type { ClusterBackend } from '../cluster/cluster-backend.ts';
import type { LabNode, LabRing, MetricPoint, NodeHealth, PeerView, RingSample } from './lab-types.ts';
import { parseKvScrape, pointBetween, type KvScrape } from './metrics-series.ts';

/** Status polls: fast enough that a card changes within a second of the node's view changing. */
export const STATUS_POLL_MS = 500;
/** Metrics polls: one chart point per node per second. */
export const METRICS_POLL_MS = 1000;
const REQUEST_TIMEOUT_MS = 800;
/** Chart points kept per node (ten minutes). */
const SERIES_MAX = 600;
/** Ring versions kept for a replay; rings change only on joins and leaves. */
const RINGS_MAX = 100;

interface StatusBody {
  id?: string;
  zone?: string;
  uptimeMs?: number;
  keys?: number;
  tombstones?: number;
  hintsPending?: number;
  partitions?: unknown[];
  antiEntropy?: unknown;
  handoff?: unknown;
  faults?: unknown;
  members?: { id: string; state: string }[];
}

interface Observed {
  status: StatusBody | null;
  scrape: KvScrape | undefined;
  series: MetricPoint[];
}

/**
 * Watches the cluster the way an operator would: polls each node's `/admin/status`,
 * `/admin/ring` and `/metrics`, and combines them with the Lab's own knowledge of each
 * process into the snapshot the dashboard renders.
 */
export class ClusterMonitor {
  readonly #cluster: ClusterBackend;
  readonly #startedAtMs: number;
  readonly #observed = new Map<string, Observed>();
  readonly #onHealth: (id: string, from: NodeHealth | undefined, to: NodeHealth) => void;
  #ring: LabRing | null = null;
  readonly #rings: RingSample[] = [];
  #health = new Map<string, NodeHealth>();
  #timers: NodeJS.Timeout[] = [];
  #busy = { status: false, metrics: false };

  constructor(cluster: ClusterBackend, startedAtMs: number, onHealth: (id: string, from: NodeHealth | undefined, to: NodeHealth) => void) {
    this.#cluster = cluster;
    this.#startedAtMs = startedAtMs;
    this.#onHealth = onHealth;
  }

  start(): void {
    this.#timers.push(setInterval(() => void this.pollStatus(), STATUS_POLL_MS), setInterval(() => void this.#pollMetrics(), METRICS_POLL_MS));
  }

  stop(): void {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
  }

  ring(): LabRing | null {
    return this.#ring;
  }

  /** Every ring seen, from when it was first seen (for the export and its replay). */
  rings(): readonly RingSample[] {
    return this.#rings;
  }

  series(): Record<string, MetricPoint[]> {
    return Object.fromEntries([...this.#observed].map(([id, o]) => [id, o.series]));
  }

  /** Forgets a node that left the cluster. */
  forget(id: string): void {
    this.#observed.delete(id);
    this.#health.delete(id);
  }

  #obs(id: string): Observed {
    let o = this.#observed.get(id);
    if (!o) this.#observed.set(id, (o = { status: null, scrape: undefined, series: [] }));
    return o;
  }

  /** One round of status polls (also called right after a kill or restart). */
  async pollStatus(): Promise<void> {
    if (this.#busy.status) return;
    this.#busy.status = true;
    try {
      const infos = this.#cluster.nodes();
      await Promise.all(
        infos.map(async (info) => {
          const o = this.#obs(info.id);
          o.status = info.state === 'running' ? await getJson<StatusBody>(`${info.url}/admin/status`) : null;
        }),
      );
      const source = infos.find((i) => this.#observed.get(i.id)?.status);
      if (source) {
        const ring = await getJson<LabRing>(`${source.url}/admin/ring`);
        if (ring && Array.isArray(ring.partitions)) {
          if (!sameOwners(this.#ring, ring)) {
            this.#rings.push({ t: Date.now() - this.#startedAtMs, ring });
            if (this.#rings.length > RINGS_MAX) this.#rings.shift();
          }
          this.#ring = ring;
        }
      }
      for (const node of this.nodes()) {
        const before = this.#health.get(node.id);
        if (before !== node.health) {
          this.#health.set(node.id, node.health);
          this.#onHealth(node.id, before, node.health);
        }
      }
    } finally {
      this.#busy.status = false;
    }
  }

  async #pollMetrics(): Promise<void> {
    if (this.#busy.metrics) return;
    this.#busy.metrics = true;
    try {
      await Promise.all(
        this.#cluster.nodes().map(async (info) => {
          const o = this.#obs(info.id);
          const t = Date.now() - this.#startedAtMs;
          const text = info.state === 'running' ? await getText(`${info.url}/metrics`) : null;
          if (text === null) {
            // A gap in the line, and the next scrape starts a fresh baseline.
            o.scrape = undefined;
            o.series.push({ t, rps: 0, p50Ms: null, p99Ms: null, errorsPerS: 0, hintsPending: null, handoffKeysPending: null, keys: null });
          } else {
            const scrape = parseKvScrape(text, Date.now());
            o.series.push(pointBetween(o.scrape, scrape, t));
            o.scrape = scrape;
          }
          if (o.series.length > SERIES_MAX) o.series.shift();
        }),
      );
    } finally {
      this.#busy.metrics = false;
    }
  }

  /** The dashboard's view of every node. */
  nodes(): LabNode[] {
    const infos = this.#cluster.nodes();
    return infos.map((info) => {
      const status = this.#observed.get(info.id)?.status ?? null;
      const seenBy: Record<string, PeerView> = {};
      for (const other of infos) {
        if (other.id === info.id) continue;
        const os = this.#observed.get(other.id)?.status;
        const m = os?.members?.find((x) => x.id === info.id);
        seenBy[other.id] = m ? (m.state as PeerView) : 'unknown';
      }
      return {
        id: info.id,
        url: info.url,
        port: info.port,
        zone: status?.zone ?? info.zone,
        pid: info.pid,
        process: info.state,
        reachable: status !== null,
        seenBy,
        health: healthOf(info, status !== null, seenBy),
        keys: status?.keys ?? null,
        tombstones: status?.tombstones ?? null,
        hintsPending: status?.hintsPending ?? null,
        partitionsOwned: Array.isArray(status?.partitions) ? status.partitions.length : null,
        uptimeMs: status?.uptimeMs ?? null,
        antiEntropy: status?.antiEntropy ?? null,
        handoff: status?.handoff ?? null,
        faults: status?.faults ?? null,
        clockSkewMs: status ? skewOf(status.faults) : null,
      };
    });
  }
}

function skewOf(faults: unknown): number {
  const v = (faults as { clockSkewMs?: unknown } | null | undefined)?.clockSkewMs;
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function sameOwners(a: LabRing | null, b: LabRing): boolean {
  return a !== null && a.n === b.n && a.partitions.length === b.partitions.length && a.partitions.every((p, i) => p.owner === b.partitions[i]!.owner && p.preferenceList.join() === b.partitions[i]!.preferenceList.join());
}

const SEVERITY: Record<string, number> = { up: 0, joining: 1, leaving: 1, suspect: 2, down: 3 };

/**
 * One word per card. The process comes first (a killed node is down, whatever its peers have
 * noticed yet); a serving node takes the majority view of its peers, so the minority side of
 * a partition shows as down and the majority side as up.
 */
export function healthOf(info: Pick<LocalNodeInfo, 'state'>, reachable: boolean, seenBy: Readonly<Record<string, PeerView>>): NodeHealth {
  if (info.state === 'killed' || info.state === 'exited' || info.state === 'stopped') return 'down';
  if (info.state === 'starting') return 'starting';
  if (!reachable) return 'down';
  const views = Object.values(seenBy).filter((v) => v !== 'unknown' && v !== 'left');
  if (views.includes('leaving')) return 'leaving';
  if (views.includes('joining')) return 'joining';
  const notUp = views.filter((v) => v !== 'up');
  if (notUp.length === 0 || notUp.length <= views.length - notUp.length) return 'up';
  return notUp.reduce((a, b) => ((SEVERITY[b] ?? 0) > (SEVERITY[a] ?? 0) ? b : a)) as NodeHealth;
}

async function getJson<T>(url: string): Promise<T | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    if (!res.ok) {
      await res.arrayBuffer();
      return null;
    }
    return (await res.json()) as T;
  } catch {
    return null;
  }
}

async function getText(url: string): Promise<string | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    if (!res.ok) {
      await res.arrayBuffer();
      return null;
    }
    return await res.text();
  } catch {
    return null;
  }
}
