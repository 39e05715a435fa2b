import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { KvError } from '../core/errors.ts';
import type { KvNode } from '../node/kv-node.ts';
import { deleteKv, errorResponse, getKv, kvOperation, putKv, toKvError, type KvRequest, type KvResponse } from './kv-handlers.ts';
import type { Admission } from './overload-guard.ts';

/**
 * The hot path of the HTTP API (issue #12): plain `GET`/`PUT`/`DELETE /kv/<key>` served on
 * node:http directly, without Fastify's routing, hooks, content-type parsing and reply
 * machinery, which cost about as much CPU per request as a quorum read's own work.
 * It answers with the same handlers as the Fastify routes (kv-handlers.ts), under the same
 * admission bound (overload-guard.ts) and body limit, and reports each request to the same
 * metrics. Anything unusual — a percent-encoded key, a repeated or unknown query parameter,
 * PATCH, listings, admin routes, a node that is closing — is passed on to Fastify, which
 * answers it as before: the fast path only ever takes requests whose meaning is plain.
 */
export type ResponseObserver = (op: string, status: number, seconds: number) => void;

export interface KvFastPath {
  /** Serves the request and returns true, or returns false (untouched) for Fastify. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Also tell `fn` of every request served here (the metrics route's histogram). */
  observe(fn: ResponseObserver): void;
  /** From now on pass everything to Fastify (it answers `503` while closing). */
  close(): void;
}

/** Query parameters the `/kv/<key>` operations read; any other makes the request unusual. */
const PARAMS: ReadonlySet<string> = new Set(['r', 'w', 'timeout', 'local']);
const NO_QUERY: Readonly<Record<string, string | undefined>> = Object.freeze({});

export function createKvFastPath(node: KvNode, admission: Admission, limits: { bodyBytesMax: number; keyCharsMax: number }): KvFastPath {
  const observers: ResponseObserver[] = [];
  let closed = false;

  function finish(res: ServerResponse, op: string, startedMs: number, r: KvResponse): void {
    if (!res.destroyed) {
      // Content-Length set here, as Fastify does, so the answer is not chunked.
      res.writeHead(r.status, { ...r.headers, 'Content-Length': String(Buffer.byteLength(r.body)) });
      res.end(r.body);
    }
    const seconds = (performance.now() - startedMs) / 1000;
    for (const fn of observers) fn(op, r.status, seconds);
  }

  function run(res: ServerResponse, op: string, startedMs: number, answer: Promise<KvResponse>): void {
    answer.then(
      (r) => finish(res, op, startedMs, r),
      (e: unknown) => finish(res, op, startedMs, errorResponse(toKvError(e))),
    );
  }

  return {
    handle(req, res) {
      const method = req.method;
      const url = req.url;
      if (closed || url === undefined || !url.startsWith('/kv/')) return false;
      if (method !== 'GET' && method !== 'PUT' && method !== 'DELETE') return false;
      const q = url.indexOf('?');
      const key = q < 0 ? url.slice(4) : url.slice(4, q);
      // The router percent-decodes keys and bounds their length: leave those cases to it.
      if (key.length === 0 || key.length > limits.keyCharsMax || key.includes('%')) return false;
      const query = q < 0 ? NO_QUERY : plainQuery(url.slice(q + 1));
      if (query === null) return false;
      const startedMs = performance.now();
      const op = kvOperation(method, query.local === 'true');
      if (!admission.enter(res)) {
        finish(res, op, startedMs, admission.refusal);
        return true;
      }
      if (method === 'GET') {
        run(res, op, startedMs, getKv(node, { key, query, headers: req.headers, body: EMPTY }));
        return true;
      }
      if (method === 'DELETE') {
        run(res, op, startedMs, deleteKv(node, { key, query, headers: req.headers, body: EMPTY }));
        return true;
      }
      readBody(req, limits.bodyBytesMax, (body) => {
        if (body === null) return finish(res, op, startedMs, tooLarge());
        const request: KvRequest = { key, query, headers: req.headers, body };
        // The handlers are async: a validation error arrives as a rejection, never as a throw.
        run(res, op, startedMs, putKv(node, request));
      });
      return true;
    },
    observe(fn) {
      observers.push(fn);
    },
    close() {
      closed = true;
    },
  };
}

const EMPTY = new Uint8Array(0);

function tooLarge(): KvResponse {
  return errorResponse(new KvError('KV_PAYLOAD_TOO_LARGE', 'request body larger than the value limit'));
}

/**
 * `r=2&w=quorum&timeout=500&local=true`: each known parameter at most once, nothing encoded.
 * Anything else (unknown or repeated names, `%`, `+`, empty parts) returns null.
 */
function plainQuery(text: string): Record<string, string> | null {
  const out: Record<string, string> = {};
  if (text.length === 0) return out;
  if (text.includes('%') || text.includes('+')) return null;
  for (const part of text.split('&')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return null;
    const name = part.slice(0, eq);
    if (!PARAMS.has(name) || out[name] !== undefined) return null;
    out[name] = part.slice(eq + 1);
  }
  return out;
}

/**
 * Collects a request body up to `max` bytes; `done(null)` when it is larger (checked against
 * Content-Length first, so an oversized upload is refused before it is read).
 */
function readBody(req: IncomingMessage, max: number, done: (body: Uint8Array | null) => void): void {
  const declared = Number(req.headers['content-length']);
  if (declared > max) {
    req.resume();
    done(null);
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  req.on('data', (chunk: Buffer) => {
    if (over) return;
    size += chunk.length;
    if (size > max) {
      over = true;
      chunks.length = 0;
      done(null);
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (!over) done(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
  });
  // A client that goes away mid-body: nothing to answer; 'close' on the response frees its slot.
  req.on('error', () => undefined);
}
