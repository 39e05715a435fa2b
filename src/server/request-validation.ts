import { KvError } from '../core/errors.ts';
import type { NodeConfig } from '../node/config.ts';

/** Keys are 1..512 bytes of UTF-8 (CONTRACT §3). */
export const KEY_BYTES_MAX = 512;
/** Largest header value we read (contexts are far smaller). */
export const HEADER_BYTES_MAX = 8192;
/** JSON values nest at most this deep: deeper documents are refused, not recursed into. */
export const JSON_DEPTH_MAX = 64;
/** Longest per-request time-out a client may ask for. */
export const TIMEOUT_MS_MAX = 60_000;

export function parseKey(raw: string | undefined): string {
  if (raw === undefined || raw.length === 0) throw new KvError('KV_BAD_REQUEST', 'key is empty', { field: 'key' });
  const bytes = Buffer.byteLength(raw, 'utf8');
  if (bytes > KEY_BYTES_MAX) throw new KvError('KV_BAD_REQUEST', `key is ${bytes} bytes; the limit is ${KEY_BYTES_MAX}`, { field: 'key', bytes });
  if (raw.includes('\uFFFD') || /[\u0000]/.test(raw)) throw new KvError('KV_BAD_REQUEST', 'key is not valid UTF-8 or contains NUL', { field: 'key' });
  return raw;
}

/** `r`/`w`: 1..N, `one`, `quorum` or `all`; absent means the node's default. */
export function parseConsistency(raw: string | undefined, name: 'r' | 'w', config: NodeConfig): number {
  const fallback = name === 'r' ? config.r : config.w;
  if (raw === undefined) return fallback;
  const n = config.n;
  let v: number;
  if (raw === 'one') v = 1;
  else if (raw === 'quorum') v = Math.floor(n / 2) + 1;
  else if (raw === 'all') v = n;
  else if (/^[0-9]{1,3}$/.test(raw)) v = Number(raw);
  else v = NaN;
  if (!Number.isInteger(v) || v < 1 || v > n) {
    throw new KvError('KV_BAD_REQUEST', `${name} must be 1..${n}, one, quorum or all`, { field: name, value: raw });
  }
  return v;
}

export function parseTimeout(raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const v = /^[0-9]{1,6}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(v) || v < 1 || v > TIMEOUT_MS_MAX) {
    throw new KvError('KV_BAD_REQUEST', `timeout must be 1..${TIMEOUT_MS_MAX} ms`, { field: 'timeout', value: raw });
  }
  return v;
}

/**
 * A plain JSON value: it must parse, stay within the depth bound, and use no field name that
 * starts with `$` (reserved for update operators, CONTRACT §3).
 */
export function parseJsonBody(body: Uint8Array): unknown {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (e) {
    throw new KvError('KV_BAD_REQUEST', `body is not valid JSON: ${(e as Error).message}`, { field: 'body' });
  }
  return value;
}

export function validateJsonValue(body: Uint8Array): unknown {
  const value = parseJsonBody(body);
  checkPlain(value, 0);
  return value;
}

function checkPlain(v: unknown, depth: number): void {
  if (depth > JSON_DEPTH_MAX) throw new KvError('KV_BAD_REQUEST', `JSON nests deeper than ${JSON_DEPTH_MAX}`, { field: 'body' });
  if (Array.isArray(v)) {
    for (const x of v) checkPlain(x, depth + 1);
  } else if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) {
      if (k.startsWith('$')) throw new KvError('KV_BAD_REQUEST', `field names starting with $ are reserved ("${k.slice(0, 64)}")`, { field: k.slice(0, 64) });
      checkPlain(x, depth + 1);
    }
  }
}
