import type { Sibling, VersionedRecord } from '../core/siblings.ts';
import {
  COUNTER_MAX,
  newVector,
  VECTOR_ACTORS_MAX,
  type VersionVector,
} from '../core/version-vector.ts';
import { isNodeId } from '../core/types.ts';
import { TextCache } from '../core/text-cache.ts';
import {
  ARRAY_LENGTH,
  BIN_LENGTH,
  MAP_LENGTH,
  STR_LENGTH,
  type LengthForms,
} from './msgpack-lengths.ts';

/** Content types are short header values; longer ones are refused at the edge. */
export const CONTENT_TYPE_CHARS_MAX = 256;
/** Siblings a record may carry on the wire or disk (SIBLINGS_MAX bounds what writes create). */
export const SIBLINGS_ON_WIRE_MAX = 10_000;

/**
 * A direct reader for the one msgpack shape a plain record has (record-codec.ts):
 *   { c: context, s: [[actor, counter, seen, value, contentType, deleted, writtenAtMs], …] }
 * Every write decodes two or three records on every replica (the one a peer sent, the one
 * stored), and the generic path builds each twice: msgpackr's objects, then recordFromWire's
 * checked copies. This reader checks as it reads and builds the final objects once, and the
 * strings that repeat in every record (actors, content types) come from small caches instead of
 * being decoded again.
 *
 * It answers only when it is sure: for anything else (a document, another key order, a number
 * format the encoder never writes, a duplicate actor, a non-ASCII string, bytes that fail any
 * check) it returns undefined and the caller takes the generic path, which decides and reports
 * exactly as before. So for any bytes this gives either undefined or the record the generic path
 * gives (property-tested against it in test/node/record-reader.test.ts).
 */
export function readRecord(bytes: Uint8Array): VersionedRecord | undefined {
  src = bytes;
  pos = 0;
  try {
    if (length(MAP_LENGTH) !== 2 || !fixKey(0x63)) return undefined; // 'c'
    const context = vector();
    if (!fixKey(0x73)) return undefined; // 's'
    const n = length(ARRAY_LENGTH);
    if (n > SIBLINGS_ON_WIRE_MAX) return undefined;
    const siblings: Sibling[] = [];
    for (let i = 0; i < n; i++) siblings.push(sibling(context));
    return pos === bytes.length ? { context, siblings } : undefined;
  } catch (e) {
    if (e === notThisShape) return undefined;
    throw e;
  } finally {
    src = EMPTY;
  }
}

const EMPTY = new Uint8Array(0);
/** Thrown (never seen outside) when the bytes are not the shape this reader takes. */
const notThisShape = new Error('not a plain record');

let src: Uint8Array = EMPTY;
let pos = 0;

function sibling(context: VersionVector): Sibling {
  if (length(ARRAY_LENGTH) !== 7) throw notThisShape;
  const actor = cachedText(actors, true);
  const counter = number();
  if (!Number.isSafeInteger(counter) || counter < 1) throw notThisShape;
  if ((context[actor] ?? 0) < counter) throw notThisShape;
  const seen = vector();
  const value = bin();
  const contentType = cachedText(contentTypes, false);
  if (contentType.length > CONTENT_TYPE_CHARS_MAX) throw notThisShape;
  const deleted = bool();
  const writtenAtMs = number();
  if (!Number.isFinite(writtenAtMs)) throw notThisShape;
  return { dot: { actor, counter }, seen, value, contentType, deleted, writtenAtMs };
}

/** A version vector, checked as `parseVector` checks one (zero counters are left out). */
function vector(): VersionVector {
  const n = length(MAP_LENGTH);
  if (n > VECTOR_ACTORS_MAX) throw notThisShape;
  const out = newVector();
  for (let i = 0; i < n; i++) {
    const actor = cachedText(actors, true);
    const counter = number();
    if (!Number.isInteger(counter) || counter < 0 || counter > COUNTER_MAX) throw notThisShape;
    // (msgpackr keeps the last of two equal keys; rare enough to leave to it.)
    if (actor in out) throw notThisShape;
    if (counter > 0) out[actor] = counter;
  }
  return out;
}

/** `key`, a one-letter fixstr map key. */
function fixKey(letter: number): boolean {
  if (src[pos] !== 0xa1 || src[pos + 1] !== letter) return false;
  pos += 2;
  return true;
}

/** A length in any of the forms `forms` has. */
function length(forms: LengthForms): number {
  const b = byte();
  const fix = b - forms.fix;
  if (fix >= 0 && fix < forms.fixCount) return fix;
  if (b === forms.c8 && forms.c8 !== 0) return byte();
  if (b === forms.c16) return u16();
  if (b === forms.c32) return u32();
  throw notThisShape;
}

/** Any msgpack number the encoder writes (64-bit integers and float32 go the generic way). */
function number(): number {
  const b = byte();
  if (b <= 0x7f) return b;
  if (b >= 0xe0) return b - 0x100;
  switch (b) {
    case 0xcc:
      return byte();
    case 0xcd:
      return u16();
    case 0xce:
      return u32();
    case 0xd0:
      return (byte() << 24) >> 24;
    case 0xd1:
      return (u16() << 16) >> 16;
    case 0xd2:
      return u32() | 0;
    case 0xcb:
      return f64();
    default:
      throw notThisShape;
  }
}

function bool(): boolean {
  const b = byte();
  if (b === 0xc3) return true;
  if (b === 0xc2) return false;
  throw notThisShape;
}

/** Binary bytes, as a view into the input (as msgpackr gives them, `copyBuffers` off). */
function bin(): Uint8Array {
  const n = length(BIN_LENGTH);
  if (pos + n > src.length) throw notThisShape;
  const out = src.subarray(pos, pos + n);
  pos += n;
  return out;
}

/**
 * A string from `cache` when it holds one with the next bytes, else read and kept; `nodeId`:
 * it must be a node id (an actor), checked once when first read.
 */
function cachedText(cache: TextCache, nodeId: boolean): string {
  const n = length(STR_LENGTH);
  const found = cache.find(src, pos, n);
  if (found !== undefined) {
    pos += n;
    return found;
  }
  const s = ascii(n);
  if (nodeId && !isNodeId(s)) throw notThisShape;
  cache.remember(s);
  return s;
}

/** `n` bytes of ASCII as a string. */
function ascii(n: number): string {
  if (pos + n > src.length) throw notThisShape;
  let s = '';
  for (let i = 0; i < n; i++) {
    const c = src[pos + i]!;
    // Non-ASCII needs UTF-8 decoding with its replacement rules: the generic path has them.
    if (c >= 0x80) throw notThisShape;
    s += String.fromCharCode(c);
  }
  pos += n;
  return s;
}

const actors = new TextCache(16);
const contentTypes = new TextCache(8);

function byte(): number {
  if (pos >= src.length) throw notThisShape;
  return src[pos++]!;
}

function u16(): number {
  return (byte() << 8) | byte();
}

function u32(): number {
  return ((byte() << 24) | (byte() << 16) | (byte() << 8) | byte()) >>> 0;
}

const f64Value = new Float64Array(1);
const f64Bytes = new Uint8Array(f64Value.buffer);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A big-endian float64. */
function f64(): number {
  if (pos + 8 > src.length) throw notThisShape;
  for (let i = 0; i < 8; i++) f64Bytes[littleEndian ? 7 - i : i] = src[pos + i]!;
  pos += 8;
  return f64Value[0]!;
}
