import type { MetricPoint } from './lab-types.ts';

/** The operations a traffic chart counts (key-value requests, not admin or health polls). */
const KV_OPS: ReadonlySet<string> = new Set(['get', 'put', 'delete', 'patch', 'list']);

/** What one scrape of a node's `/metrics` says about its key-value requests so far. */
export interface KvScrape {
  readonly atMs: number;
  readonly count: number;
  readonly errors: number;
  /** Cumulative bucket counts keyed by upper bound in seconds (`Infinity` for +Inf). */
  readonly buckets: ReadonlyMap<number, number>;
  /** Gauges the charts draw as they are; null when the node does not export them. */
  readonly hintsPending: number | null;
  readonly handoffKeysPending: number | null;
  readonly keys: number | null;
}

/** The gauges a chart point copies (src/server/metrics-route.ts names them). */
const GAUGES = { nosqldb_hints_pending: 'hintsPending', nosqldb_handoff_keys_pending: 'handoffKeysPending', nosqldb_keys: 'keys' } as const;

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}\s+(\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Reads the request counters, latency histogram and replication gauges out of Prometheus text. */
export function parseKvScrape(text: string, atMs: number): KvScrape {
  let count = 0;
  let errors = 0;
  const buckets = new Map<number, number>();
  const gauges: Record<(typeof GAUGES)[keyof typeof GAUGES], number | null> = { hintsPending: null, handoffKeysPending: null, keys: null };
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const [, name, labelText, valueText] = m;
    if (Object.hasOwn(GAUGES, name!)) {
      const v = Number(valueText);
      if (Number.isFinite(v)) gauges[GAUGES[name as keyof typeof GAUGES]] = v;
      continue;
    }
    if (name !== 'nosqldb_http_requests_total' && name !== 'nosqldb_http_request_duration_seconds_bucket') continue;
    const labels: Record<string, string> = {};
    for (const l of labelText!.matchAll(LABEL)) labels[l[1]!] = l[2]!;
    if (!KV_OPS.has(labels.op ?? '')) continue;
    const value = Number(valueText);
    if (!Number.isFinite(value)) continue;
    if (name === 'nosqldb_http_requests_total') {
      count += value;
      if (Number(labels.status) >= 500) errors += value;
    } else {
      const le = labels.le === '+Inf' ? Infinity : Number(labels.le);
      buckets.set(le, (buckets.get(le) ?? 0) + value);
    }
  }
  return { atMs, count, errors, buckets, ...gauges };
}

/**
 * One chart point from two consecutive scrapes: request rate, and p50/p99 latency of the
 * requests in between, interpolated linearly inside the histogram bucket (as Prometheus'
 * `histogram_quantile` does). A counter that went down means the node restarted: the point
 * then counts from zero.
 */
export function pointBetween(prev: KvScrape | undefined, next: KvScrape, t: number): MetricPoint {
  const restarted = !prev || next.count < prev.count;
  const base = restarted ? undefined : prev;
  const dtS = prev ? Math.max(0.001, (next.atMs - prev.atMs) / 1000) : 1;
  const count = next.count - (base?.count ?? 0);
  const errors = next.errors - (base?.errors ?? 0);
  const bounds = [...next.buckets.keys()].sort((a, b) => a - b);
  const delta = bounds.map((le) => (next.buckets.get(le) ?? 0) - (base?.buckets.get(le) ?? 0));
  return {
    t,
    rps: prev ? count / dtS : 0,
    p50Ms: quantileMs(bounds, delta, 0.5),
    p99Ms: quantileMs(bounds, delta, 0.99),
    errorsPerS: prev ? errors / dtS : 0,
    hintsPending: next.hintsPending,
    handoffKeysPending: next.handoffKeysPending,
    keys: next.keys,
  };
}

function quantileMs(bounds: readonly number[], cumulative: readonly number[], q: number): number | null {
  const total = cumulative[cumulative.length - 1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  for (let i = 0; i < bounds.length; i++) {
    const c = cumulative[i]!;
    if (c >= rank) {
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      const upper = bounds[i]!;
      if (!Number.isFinite(upper)) return lower * 1000;
      const below = i === 0 ? 0 : cumulative[i - 1]!;
      const within = c - below;
      const frac = within > 0 ? (rank - below) / within : 1;
      return (lower + (upper - lower) * frac) * 1000;
    }
  }
  return null;
}
