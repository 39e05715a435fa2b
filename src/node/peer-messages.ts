import type { WireRecord } from './record-codec.ts';
import type { WireView } from '../core/membership.ts';
import { KvError } from '../core/errors.ts';
import type { KvErrorCode } from '../core/errors.ts';
import type { NodeId } from '../core/types.ts';
import { isNodeId } from '../core/types.ts';

/**
 * Every message nodes exchange over the peer transport: one discriminated union on `t`
 * (docs/PROTOCOL.md). Requests carry an `id` chosen by the sender; the reply carries it back.
 * The transport's hello frame carries the protocol version.
 */
export type PeerMessage =
  | { readonly t: 'gossip'; readonly view: WireView }
  /**
   * `view`: a document may come without its idempotency table (for an answer, never to store);
   * `dots`: with the entries of those table dots (src/node/document-reads.ts).
   */
  | { readonly t: 'get'; readonly id: number; readonly key: string; readonly hint?: NodeId; readonly view?: true; readonly dots?: readonly (readonly [string, number])[] }
  /** `rec`: the record in its stored encoding (record-codec.ts `encodeRecord`), as on disk. */
  | { readonly t: 'get-r'; readonly id: number; readonly rec: Uint8Array | null; readonly err?: WireError }
  | { readonly t: 'put'; readonly id: number; readonly key: string; readonly rec: Uint8Array; readonly ack: boolean; readonly hint?: NodeId }
  | { readonly t: 'batch'; readonly id: number; readonly entries: readonly (readonly [string, WireRecord])[] }
  | { readonly t: 'batch-r'; readonly id: number; readonly err?: WireError }
  | { readonly t: 'put-r'; readonly id: number; readonly err?: WireError }
  | { readonly t: 'ae'; readonly id: number; readonly partition: number; readonly msg: unknown }
  | { readonly t: 'ae-r'; readonly id: number; readonly msg?: unknown; readonly err?: WireError }
  | { readonly t: 'fetch'; readonly id: number; readonly keys: readonly string[] }
  | { readonly t: 'fetch-r'; readonly id: number; readonly entries: readonly (readonly [string, WireRecord])[]; readonly err?: WireError }
  | { readonly t: 'fwd'; readonly id: number; readonly req: ForwardedWrite }
  | { readonly t: 'fwd-r'; readonly id: number; readonly res?: unknown; readonly err?: WireError }
  | { readonly t: 'list'; readonly id: number; readonly prefix: string; readonly limit: number }
  | { readonly t: 'list-r'; readonly id: number; readonly keys: string[]; readonly truncated: boolean; readonly err?: WireError };

export type PeerMessageType = PeerMessage['t'];

/** A client write handed to a replica of its key, which coordinates it. */
export interface ForwardedWrite {
  readonly kind: 'put' | 'del' | 'patch';
  readonly key: string;
  readonly value: Uint8Array;
  readonly contentType: string;
  readonly context: string | null;
  /** For `patch`: the Idempotency-Key header. */
  readonly idempotencyKey: string | null;
  readonly w: number;
  readonly timeoutMs: number;
  /** Hops so far; a forward is never forwarded more than once (no loops while rings differ). */
  readonly hops: number;
}

export interface WireError {
  readonly code: KvErrorCode;
  readonly message: string;
  readonly details?: Record<string, unknown>;
}

export function errorToWire(e: unknown): WireError {
  if (e instanceof KvError) return { code: e.code, message: e.message, details: { ...e.details } };
  return { code: 'KV_INTERNAL', message: e instanceof Error ? e.message : String(e) };
}

export function errorFromWire(w: WireError): KvError {
  return new KvError(w.code, w.message, w.details ?? {});
}

const TYPES: ReadonlySet<string> = new Set<PeerMessageType>(['gossip', 'get', 'get-r', 'put', 'put-r', 'batch', 'batch-r', 'ae', 'ae-r', 'fetch', 'fetch-r', 'fwd', 'fwd-r', 'list', 'list-r']);
/** Records per batch message (hint delivery, handoff): bounds a frame and the work per message. */
export const BATCH_ENTRIES_MAX = 1000;

/**
 * Shape check run by the transport on every inbound message before anything acts on it.
 * Deeper checks (records, views) happen where they are used and raise typed errors there.
 * Throws on a bad message; the transport then closes that connection.
 */
export function validatePeerMessage(value: unknown): PeerMessage {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('message is not an object');
  const m = value as Record<string, unknown>;
  if (typeof m.t !== 'string' || !TYPES.has(m.t)) throw new Error('unknown message type');
  if (m.t !== 'gossip' && (typeof m.id !== 'number' || !Number.isSafeInteger(m.id))) throw new Error('bad request id');
  if ((m.t === 'get' || m.t === 'put') && typeof m.key !== 'string') throw new Error('bad key');
  if (m.t === 'get' && m.view !== undefined && m.view !== true) throw new Error('bad view flag');
  if (m.t === 'get' && m.dots !== undefined && !Array.isArray(m.dots)) throw new Error('bad dots');
  if (m.t === 'list' && (typeof m.prefix !== 'string' || typeof m.limit !== 'number')) throw new Error('bad list');
  if (m.t === 'put' && !(m.rec instanceof Uint8Array)) throw new Error('bad record');
  if (m.t === 'get-r' && m.rec !== null && !(m.rec instanceof Uint8Array)) throw new Error('bad record');
  if ((m.t === 'get' || m.t === 'put') && m.hint !== undefined && !isNodeId(m.hint)) throw new Error('bad hint target');
  if (m.t === 'batch' && (!Array.isArray(m.entries) || m.entries.length > BATCH_ENTRIES_MAX)) throw new Error('bad batch');
  if (m.t === 'fetch' && (!Array.isArray(m.keys) || m.keys.length > BATCH_ENTRIES_MAX)) throw new Error('bad fetch');
  if (m.t === 'ae' && (typeof m.partition !== 'number' || !Number.isInteger(m.partition))) throw new Error('bad ae');
  if (m.t === 'fwd' && (typeof m.req !== 'object' || m.req === null)) throw new Error('bad forward');
  return value as PeerMessage;
}
