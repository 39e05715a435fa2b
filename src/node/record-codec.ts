import { Buffer } from 'node:buffer';
import { Packr } from 'msgpackr';
import type { Sibling, VersionedRecord } from '../core/siblings.ts';
import type { VersionVector } from '../core/version-vector.ts';
import { parseVector, sortedActors } from '../core/version-vector.ts';
import { isNodeId } from '../core/types.ts';
import { KvError, type KvErrorCode } from '../core/errors.ts';
import type { EncodedDocument } from '../core/crdt/index.ts';
import { decodeDocument, documentRowText, encodeDocument } from '../core/crdt/index.ts';
import { hash64 } from '../core/hash.ts';
import { CONTENT_TYPE_CHARS_MAX, readRecord, SIBLINGS_ON_WIRE_MAX } from './record-reader.ts';
import { writeRecord } from './record-writer.ts';

/**
 * How a key's versions travel between replicas and rest on disk. One compact positional form
 * for both, so a replica stores what it receives without reshaping it:
 *   { c: context, s: [[actor, counter, seen, value, contentType, deleted, writtenAtMs], …] }
 * Every field is checked on the way in: peers and disks are not trusted to be well formed.
 */
export interface WireRecord {
  readonly c: Record<string, number>;
  readonly s: readonly WireSibling[];
  /** A CRDT document, in its codec's form (src/core/crdt/codec.ts). */
  readonly d?: EncodedDocument;
}
type WireSibling = readonly [
  string,
  number,
  Record<string, number>,
  Uint8Array,
  string,
  boolean,
  number,
];

export function recordToWire(r: VersionedRecord): WireRecord {
  const wire: WireRecord = {
    c: r.context as Record<string, number>,
    s: r.siblings.map((x): WireSibling => [
      x.dot.actor,
      x.dot.counter,
      x.seen as Record<string, number>,
      x.value,
      x.contentType,
      x.deleted,
      x.writtenAtMs,
    ]),
  };
  return r.doc ? { ...wire, d: encodeDocument(r.doc) } : wire;
}

/**
 * A short digest of what versions a replica holds for a key (context, sibling dots, tombstone
 * flags, document state without its idempotency table) — not the value bytes. Two replicas with equal digests hold the same
 * versions; the Merkle trees of anti-entropy are built from these.
 */
export function recordDigest(r: VersionedRecord): string {
  // It runs twice per write on every replica, so the text `hashHex(keyHash(text))` hashes is
  // written as UTF-8 straight into a reused buffer (no string, no number-to-string):
  //   actor:counter,… (sorted) then |actor:counter[x] per sibling, then |document row.
  // Digests travel between nodes and sit in saved trees, so the text and the hash never change
  // (a test compares them with the first version's, which built the text as a string).
  const actors = sortedActors(r.context);
  let at = 0;
  for (let i = 0; i < actors.length; i++) {
    const actor = actors[i]!;
    if (i > 0) at = putByte(at, 0x2c); // ,
    at = putDot(at, actor, r.context[actor]!);
  }
  for (const s of r.siblings) {
    at = putDot(putByte(at, 0x7c), s.dot.actor, s.dot.counter); // |
    if (s.deleted) at = putByte(at, 0x78); // x
  }
  // Without the idempotency table, which replicas prune on their own clocks (CRDT12).
  if (r.doc) at = putText(putByte(at, 0x7c), documentRowText(r.doc));
  const h = hash64(digestText, at);
  return hexWords(h.hi, h.lo);
}

/** The digest text being written (grown when a record needs more). */
let digestText = new Uint8Array(1024);

function room(at: number, n: number): void {
  if (at + n <= digestText.length) return;
  const grown = new Uint8Array(Math.max(2 * digestText.length, at + n));
  grown.set(digestText.subarray(0, at));
  digestText = grown;
}

function putByte(at: number, b: number): number {
  room(at, 1);
  digestText[at] = b;
  return at + 1;
}

/** `actor:counter`; counters are safe integers ≥ 0 (16 digits at most). */
function putDot(at: number, actor: string, counter: number): number {
  room(at, actor.length + 1 + 16);
  const start = at;
  for (let i = 0; i < actor.length; i++) {
    const c = actor.charCodeAt(i);
    // Node ids are ASCII (NODE_ID_PATTERN), but the text is UTF-8 whatever the actor.
    if (c >= 0x80) {
      at = putText(start, actor);
      room(at, 1 + 16);
      break;
    }
    digestText[at++] = c;
  }
  digestText[at++] = 0x3a; // :
  let digits = 1;
  for (let n = counter; n >= 10; n = Math.floor(n / 10)) digits++;
  for (let i = digits - 1, n = counter; i >= 0; i--, n = Math.floor(n / 10))
    digestText[at + i] = 0x30 + (n % 10);
  return at + digits;
}

/** Any text as UTF-8 (a document's row: field names and values are the user's). */
function putText(at: number, text: string): number {
  room(at, 3 * text.length);
  return at + utf8Encoder.encodeInto(text, digestText.subarray(at)).written;
}

const utf8Encoder = new TextEncoder();

/** Upper-case hex digit codes, and the 16 codes of one digest (reused). */
const HEX_CODES = Array.from('0123456789ABCDEF', (c) => c.charCodeAt(0));
const digestCodes: number[] = new Array<number>(16).fill(0);

/** Two 32-bit words as 16 upper-case hex digits, in one string (what `hashHex` writes, no `0x`). */
function hexWords(hi: number, lo: number): string {
  for (let i = 0; i < 8; i++) {
    const shift = 28 - 4 * i;
    digestCodes[i] = HEX_CODES[(hi >>> shift) & 15]!;
    digestCodes[8 + i] = HEX_CODES[(lo >>> shift) & 15]!;
  }
  return String.fromCharCode(...digestCodes);
}

/** Validates and converts a record from the wire or the disk; throws KV_BAD_REQUEST. */
export function recordFromWire(value: unknown): VersionedRecord {
  const bad = (why: string): KvError => new KvError('KV_BAD_REQUEST', `malformed record: ${why}`);
  if (typeof value !== 'object' || value === null) throw bad('not an object');
  const { c, s } = value as { c?: unknown; s?: unknown };
  const context = parseVector(c);
  if (!context) throw bad('context');
  if (!Array.isArray(s) || s.length > SIBLINGS_ON_WIRE_MAX) throw bad('siblings');
  const siblings: Sibling[] = s.map((x: unknown) => siblingFromWire(x, context, bad));
  const d = (value as { d?: unknown }).d;
  if (d === undefined || d === null) return { context, siblings };
  return { context, siblings, doc: decodeDocument(d) };
}

function siblingFromWire(
  x: unknown,
  context: VersionVector,
  bad: (why: string) => KvError,
): Sibling {
  if (!Array.isArray(x) || x.length !== 7) throw bad('sibling shape');
  const [actor, counter, seenRaw, value, contentType, deleted, writtenAtMs] = x as unknown[];
  if (!isNodeId(actor)) throw bad('actor');
  if (typeof counter !== 'number' || !Number.isSafeInteger(counter) || counter < 1)
    throw bad('counter');
  if ((context[actor] ?? 0) < counter) throw bad('dot outside context');
  const seen = parseVector(seenRaw);
  if (!seen) throw bad('seen');
  if (!(value instanceof Uint8Array)) throw bad('value');
  if (typeof contentType !== 'string' || contentType.length > CONTENT_TYPE_CHARS_MAX)
    throw bad('content type');
  if (typeof deleted !== 'boolean') throw bad('deleted');
  if (typeof writtenAtMs !== 'number' || !Number.isFinite(writtenAtMs)) throw bad('writtenAtMs');
  return { dot: { actor, counter }, seen, value, contentType, deleted, writtenAtMs };
}

const packr = new Packr({ useRecords: false, moreTypes: false });

/** Record → bytes for the storage port (a plain record written directly, in msgpackr's bytes). */
export function encodeRecord(r: VersionedRecord): Uint8Array {
  return r.doc ? packr.pack(recordToWire(r)) : writeRecord(r);
}

/** Bytes from the storage port → record; corruption surfaces as a KvError, not a crash. */
export function decodeRecord(bytes: Uint8Array): VersionedRecord {
  return unpackRecord(bytes, 'KV_STORAGE_IO', 'stored record is corrupt (not msgpack)');
}

/**
 * A record a peer sent in its stored encoding (`put`, `get-r`): checked like any record from the
 * wire (KV_BAD_REQUEST when malformed). Records travel encoded so a replica can store what it
 * received and answer a read with the bytes it holds, without re-encoding either.
 */
export function recordFromPeer(bytes: unknown): VersionedRecord {
  if (!(bytes instanceof Uint8Array))
    throw new KvError('KV_BAD_REQUEST', 'malformed record: not bytes');
  return unpackRecord(bytes, 'KV_BAD_REQUEST', 'malformed record: not msgpack');
}

function unpackRecord(bytes: Uint8Array, code: KvErrorCode, notMsgpack: string): VersionedRecord {
  // Plain records, nearly all of them, in one pass; anything else the generic way.
  const plain = readRecord(bytes);
  if (plain !== undefined) return plain;
  let raw: unknown;
  try {
    raw = packr.unpack(bytes);
  } catch {
    throw new KvError(code, notMsgpack);
  }
  return recordFromWire(raw);
}

/**
 * Byte-for-byte equality, without copies. Two encodings of records are the same record when their
 * bytes are equal (one encoder writes them all).
 */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
