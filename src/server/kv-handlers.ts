import type { IncomingHttpHeaders } from 'node:http';
import { KvError } from '../core/errors.ts';
import { encodeContext } from '../core/context.ts';
import { isDeleted, liveSiblings, siblingClock } from '../core/siblings.ts';
import type { Sibling, VersionedRecord } from '../core/siblings.ts';
import { vectorToJSON } from '../core/version-vector.ts';
import { documentView, isOperatorBody, parsePatch } from '../core/crdt/index.ts';
import type { KvNode } from '../node/kv-node.ts';
import { HEADER_BYTES_MAX, parseConsistency, parseJsonBody, parseKey, parseTimeout, validateJsonValue } from './request-validation.ts';

/**
 * The `/kv/:key` operations of CONTRACT §3, independent of the HTTP framework: each takes the
 * parsed request and returns the whole response (status, headers, serialized body). Fastify's
 * routes (http-server.ts) and the hot path on plain node:http (kv-fast-path.ts) both answer
 * with these, so the two cannot disagree on anything but speed.
 */
export interface KvRequest {
  readonly key: string;
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly headers: IncomingHttpHeaders;
  readonly body: Uint8Array;
}

export interface KvResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | Buffer;
}

/** What Fastify sends for an object: the same header, so both paths answer byte for byte alike. */
const JSON_TYPE = 'application/json; charset=utf-8';

export async function getKv(node: KvNode, req: KvRequest): Promise<KvResponse> {
  const key = parseKey(req.key);
  const q = req.query;
  if (q.local === 'true') return recordResponse(node.getLocal(key));
  const r = parseConsistency(q.r, 'r', node.config);
  const timeoutMs = parseTimeout(q.timeout, node.config.requestTimeoutMs);
  const { record } = await node.get(key, { r, timeoutMs });
  return recordResponse(record);
}

export async function putKv(node: KvNode, req: KvRequest): Promise<KvResponse> {
  const key = parseKey(req.key);
  const contentType = contentTypeOf(req.headers);
  if (isJson(contentType)) {
    // A body with update operators (the seed's {"likes":{"$inc":1}}) is a PATCH.
    if (isOperatorBody(parseJsonBody(req.body))) return patchKv(node, req);
    validateJsonValue(req.body);
  }
  const { record, coordinator } = await node.write({
    kind: 'put',
    key,
    value: req.body,
    contentType,
    idempotencyKey: null,
    context: contextOf(req.headers),
    w: parseConsistency(req.query.w, 'w', node.config),
    timeoutMs: parseTimeout(req.query.timeout, node.config.requestTimeoutMs),
    hops: 0,
  });
  const written = writtenBy(record, coordinator);
  return json(200, { context: encodeContext(record.context), vectorClock: written ? vectorToJSON(siblingClock(written)) : {} });
}

export async function deleteKv(node: KvNode, req: KvRequest): Promise<KvResponse> {
  const key = parseKey(req.key);
  const { record } = await node.write({
    kind: 'del',
    key,
    value: new Uint8Array(0),
    contentType: '',
    idempotencyKey: null,
    context: contextOf(req.headers),
    w: parseConsistency(req.query.w, 'w', node.config),
    timeoutMs: parseTimeout(req.query.timeout, node.config.requestTimeoutMs),
    hops: 0,
  });
  return json(200, { context: encodeContext(record.context) });
}

/** PATCH, and PUT with operator fields. */
export async function patchKv(node: KvNode, req: KvRequest): Promise<KvResponse> {
  const key = parseKey(req.key);
  if (!isJson(contentTypeOf(req.headers))) throw new KvError('KV_BAD_REQUEST', 'PATCH needs Content-Type: application/json', { field: 'Content-Type' });
  const idem = req.headers['idempotency-key'];
  if (Array.isArray(idem)) throw new KvError('KV_BAD_REQUEST', 'one Idempotency-Key header at most', { field: 'Idempotency-Key' });
  // Validate here too, so a malformed patch gets its 4xx without a round trip to a replica.
  parsePatch(parseJsonBody(req.body));
  const { record, duplicate } = await node.write({
    kind: 'patch',
    key,
    value: req.body,
    contentType: 'application/json',
    idempotencyKey: idem ?? null,
    context: null,
    w: parseConsistency(req.query.w, 'w', node.config),
    timeoutMs: parseTimeout(req.query.timeout, node.config.requestTimeoutMs),
    hops: 0,
  });
  return json(200, record.doc ? documentView(record.doc) : {}, duplicate ? { 'Idempotency-Replayed': 'true' } : {});
}

/** The metrics label of a `/kv/<key>` request (both HTTP paths report under the same names). */
export function kvOperation(method: string, local: boolean): string {
  switch (method) {
    case 'GET':
      return local ? 'get_local' : 'get';
    case 'PUT':
      return 'put';
    case 'DELETE':
      return 'delete';
    case 'PATCH':
      return 'patch';
    default:
      return 'other';
  }
}

/** The JSON error shape of every endpoint (docs/ERRORS.md). */
export function errorResponse(e: KvError, headers: Readonly<Record<string, string>> = {}): KvResponse {
  return json(e.status, e.toJSON(), headers);
}

function json(status: number, value: unknown, headers: Readonly<Record<string, string>> = {}): KvResponse {
  return { status, headers: { ...headers, 'Content-Type': JSON_TYPE }, body: JSON.stringify(value) };
}

/** The version a write just made: the sibling with its coordinator's highest dot. */
function writtenBy(record: VersionedRecord, coordinator: string): Sibling | undefined {
  let best: Sibling | undefined;
  for (const s of record.siblings) if (s.dot.actor === coordinator && (!best || s.dot.counter > best.dot.counter)) best = s;
  return best;
}

function recordResponse(record: VersionedRecord | undefined): KvResponse {
  if (!record || isDeleted(record)) {
    const e = new KvError('KV_NOT_FOUND', 'key not found', record ? { deleted: true } : {});
    return errorResponse(e, record ? { 'X-Context': encodeContext(record.context) } : {});
  }
  const context = encodeContext(record.context);
  const live = liveSiblings(record);
  if (record.doc && live.length === 0) {
    return json(200, documentView(record.doc), { 'X-Context': context, 'X-Vector-Clock': JSON.stringify(vectorToJSON(record.context)) });
  }
  if (live.length === 1 && !record.doc) {
    const s = live[0]!;
    return {
      status: 200,
      headers: {
        'X-Context': context,
        'X-Vector-Clock': JSON.stringify(vectorToJSON(siblingClock(s))),
        'Content-Type': s.contentType || 'application/octet-stream',
      },
      body: Buffer.from(s.value.buffer, s.value.byteOffset, s.value.byteLength),
    };
  }
  return json(
    300,
    {
      siblings: live.map((s) => ({
        ...siblingValue(s.value, s.contentType),
        contentType: s.contentType,
        vectorClock: vectorToJSON(siblingClock(s)),
        writtenAtMs: s.writtenAtMs,
      })),
      // A document updated concurrently with a plain write on another replica shows as one more version.
      ...(record.doc ? { document: documentView(record.doc) } : {}),
      context,
    },
    { 'X-Context': context },
  );
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

function contentTypeOf(headers: IncomingHttpHeaders): string {
  const ct = headers['content-type'] ?? 'application/octet-stream';
  if (ct.length > 256) throw new KvError('KV_BAD_REQUEST', 'content type longer than 256 characters', { field: 'Content-Type' });
  return ct;
}

function contextOf(headers: IncomingHttpHeaders): string | null {
  const c = headers['x-context'];
  if (c === undefined || c === '') return null;
  if (Array.isArray(c) || c.length > HEADER_BYTES_MAX) throw new KvError('KV_BAD_REQUEST', 'X-Context must be one header value', { field: 'X-Context' });
  return c;
}

export function isJson(contentType: string): boolean {
  const base = contentType.split(';')[0]!.trim().toLowerCase();
  return base === 'application/json' || base.endsWith('+json');
}

/** Any error as the KvError the client sees: framework and parser errors become 4xx, the rest 500. */
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
