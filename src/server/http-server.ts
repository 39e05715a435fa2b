import Fastify from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { KvError } from '../core/errors.ts';
import { encodeContext } from '../core/context.ts';
import { isDeleted, liveSiblings, siblingClock } from '../core/siblings.ts';
import type { Sibling, VersionedRecord } from '../core/siblings.ts';
import { vectorToJSON } from '../core/version-vector.ts';
import type { KvNode } from '../node/kv-node.ts';
import { LIST_LIMIT_MAX } from '../node/kv-node.ts';
import { parseConsistency, parseJsonBody, parseKey, parseTimeout, validateJsonValue, HEADER_BYTES_MAX } from './request-validation.ts';
import { documentView, isOperatorBody, parsePatch } from '../core/crdt/index.ts';
import { statusReport, ringReport } from './admin-reports.ts';
import { clientErrorHandler, HTTP_LIMITS_DEFAULT, registerOverloadGuard, type HttpLimits } from './overload-guard.ts';

export interface ServerOptions {
  /** When set, `/admin/*` needs `Authorization: Bearer <token>`. */
  readonly adminToken?: string | undefined;
  readonly logger?: boolean;
  /** The faults in force on this node's peer traffic, for `/admin/status`. */
  readonly faults?: () => unknown;
  /** `POST /admin/shutdown`: stop this node (its supervisor — a container, the Lab — may restart it). */
  readonly onShutdown?: () => void;
  /** Admission and slow-client bounds (overload-guard.ts); each field defaults. */
  readonly limits?: Partial<HttpLimits>;
}

/**
 * The node's HTTP API (CONTRACT §3). Built separately from `listen()` so tests can drive it
 * with `inject()` or over a real socket.
 */
export function buildServer(node: KvNode, options: ServerOptions = {}): FastifyInstance {
  const limits: HttpLimits = { ...HTTP_LIMITS_DEFAULT, ...options.limits };
  const app = Fastify({
    logger: options.logger ?? false,
    // The value limit plus room for nothing else: bodies are values.
    bodyLimit: node.config.valueBytesMax,
    routerOptions: { maxParamLength: 2048 },
    // Slow clients (docs/LIMITS.md): headers, whole request, idle socket, idle keep-alive.
    http: { headersTimeout: limits.headersTimeoutMs, connectionsCheckingInterval: limits.connectionsCheckingIntervalMs },
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.connectionTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    return503OnClosing: true,
    // Requests the router or Node's parser refuse get the same JSON errors as everything else.
    frameworkErrors: (err, _req, reply) => void sendError(reply, toKvError(err)),
    clientErrorHandler,
  });
  registerOverloadGuard(app, limits);

  // Values are stored as the bytes the client sent, whatever their type: parse nothing here.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: unknown, _req, reply) => sendError(reply, toKvError(err)));
  app.setNotFoundHandler((req, reply) =>
    sendError(reply, new KvError('KV_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`, { route: true })),
  );

  if (options.adminToken) {
    const expected = `Bearer ${options.adminToken}`;
    app.addHook('onRequest', async (req, reply) => {
      // The matched route too: the router decodes the path, so `/%61dmin/status` reaches an admin route.
      const admin = req.url.startsWith('/admin/') || (req.routeOptions.url?.startsWith('/admin/') ?? false);
      if (admin && req.headers.authorization !== expected) {
        return sendError(reply, new KvError('KV_UNAUTHORIZED', 'this endpoint needs Authorization: Bearer <admin token>'));
      }
    });
  }

  app.get('/health', async () => ({ status: 'ok', id: node.id, peer: node.config.peer, uptimeMs: Date.now() - node.startedAtMs }));

  app.get('/kv', async (req) => {
    const q = req.query as Record<string, string | undefined>;
    const prefix = q.prefix ?? '';
    // A repeated parameter arrives as an array (fuzz finding: it used to reach Buffer.byteLength as one → 500).
    if (typeof prefix !== 'string') throw new KvError('KV_BAD_REQUEST', 'prefix given more than once', { field: 'prefix' });
    if (Buffer.byteLength(prefix) > 512) throw new KvError('KV_BAD_REQUEST', 'prefix longer than 512 bytes', { field: 'prefix' });
    const limit = q.limit === undefined ? 1000 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > LIST_LIMIT_MAX) {
      throw new KvError('KV_BAD_REQUEST', `limit must be an integer from 1 to ${LIST_LIMIT_MAX}`, { field: 'limit' });
    }
    return node.list(prefix, limit, parseTimeout(q.timeout, node.config.requestTimeoutMs));
  });

  app.get('/kv/*', async (req, reply) => {
    const key = keyOf(req);
    const q = req.query as Record<string, string | undefined>;
    if (q.local === 'true') return sendRecord(reply, node.getLocal(key));
    const r = parseConsistency(q.r, 'r', node.config);
    const timeoutMs = parseTimeout(q.timeout, node.config.requestTimeoutMs);
    const { record } = await node.get(key, { r, timeoutMs });
    return sendRecord(reply, record);
  });

  app.put('/kv/*', async (req, reply) => {
    const key = keyOf(req);
    const q = req.query as Record<string, string | undefined>;
    const body = bodyOf(req);
    const contentType = contentTypeOf(req);
    if (isJson(contentType)) {
      // A body with update operators (the seed's {"likes":{"$inc":1}}) is a PATCH.
      if (isOperatorBody(parseJsonBody(body))) return patch(req, reply, key, body);
      validateJsonValue(body);
    }
    const { record, coordinator } = await node.write({
      kind: 'put',
      key,
      value: body,
      contentType,
      idempotencyKey: null,
      context: contextOf(req),
      w: parseConsistency(q.w, 'w', node.config),
      timeoutMs: parseTimeout(q.timeout, node.config.requestTimeoutMs),
      hops: 0,
    });
    const written = writtenBy(record, coordinator);
    return reply.send({ context: encodeContext(record.context), vectorClock: written ? vectorToJSON(siblingClock(written)) : {} });
  });

  app.delete('/kv/*', async (req, reply) => {
    const key = keyOf(req);
    const q = req.query as Record<string, string | undefined>;
    const { record } = await node.write({
      kind: 'del',
      key,
      value: new Uint8Array(0),
      contentType: '',
      idempotencyKey: null,
      context: contextOf(req),
      w: parseConsistency(q.w, 'w', node.config),
      timeoutMs: parseTimeout(q.timeout, node.config.requestTimeoutMs),
      hops: 0,
    });
    return reply.send({ context: encodeContext(record.context) });
  });

  app.patch('/kv/*', async (req, reply) => {
    const key = keyOf(req);
    if (!isJson(contentTypeOf(req))) throw new KvError('KV_BAD_REQUEST', 'PATCH needs Content-Type: application/json', { field: 'Content-Type' });
    return patch(req, reply, key, bodyOf(req));
  });

  async function patch(req: FastifyRequest, reply: FastifyReply, key: string, body: Uint8Array): Promise<FastifyReply> {
    const q = req.query as Record<string, string | undefined>;
    const idem = req.headers['idempotency-key'];
    if (Array.isArray(idem)) throw new KvError('KV_BAD_REQUEST', 'one Idempotency-Key header at most', { field: 'Idempotency-Key' });
    // Validate here too, so a malformed patch gets its 4xx without a round trip to a replica.
    parsePatch(parseJsonBody(body));
    const { record, duplicate } = await node.write({
      kind: 'patch',
      key,
      value: body,
      contentType: 'application/json',
      idempotencyKey: idem ?? null,
      context: null,
      w: parseConsistency(q.w, 'w', node.config),
      timeoutMs: parseTimeout(q.timeout, node.config.requestTimeoutMs),
      hops: 0,
    });
    if (duplicate) reply.header('Idempotency-Replayed', 'true');
    return reply.code(200).send(record.doc ? documentView(record.doc) : {});
  }

  app.get('/admin/status', async () => statusReport(node, options.faults));
  app.get('/admin/ring', async () => ringReport(node));
  app.post('/admin/join', async () => {
    await node.join();
    return { ok: true, status: node.view.members.get(node.id)?.status };
  });
  app.post('/admin/shutdown', async (_req, reply) => {
    const shutdown = options.onShutdown;
    if (!shutdown) throw new KvError('KV_NOT_FOUND', 'this node cannot be shut down over HTTP');
    // Answer first, then stop: the caller learns the request was taken.
    setImmediate(shutdown);
    return reply.code(202).send({ ok: true, shuttingDown: node.id });
  });
  app.post('/admin/leave', async () => {
    await node.leave();
    return { ok: true, status: node.view.members.get(node.id)?.status };
  });

  return app;
}

/** The version a write just made: the sibling with its coordinator's highest dot. */
function writtenBy(record: VersionedRecord, coordinator: string): Sibling | undefined {
  let best: Sibling | undefined;
  for (const s of record.siblings) if (s.dot.actor === coordinator && (!best || s.dot.counter > best.dot.counter)) best = s;
  return best;
}

function sendRecord(reply: FastifyReply, record: VersionedRecord | undefined): FastifyReply {
  if (!record || isDeleted(record)) {
    if (record) reply.header('X-Context', encodeContext(record.context));
    return sendError(reply, new KvError('KV_NOT_FOUND', 'key not found', record ? { deleted: true } : {}));
  }
  const context = encodeContext(record.context);
  const live = liveSiblings(record);
  reply.header('X-Context', context);
  if (record.doc && live.length === 0) {
    reply.header('X-Vector-Clock', JSON.stringify(vectorToJSON(record.context)));
    return reply.code(200).send(documentView(record.doc));
  }
  if (live.length === 1 && !record.doc) {
    const s = live[0]!;
    reply.header('X-Vector-Clock', JSON.stringify(vectorToJSON(siblingClock(s))));
    reply.header('Content-Type', s.contentType || 'application/octet-stream');
    return reply.code(200).send(Buffer.from(s.value.buffer, s.value.byteOffset, s.value.byteLength));
  }
  return reply.code(300).send({
    siblings: live.map((s) => ({
      ...siblingValue(s.value, s.contentType),
      contentType: s.contentType,
      vectorClock: vectorToJSON(siblingClock(s)),
      writtenAtMs: s.writtenAtMs,
    })),
    // A document updated concurrently with a plain write on another replica shows as one more version.
    ...(record.doc ? { document: documentView(record.doc) } : {}),
    context,
  });
}

/** JSON siblings are shown as JSON; any other bytes as base64 (`"encoding":"base64"`). */
function siblingValue(value: Uint8Array, contentType: string): { value: unknown; encoding?: 'base64' } {
  if (isJson(contentType)) {
    try {
      return { value: JSON.parse(Buffer.from(value).toString('utf8')) };
    } catch {
      // Stored JSON is validated on the way in; fall through for anything older.
    }
  }
  return { value: Buffer.from(value).toString('base64'), encoding: 'base64' };
}

function keyOf(req: FastifyRequest): string {
  return parseKey((req.params as Record<string, string>)['*']);
}

function bodyOf(req: FastifyRequest): Uint8Array {
  const b = req.body;
  if (b instanceof Uint8Array) return b;
  return new Uint8Array(0);
}

function contentTypeOf(req: FastifyRequest): string {
  const ct = req.headers['content-type'] ?? 'application/octet-stream';
  if (ct.length > 256) throw new KvError('KV_BAD_REQUEST', 'content type longer than 256 characters', { field: 'Content-Type' });
  return ct;
}

function contextOf(req: FastifyRequest): string | null {
  const c = req.headers['x-context'];
  if (c === undefined || c === '') return null;
  if (Array.isArray(c) || c.length > HEADER_BYTES_MAX) throw new KvError('KV_BAD_REQUEST', 'X-Context must be one header value', { field: 'X-Context' });
  return c;
}

export function isJson(contentType: string): boolean {
  const base = contentType.split(';')[0]!.trim().toLowerCase();
  return base === 'application/json' || base.endsWith('+json');
}

export function toKvError(err: unknown): KvError {
  if (err instanceof KvError) return err;
  const e = err as { code?: string; statusCode?: number; message?: string };
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || e.statusCode === 413) {
    return new KvError('KV_PAYLOAD_TOO_LARGE', 'request body larger than the value limit');
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new KvError('KV_BAD_REQUEST', e.message ?? 'bad request', { cause: e.code });
  }
  return new KvError('KV_INTERNAL', e.message ?? 'internal error');
}

function sendError(reply: FastifyReply, e: KvError): FastifyReply {
  return reply.code(e.status).header('Content-Type', 'application/json').send(JSON.stringify(e.toJSON()));
}
