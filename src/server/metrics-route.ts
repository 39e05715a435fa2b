import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { KvNode } from '../node/kv-node.ts';
import { observeFastPath } from './http-server.ts';
import { kvOperation } from './kv-handlers.ts';

/**
 * Latency histogram bucket bounds, in seconds (Prometheus convention): from half a millisecond
 * (a loopback read) to ten seconds (past any request time-out), roughly ×2.5 apart.
 */
export const LATENCY_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/** Label sets are op × status: a handful of each, so this bound is never reached in practice. */
const SERIES_MAX = 512;

interface Series {
  readonly op: string;
  readonly status: number;
  count: number;
  sumS: number;
  /** Non-cumulative counts per bucket; the last slot is +Inf. */
  readonly buckets: Float64Array;
}

export interface NodeMetrics {
  /** Adds a gauge read at scrape time (other subsystems: hints, handoff, anti-entropy). */
  gauge(name: string, help: string, read: () => number): void;
  /** The exposition text, as `GET /metrics` serves it. */
  render(): string;
}

/**
 * `GET /metrics`: Prometheus text format. Requests are counted and timed by operation and
 * status in an `onResponse` hook that does one map lookup and a few additions per request.
 */
export function registerMetricsRoute(app: FastifyInstance, node: KvNode): NodeMetrics {
  const series = new Map<string, Series>();
  const gauges: { name: string; help: string; read: () => number }[] = [
    { name: 'nosqldb_keys', help: 'Live keys stored on this node.', read: () => node.stats.keys },
    { name: 'nosqldb_tombstones', help: 'Tombstones stored on this node.', read: () => node.stats.tombstones },
    { name: 'nosqldb_read_repairs_total', help: 'Read repairs this node sent as coordinator.', read: () => node.stats.readRepairs },
    { name: 'nosqldb_forwarded_total', help: 'Requests this node forwarded to a replica.', read: () => node.stats.forwarded },
    { name: 'nosqldb_hints_pending', help: 'Hints held here for unreachable replicas.', read: () => node.hints.pending().total },
    { name: 'nosqldb_hints_delivered_total', help: 'Hints delivered to their replica and removed.', read: () => node.hints.delivered },
    { name: 'nosqldb_hints_dropped_total', help: 'Hints refused because the per-target bound was reached.', read: () => node.hints.dropped },
    { name: 'nosqldb_handoff_keys_total', help: 'Keys handed over to new replicas after ring changes.', read: () => node.handoff.totals.keys },
    // With hints pending, the Lab's replication-backlog chart (docs/LAB.md): writes a replica is still owed.
    { name: 'nosqldb_handoff_keys_pending', help: 'Keys of partitions this node still has to hand over to their new replicas.', read: () => node.handoff.keysPending() },
    { name: 'nosqldb_uptime_seconds', help: 'Seconds since this node started.', read: () => (Date.now() - node.startedAtMs) / 1000 },
  ];

  const observe = (op: string, status: number, seconds: number): void => {
    const id = `${op} ${status}`;
    let s = series.get(id);
    if (!s) {
      if (series.size >= SERIES_MAX) return;
      s = { op, status, count: 0, sumS: 0, buckets: new Float64Array(LATENCY_BUCKETS_S.length + 1) };
      series.set(id, s);
    }
    s.count++;
    s.sumS += seconds;
    let i = 0;
    while (i < LATENCY_BUCKETS_S.length && seconds > LATENCY_BUCKETS_S[i]!) i++;
    s.buckets[i]!++;
  };
  app.addHook('onResponse', (req: FastifyRequest, reply: FastifyReply, done: () => void) => {
    observe(operationOf(req), reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  // Plain key requests are served beside Fastify (kv-fast-path.ts), so its hooks never see them.
  observeFastPath(app, observe);

  const metrics: NodeMetrics = {
    gauge(name, help, read) {
      gauges.push({ name, help, read });
    },
    render() {
      const lines: string[] = [];
      const labels = (s: Series): string => `node="${node.id}",op="${s.op}",status="${s.status}"`;
      lines.push('# HELP nosqldb_http_requests_total HTTP requests served, by operation and status.');
      lines.push('# TYPE nosqldb_http_requests_total counter');
      for (const s of series.values()) lines.push(`nosqldb_http_requests_total{${labels(s)}} ${s.count}`);
      lines.push('# HELP nosqldb_http_request_duration_seconds HTTP request latency, by operation and status.');
      lines.push('# TYPE nosqldb_http_request_duration_seconds histogram');
      for (const s of series.values()) {
        let cumulative = 0;
        for (let i = 0; i < LATENCY_BUCKETS_S.length; i++) {
          cumulative += s.buckets[i]!;
          lines.push(`nosqldb_http_request_duration_seconds_bucket{${labels(s)},le="${LATENCY_BUCKETS_S[i]}"} ${cumulative}`);
        }
        lines.push(`nosqldb_http_request_duration_seconds_bucket{${labels(s)},le="+Inf"} ${s.count}`);
        lines.push(`nosqldb_http_request_duration_seconds_sum{${labels(s)}} ${s.sumS}`);
        lines.push(`nosqldb_http_request_duration_seconds_count{${labels(s)}} ${s.count}`);
      }
      for (const g of gauges) {
        let v: number;
        try {
          v = g.read();
        } catch {
          continue;
        }
        lines.push(`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} ${g.name.endsWith('_total') ? 'counter' : 'gauge'}`);
        lines.push(`${g.name}{node="${node.id}"} ${Number.isFinite(v) ? v : 0}`);
      }
      return `${lines.join('\n')}\n`;
    },
  };

  app.get('/metrics', async (_req, reply) => reply.header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8').send(metrics.render()));
  return metrics;
}

/** The operation a request performed, from its route pattern (never from the raw URL). */
function operationOf(req: FastifyRequest): string {
  const route = req.routeOptions.url;
  if (route === '/kv/*') return kvOperation(req.method, (req.query as Record<string, string | undefined>).local === 'true');
  if (route === '/kv') return 'list';
  if (route === '/health') return 'health';
  if (route === '/metrics') return 'metrics';
  if (route?.startsWith('/admin/')) return 'admin';
  return 'other';
}
