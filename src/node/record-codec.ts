import { Buffer } from 'node:buffer';
import { Packr } from 'msgpackr';
import type { Sibling, VersionedRecord } from '../core/siblings.ts';
import type { VersionVector } from '../core/version-vector.ts';
import { parseVector } from '../core/version-vector.ts';
import { isNodeId } from '../core/types.ts';
import { KvError, type KvErrorCode } from '../core/errors.ts';
import type { EncodedDocument } from '../core/crdt/index.ts';
import { decodeDocument, documentRowText, encodeDocument } from '../core/crdt/index.ts';
import { keyHash } from '../core/hash.ts';

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
type WireSibling = readonly [string, number, Record<string, number>, Uint8Array, string, boolean, number];

/** Content types are short header values; longer ones are refused at the edge. */
export const CONTENT_TYPE_CHARS_MAX = 256;

export function recordToWire(r: VersionedRecord): WireRecord {
  const wire: WireRecord = {
    c: r.context as Record<string, number>,
    s: r.siblings.map(
      (x): WireSibling => [x.dot.actor, x.dot.counter, x.seen as Record<string, number>, x.value, x.contentType, x.deleted, x.writtenAtMs],
    ),
  };
  return r.doc ? { ...wire, d: encodeDocument(r.doc) } : wire;
}

/**
 * A short digest of what versions a replica holds for a key (context, sibling dots, tombstone
 * flags, document state without its idempotency table) — not the value bytes. Two replicas with equal digests hold the same
 * versions; the Merkle trees of anti-entropy are built from these.
 */
export function recordDigest(r: VersionedRecord): string {
  // Built by hand (no map/join, hex from a table): it runs twice per write on every replica.
  // The text and the hex are exactly those of the first version, `hashHex(keyHash(text))`
  // without its `0x`: digests travel between nodes and sit in saved trees, so they never change.
  const actors = Object.keys(r.context);
  sortStrings(actors);
  let text = '';
  for (let i = 0; i < actors.length; i++) {
    const actor = actors[i]!;
    text += (i === 0 ? '' : ',') + actor + ':' + r.context[actor]!;
  }
  for (const s of r.siblings) text += '|' + s.dot.actor + ':' + s.dot.counter + (s.deleted ? 'x' : '');
  // Without the idempotency table, which replicas prune on their own clocks (CRDT12).
  if (r.doc) text += `|${documentRowText(r.doc)}`;
  const h = keyHash(text);
  return hexWord(h.hi) + hexWord(h.lo);
}

/**
 * Sorts in place in `Array.prototype.sort`'s default order (UTF-16 code units), by insertion:
 * a context names a few actors, and the built-in sort allocates work arrays on every call (the
 * largest single allocation of a write, measured with V8's sampling heap profiler).
 */
function sortStrings(items: string[]): void {
  for (let i = 1; i < items.length; i++) {
    const item = items[i]!;
    let j = i - 1;
    for (; j >= 0 && items[j]! > item; j--) items[j + 1] = items[j]!;
    items[j + 1] = item;
  }
}

/** Two upper-case hex digits for each byte value. */
const HEX_BYTE = Array.from({ length: 256 }, (_, b) => b.toString(16).toUpperCase().padStart(2, '0'));

/** A 32-bit word as 8 upper-case hex digits (what `hashHex` writes per half). */
function hexWord(w: number): string {
  return HEX_BYTE[w >>> 24]! + HEX_BYTE[(w >>> 16) & 0xff]! + HEX_BYTE[(w >>> 8) & 0xff]! + HEX_BYTE[w & 0xff]!;
}

/** Validates and converts a record from the wire or the disk; throws KV_BAD_REQUEST. */
export function recordFromWire(value: unknown): VersionedRecord {
  const bad = (why: string): KvError => new KvError('KV_BAD_REQUEST', `malformed record: ${why}`);
  if (typeof value !== 'object' || value === null) throw bad('not an object');
  const { c, s } = value as { c?: unknown; s?: unknown };
  const context = parseVector(c);
  if (!context) throw bad('context');
  if (!Array.isArray(s) || s.length > 10_000) throw bad('siblings');
  const siblings: Sibling[] = s.map((x: unknown) => siblingFromWire(x, context, bad));
  const d = (value as { d?: unknown }).d;
  if (d === undefined || d === null) return { context, siblings };
  return { context, siblings, doc: decodeDocument(d) };
}

function siblingFromWire(x: unknown, context: VersionVector, bad: (why: string) => KvError): Sibling {
  if (!Array.isArray(x) || x.length !== 7) throw bad('sibling shape');
  const [actor, counter, seenRaw, value, contentType, deleted, writtenAtMs] = x as unknown[];
  if (!isNodeId(actor)) throw bad('actor');
  if (typeof counter !== 'number' || !Number.isSafeInteger(counter) || counter < 1) throw bad('counter');
  if ((context[actor] ?? 0) < counter) throw bad('dot outside context');
  const seen = parseVector(seenRaw);
  if (!seen) throw bad('seen');
  if (!(value instanceof Uint8Array)) throw bad('value');
  if (typeof contentType !== 'string' || contentType.length > CONTENT_TYPE_CHARS_MAX) throw bad('content type');
  if (typeof deleted !== 'boolean') throw bad('deleted');
  if (typeof writtenAtMs !== 'number' || !Number.isFinite(writtenAtMs)) throw bad('writtenAtMs');
  return { dot: { actor, counter }, seen, value, contentType, deleted, writtenAtMs };
}

const packr = new Packr({ useRecords: false, moreTypes: false });

/** Record → bytes for the storage port. */
export function encodeRecord(r: VersionedRecord): Uint8Array {
  return packr.pack(recordToWire(r));
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
  if (!(bytes instanceof Uint8Array)) throw new KvError('KV_BAD_REQUEST', 'malformed record: not bytes');
  return unpackRecord(bytes, 'KV_BAD_REQUEST', 'malformed record: not msgpack');
}

function unpackRecord(bytes: Uint8Array, code: KvErrorCode, notMsgpack: string): VersionedRecord {
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
