import type { VersionVector } from './version-vector.ts';
import { parseVector, sortedActors } from './version-vector.ts';
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
  // Every read and write answers with a context, so this is on the hot path: built without
  // map/join or the built-in sort's work arrays.
  const actors = sortedActors(vv);
  let text = FORMAT + '|';
  for (let i = 0; i < actors.length; i++)
    text += (i === 0 ? '' : ',') + actors[i]! + ':' + vv[actors[i]!]!;
  return base64UrlEncode(text);
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

/** Whether every character is ASCII: then a text is its own UTF-8 and Latin-1 byte string. */
function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 0x80) return false;
  return true;
}

function base64UrlEncode(text: string): string {
  // Node ids are ASCII (NODE_ID_PATTERN), so a context's text is its own byte string: no UTF-8
  // pass, and each replacement only when there is something to replace (hot path).
  let bin = text;
  if (!isAscii(text)) {
    bin = '';
    for (const b of new TextEncoder().encode(text)) bin += String.fromCharCode(b);
  }
  let b64 = btoa(bin);
  let end = b64.length;
  while (end > 0 && b64.charCodeAt(end - 1) === 0x3d) end--; // '='
  if (end < b64.length) b64 = b64.slice(0, end);
  if (b64.includes('+')) b64 = b64.replaceAll('+', '-');
  if (b64.includes('/')) b64 = b64.replaceAll('/', '_');
  return b64;
}

function base64UrlDecode(text: string): string {
  let b64 = text;
  if (b64.includes('-')) b64 = b64.replaceAll('-', '+');
  if (b64.includes('_')) b64 = b64.replaceAll('_', '/');
  if (b64.length % 4 !== 0) b64 += '==='.slice(0, 4 - (b64.length % 4));
  let bin: string;
  try {
    bin = atob(b64);
  } catch {
    throw new KvError('KV_BAD_REQUEST', 'invalid context: not base64url', { field: 'X-Context' });
  }
  if (isAscii(bin)) return bin;
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
}
