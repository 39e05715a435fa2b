import type { VersionVector } from './version-vector.ts';
import {
  COUNTER_MAX,
  newVector,
  parseVector,
  sortedActors,
  VECTOR_ACTORS_MAX,
} from './version-vector.ts';
import { TextCache } from './text-cache.ts';
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
  return readContext(context) ?? decodeContextText(context);
}

/**
 * The general decoder: base64url to text, then the entries. Every error is reported here; the
 * direct reader below hands anything it is not sure of to it.
 */
export function decodeContextText(context: string): VersionVector {
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

/**
 * The direct reader for a context as `encodeContext` writes it: base64url decoded into a reused
 * buffer and `1|actor:counter,…` read from the bytes, actors from a cache of node ids already
 * seen. Every coordinated write decodes its client's context, and the general way costs regular
 * expressions, several strings and a throw-away object per entry. Returns undefined for anything
 * else (another format, non-ASCII, an actor that is not a node id, a duplicate, too many entries,
 * a counter of zero or out of range), so `decodeContextText` decides and reports exactly as
 * before: this gives either undefined or its vector (property-tested in test/core/siblings.test.ts).
 */
export function readContext(context: string): VersionVector | undefined {
  const n = context.length;
  if (n === 0 || n > CONTEXT_CHARS_MAX || n % 4 === 1) return undefined;
  // Base64url, 4 characters to 3 bytes; trailing bits are dropped, as atob does.
  let len = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < n; i++) {
    const c = context.charCodeAt(i);
    const v = c < 128 ? BASE64URL[c]! : -1;
    if (v < 0) return undefined;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      contextBytes[len++] = (acc >> bits) & 0xff;
    }
  }
  const b = contextBytes;
  if (len < 2 || b[0] !== 0x31 || b[1] !== 0x7c) return undefined; // "1|"
  const out = newVector();
  let entries = 0;
  let at = 2;
  while (at < len) {
    // actor: NODE_ID_PATTERN, [A-Za-z0-9][A-Za-z0-9_.-]{0,63}
    const start = at;
    if (!isAlnum(b[at]!)) return undefined;
    while (at < len && at - start < 65 && isIdChar(b[at]!)) at++;
    const idLength = at - start;
    if (idLength > 64 || at >= len || b[at] !== 0x3a) return undefined; // ':'
    let actor = contextActors.find(b, start, idLength);
    if (actor === undefined) {
      actor = String.fromCharCode(...b.subarray(start, at));
      contextActors.remember(actor);
    }
    at++;
    // counter: 1 to 16 digits, at most COUNTER_MAX
    const digits = at;
    let counter = 0;
    while (at < len && at - digits < 17 && b[at]! >= 0x30 && b[at]! <= 0x39)
      counter = counter * 10 + (b[at++]! - 0x30);
    if (at === digits || at - digits > 16 || counter > COUNTER_MAX) return undefined;
    if (at < len && b[at++] !== 0x2c) return undefined; // ','
    if (at === len && b[len - 1] === 0x2c) return undefined; // a trailing comma
    // (A zero counter is never written; whether it repeats an actor is the general path's call.)
    if (counter === 0 || ++entries > VECTOR_ACTORS_MAX || actor in out) return undefined;
    out[actor] = counter;
  }
  return out;
}

/** Room for the bytes of the longest context accepted. */
const contextBytes = new Uint8Array(Math.ceil((CONTEXT_CHARS_MAX * 3) / 4));
const contextActors = new TextCache(16);
/** Base64url digit values by character code; -1 for anything else. */
const BASE64URL = Array.from({ length: 128 }, (_, c) =>
  'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.indexOf(
    String.fromCharCode(c),
  ),
);

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function isIdChar(c: number): boolean {
  return isAlnum(c) || c === 0x5f || c === 0x2e || c === 0x2d; // _ . -
}
