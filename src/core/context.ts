import type { VersionVector } from './version-vector.ts';
import { parseVector } from './version-vector.ts';
import { KvError } from './errors.ts';

/**
 * The causal context a client carries from a read to its next write (Dynamo §4.4): an opaque
 * base64url string. Inside it is a version vector in a small text form, `1|n1:3,n2:5`; the
 * leading `1` is the format version so the form can change without breaking old clients.
 */

const FORMAT = '1';
/** A context names at most as many actors as a vector may hold; bounded to stop hostile input. */
export const CONTEXT_CHARS_MAX = 8192;

export function encodeContext(vv: VersionVector): string {
  const parts = Object.keys(vv)
    .sort()
    .map((k) => `${k}:${vv[k]}`);
  return base64UrlEncode(`${FORMAT}|${parts.join(',')}`);
}

/** Decodes a client-supplied context; throws KV_BAD_REQUEST on anything malformed. */
export function decodeContext(context: string): VersionVector {
  const bad = (why: string): KvError =>
    new KvError('KV_BAD_REQUEST', `invalid context: ${why}`, { field: 'X-Context' });
  if (context.length === 0 || context.length > CONTEXT_CHARS_MAX) throw bad('wrong length');
  if (!/^[A-Za-z0-9_-]+$/.test(context)) throw bad('not base64url');
  const text = base64UrlDecode(context);
  const bar = text.indexOf('|');
  if (bar < 0 || text.slice(0, bar) !== FORMAT) throw bad('unknown format');
  const body = text.slice(bar + 1);
  const entries: Record<string, number> = {};
  if (body.length > 0) {
    for (const part of body.split(',')) {
      const colon = part.lastIndexOf(':');
      const counterText = part.slice(colon + 1);
      if (colon <= 0 || !/^[0-9]{1,16}$/.test(counterText)) throw bad('malformed entry');
      const actor = part.slice(0, colon);
      if (Object.hasOwn(entries, actor)) throw bad('duplicate actor');
      Object.defineProperty(entries, actor, { value: Number(counterText), enumerable: true });
    }
  }
  const vv = parseVector(entries);
  if (!vv) throw bad('malformed vector');
  return vv;
}

/** Printable ASCII only: every context text, since node ids are ASCII (NODE_ID_PATTERN). */
const ASCII_TEXT = /^[\x20-\x7e]*$/;

function base64UrlEncode(text: string): string {
  // The ASCII text of a context is its own Latin-1 byte string: no UTF-8 pass needed (every read
  // and write answers with a context, so this is on the hot path).
  if (ASCII_TEXT.test(text)) return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const bytes = new TextEncoder().encode(text);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function base64UrlDecode(text: string): string {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  let bin: string;
  try {
    bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  } catch {
    throw new KvError('KV_BAD_REQUEST', 'invalid context: not base64url', { field: 'X-Context' });
  }
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
}
