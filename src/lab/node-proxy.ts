import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { KvError } from '../core/errors.ts';
import type { LabController } from './lab-controller.ts';

/** How long the Lab waits for a node before answering 504 itself. */
const PROXY_TIMEOUT_MS = 8000;
/** Request headers a browser may pass through to a node (nothing else: no cookies, no auth). */
const HEADERS_IN = ['content-type', 'x-context', 'idempotency-key'] as const;
/** Response headers passed back to the browser. */
const HEADERS_OUT = ['content-type', 'x-context', 'x-vector-clock', 'idempotency-replayed'] as const;
/** Body bytes a proxied request may carry (the Lab's own limit; node values can be larger). */
const PROXY_BODY_BYTES_MAX = 256 * 1024;

/**
 * `/api/nodes/:id/<node path>`: lets the browser talk to one node of the Lab's cluster (browsers
 * cannot reach the nodes themselves). Only the paths the demos need are allowed:
 *
 * | method | node path |
 * |---|---|
 * | GET, PUT, PATCH, DELETE | `/kv/*` (query `local`, `r`, `w`, `timeout` passed on) |
 * | GET | `/kv` (`?prefix=&limit=`) |
 * | GET | `/admin/status`, `/admin/merkle` |
 * | POST | `/admin/anti-entropy` |
 * | POST, DELETE | `/admin/faults` |
 *
 * The node's status code and body come back as they are; a node that does not answer becomes
 * `503 KV_UNAVAILABLE` (with `details.node`), one that is too slow `504 KV_TIMEOUT`.
 */
export function registerNodeProxy(app: FastifyInstance, lab: LabController): void {
  void app.register(async (scope) => {
    // The body goes to the node byte for byte: no JSON parsing here.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: PROXY_BODY_BYTES_MAX }, (_req, body, done) => done(null, body));

    const forward = (nodePath: (req: FastifyRequest) => string) => async (req: FastifyRequest, reply: FastifyReply) => proxy(lab, req, reply, nodePath(req));
    // The key as the browser encoded it (raw, not decoded and re-encoded), so any key round-trips.
    const kvPath = (req: FastifyRequest): string => {
      const path = req.url.split('?')[0] ?? '';
      const at = path.indexOf('/kv/');
      if (at < 0 || at + 4 >= path.length) throw new KvError('KV_BAD_REQUEST', 'missing key', { field: 'key' });
      return path.slice(at);
    };
    for (const method of ['GET', 'PUT', 'PATCH', 'DELETE'] as const) scope.route({ method, url: '/api/nodes/:id/kv/*', handler: forward(kvPath) });
    scope.get('/api/nodes/:id/kv', forward(() => '/kv'));
    scope.get('/api/nodes/:id/admin/status', forward(() => '/admin/status'));
    scope.get('/api/nodes/:id/admin/merkle', forward(() => '/admin/merkle'));
    scope.post('/api/nodes/:id/admin/anti-entropy', forward(() => '/admin/anti-entropy'));
    scope.post('/api/nodes/:id/admin/faults', forward(() => '/admin/faults'));
    scope.delete('/api/nodes/:id/admin/faults', forward(() => '/admin/faults'));
  });
}

async function proxy(lab: LabController, req: FastifyRequest, reply: FastifyReply, nodePath: string): Promise<FastifyReply> {
  const id = (req.params as { id?: string }).id ?? '';
  const node = lab.cluster.nodes().find((n) => n.id === id);
  if (!node) throw new KvError('KV_NOT_FOUND', `no node ${id.slice(0, 64)} in this cluster`, { node: id.slice(0, 64) });
  const q = req.url.indexOf('?');
  const query = q >= 0 ? req.url.slice(q) : '';
  const headers: Record<string, string> = {};
  for (const h of HEADERS_IN) {
    const v = req.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }
  const body = req.body instanceof Uint8Array && req.method !== 'GET' ? new Uint8Array(req.body) : undefined;
  let res: Response;
  try {
    res = await fetch(`${node.url}${nodePath}${query}`, { method: req.method, headers, ...(body ? { body } : {}), signal: AbortSignal.timeout(PROXY_TIMEOUT_MS) });
  } catch (e) {
    const timedOut = (e as Error).name === 'TimeoutError';
    throw new KvError(timedOut ? 'KV_TIMEOUT' : 'KV_UNAVAILABLE', timedOut ? `${id} did not answer in ${PROXY_TIMEOUT_MS} ms` : `${id} is unreachable (${node.state})`, { node: id });
  }
  const bytes = Buffer.from(await res.arrayBuffer());
  reply.code(res.status);
  for (const h of HEADERS_OUT) {
    const v = res.headers.get(h);
    if (v !== null) reply.header(h, v);
  }
  return reply.send(bytes);
}
