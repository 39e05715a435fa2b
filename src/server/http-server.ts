import { createServer } from 'node:http';
import Fastify from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { KvError } from '../core/errors.ts';
import type { KvNode } from '../node/kv-node.ts';
import { LIST_LIMIT_MAX } from '../node/kv-node.ts';
import { parseTimeout } from './request-validation.ts';
import { deleteKv, errorResponse, getKv, patchKv, putKv, toKvError, type KvRequest, type KvResponse } from './kv-handlers.ts';
import { statusReport, ringReport } from './admin-reports.ts';
import { createKvFastPath, type KvFastPath, type ResponseObserver } from './kv-fast-path.ts';
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

/** Longest key path the router takes (keys are at most 512 bytes; percent-encoding triples that). */
const PARAM_CHARS_MAX = 2048;

const fastPaths = new WeakMap<FastifyInstance, KvFastPath>();

/** Tells `fn` of every request the node's fast path serves (the metrics route's histogram). */
export function observeFastPath(app: FastifyInstance, fn: ResponseObserver): void {
  fastPaths.get(app)?.observe(fn);
}

/**
 * The node's HTTP API (CONTRACT §3). Built separately from `listen()` so tests can drive it
 * with `inject()` or over a real socket.
 */
export function buildServer(node: KvNode, options: ServerOptions = {}): FastifyInstance {
  const limits: HttpLimits = { ...HTTP_LIMITS_DEFAULT, ...options.limits };
  let fastPath: KvFastPath | null = null;
  const app = Fastify({
    // Our own node:http server, so plain key requests can skip Fastify (kv-fast-path.ts). With a
    // server factory Fastify applies none of its server settings: they are set here.
    serverFactory: (handler) => {
      const server = createServer(
        { headersTimeout: limits.headersTimeoutMs, connectionsCheckingInterval: limits.connectionsCheckingIntervalMs },
        (req, res) => {
          if (fastPath === null || !fastPath.handle(req, res)) handler(req, res);
        },
      );
      server.keepAliveTimeout = limits.keepAliveTimeoutMs;
      server.requestTimeout = limits.requestTimeoutMs;
      server.setTimeout(limits.connectionTimeoutMs);
      return server;
    },
    logger: options.logger ?? false,
    // The value limit plus room for nothing else: bodies are values.
    bodyLimit: node.config.valueBytesMax,
    routerOptions: { maxParamLength: PARAM_CHARS_MAX },
    return503OnClosing: true,
    // Requests the router or Node's parser refuse get the same JSON errors as everything else.
    frameworkErrors: (err, _req, reply) => void sendError(reply, toKvError(err)),
    clientErrorHandler,
  });
  const admission = registerOverloadGuard(app, limits);
  fastPath = createKvFastPath(node, admission, { bodyBytesMax: node.config.valueBytesMax, keyCharsMax: PARAM_CHARS_MAX });
  fastPaths.set(app, fastPath);
  // Closing: Fastify answers new requests with 503 (return503OnClosing); the fast path steps aside.
  app.addHook('preClose', (done) => {
    fastPath?.close();
    done();
  });

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

  // The hot path serves most of these without Fastify (kv-fast-path.ts); these routes answer
  // whatever it passes on (percent-encoded keys, repeated parameters, inject() in tests) with
  // the same handlers.
  app.get('/kv/*', async (req, reply) => send(reply, await getKv(node, kvRequest(req))));
  app.put('/kv/*', async (req, reply) => send(reply, await putKv(node, kvRequest(req))));
  app.delete('/kv/*', async (req, reply) => send(reply, await deleteKv(node, kvRequest(req))));
  app.patch('/kv/*', async (req, reply) => send(reply, await patchKv(node, kvRequest(req))));

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

function kvRequest(req: FastifyRequest): KvRequest {
  const body = req.body instanceof Uint8Array ? req.body : new Uint8Array(0);
  return { key: (req.params as Record<string, string>)['*'] ?? '', query: req.query as Record<string, string | undefined>, headers: req.headers, body };
}

function send(reply: FastifyReply, r: KvResponse): FastifyReply {
  return reply.code(r.status).headers(r.headers).send(r.body);
}

function sendError(reply: FastifyReply, e: KvError): FastifyReply {
  return send(reply, errorResponse(e));
}

