import { Agent, request } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { RequestSpec } from './target.ts';

/** A whole response: status, headers and the body bytes. */
export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** Where requests go: one parsed base URL. */
export interface Endpoint {
  readonly hostname: string;
  readonly port: number;
}

export function endpointOf(url: string): Endpoint {
  const u = new URL(url);
  if (u.protocol !== 'http:') throw new Error(`only http:// URLs can be benchmarked (got ${url})`);
  return { hostname: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 80) };
}

/**
 * Keep-alive connections, at most `connections` per host: each of the benchmark's connections
 * runs one request at a time, so each keeps its own socket, as wrk's do.
 */
export function keepAliveAgent(connections: number): Agent {
  return new Agent({
    keepAlive: true,
    maxSockets: connections,
    maxFreeSockets: connections,
    scheduling: 'fifo',
  });
}

/** One request/response round trip; network failures reject with the socket error (its `code`). */
export function send(
  agent: Agent,
  endpoint: Endpoint,
  spec: RequestSpec,
  timeoutMs: number,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers = spec.body
      ? { ...spec.headers, 'content-length': String(spec.body.length) }
      : spec.headers;
    const req = request(
      {
        agent,
        hostname: endpoint.hostname,
        port: endpoint.port,
        method: spec.method,
        path: spec.path,
        headers,
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () =>
      req.destroy(Object.assign(new Error('request timed out'), { code: 'CLIENT_TIMEOUT' })),
    );
    req.on('error', reject);
    req.end(spec.body ?? undefined);
  });
}
