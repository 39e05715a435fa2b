/**
 * The anti-entropy wire messages (one discriminated union with a protocol version) and their
 * size. exchange.ts explains the protocol; this file only says what each message carries.
 *
 * Hashes travel as one flat `Uint32Array` of (hi, lo) pairs, 8 bytes per hash, which msgpackr
 * sends as raw bytes. `messageBytes` is the exact MessagePack size of `toWireArray(message)`, the
 * compact positional form (no field names); a codec with field names costs a few bytes more per
 * message, never more per hash or key.
 */
import type { Key, PartitionIndex } from '../types.ts';
import type { Hash64 } from './hash64.ts';

export const aeProtocolVersion = 1;

/** Initiator → responder: "my root is …; if yours differs, send me your whole level `level`". */
export interface AeRoot {
  readonly type: 'ae-root';
  readonly v: typeof aeProtocolVersion;
  readonly partition: PartitionIndex;
  readonly depth: number;
  readonly root: Hash64;
  readonly level: number;
}

/** Responder → initiator: roots match (`hashes` empty), or its level `level` (2^level hashes). */
export interface AeRootReply {
  readonly type: 'ae-root-reply';
  readonly v: typeof aeProtocolVersion;
  readonly partition: PartitionIndex;
  readonly match: boolean;
  readonly level: number;
  readonly hashes: Uint32Array;
}

/**
 * Initiator → responder: "send your nodes at `level` under each of these mismatching nodes of
 * `parentLevel`" (2^(level − parentLevel) hashes per parent, parents in the given order).
 */
export interface AeNodes {
  readonly type: 'ae-nodes';
  readonly v: typeof aeProtocolVersion;
  readonly partition: PartitionIndex;
  readonly parentLevel: number;
  readonly parents: readonly number[];
  readonly level: number;
}

export interface AeNodesReply {
  readonly type: 'ae-nodes-reply';
  readonly v: typeof aeProtocolVersion;
  readonly partition: PartitionIndex;
  readonly level: number;
  readonly hashes: Uint32Array;
}

/**
 * The initiator's entry hashes in one differing segment, restricted to entries whose hash's high
 * half lies in [hiFirst, hiLast] (the whole segment is [0, 0xFFFFFFFF]; narrower ranges page a
 * segment too large for one message).
 */
export interface AeDiffItem {
  readonly segment: number;
  readonly hiFirst: number;
  readonly hiLast: number;
  readonly hashes: Uint32Array;
}

/** A position in the responder's reply order: (segment, entry hash hi, entry hash lo). */
export interface AeCursor {
  readonly segment: number;
  readonly hi: number;
  readonly lo: number;
}

/**
 * Initiator → responder: "here are my entries in these segments; tell me which of yours I lack
 * and which of mine you lack". With `after`, a continuation: only keys after the cursor.
 */
export interface AeDiff {
  readonly type: 'ae-diff';
  readonly v: typeof aeProtocolVersion;
  readonly partition: PartitionIndex;
  readonly items: readonly AeDiffItem[];
  readonly after?: AeCursor;
}

/**
 * Responder → initiator: `keys` of the responder's entries whose (key, version) the initiator
 * lacks (the initiator fetches them), `missing` = the initiator's entry hashes the responder
 * lacks (the initiator sends those keys; empty in continuations), `next` when `keys` was cut at
 * the page bound.
 */
export interface AeDiffReply {
  readonly type: 'ae-diff-reply';
  readonly v: typeof aeProtocolVersion;
  readonly partition: PartitionIndex;
  readonly keys: readonly Key[];
  readonly missing: Uint32Array;
  readonly next?: AeCursor;
}

export type AeErrorReason = 'depth-mismatch' | 'bad-request' | 'too-large' | 'unsupported-version';

/** Responder → initiator: the request cannot be answered; the exchange ends without result. */
export interface AeError {
  readonly type: 'ae-error';
  readonly v: typeof aeProtocolVersion;
  readonly partition: PartitionIndex;
  readonly reason: AeErrorReason;
  readonly message: string;
}

export type AeRequest = AeRoot | AeNodes | AeDiff;
export type AeReply = AeRootReply | AeNodesReply | AeDiffReply | AeError;
export type AeMessage = AeRequest | AeReply;

const typeCodes = {
  'ae-root': 1,
  'ae-root-reply': 2,
  'ae-nodes': 3,
  'ae-nodes-reply': 4,
  'ae-diff': 5,
  'ae-diff-reply': 6,
  'ae-error': 7,
} as const satisfies Record<AeMessage['type'], number>;

function cursorArray(c: AeCursor | undefined): unknown {
  return c === undefined ? null : [c.segment, c.hi, c.lo];
}

/** The compact positional form `[typeCode, v, partition, …fields]` that `messageBytes` measures. */
export function toWireArray(m: AeMessage): unknown[] {
  const head = [typeCodes[m.type], m.v, m.partition];
  switch (m.type) {
    case 'ae-root':
      return [...head, m.depth, m.root.hi, m.root.lo, m.level];
    case 'ae-root-reply':
      return [...head, m.match, m.level, m.hashes];
    case 'ae-nodes':
      return [...head, m.parentLevel, [...m.parents], m.level];
    case 'ae-nodes-reply':
      return [...head, m.level, m.hashes];
    case 'ae-diff':
      return [
        ...head,
        m.items.map((i) => [i.segment, i.hiFirst, i.hiLast, i.hashes]),
        cursorArray(m.after),
      ];
    case 'ae-diff-reply':
      return [...head, [...m.keys], m.missing, cursorArray(m.next)];
    case 'ae-error':
      return [...head, m.reason, m.message];
  }
}

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

function headerBytes(length: number, fix: number, small: number | undefined): number {
  if (length < fix) return 1;
  if (small !== undefined && length < small) return 2;
  return length < 0x10000 ? 3 : 5;
}

/** MessagePack size of the values `toWireArray` produces (non-negative integers, etc.). */
function packedBytes(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) return 9;
    if (value < 0x80) return 1;
    if (value < 0x100) return 2;
    if (value < 0x10000) return 3;
    return value < 0x1_0000_0000 ? 5 : 9;
  }
  if (typeof value === 'string') {
    const n = utf8Length(value);
    return headerBytes(n, 32, 0x100) + n;
  }
  if (value instanceof Uint32Array || value instanceof Uint8Array) {
    return headerBytes(value.byteLength, 0, 0x100) + value.byteLength;
  }
  if (Array.isArray(value)) {
    let n = headerBytes(value.length, 16, undefined);
    for (const v of value) n += packedBytes(v);
    return n;
  }
  // Not produced by toWireArray; measure conservatively as a JSON string.
  return packedBytes(JSON.stringify(value) ?? '');
}

/** Bytes this message costs on the wire (exact for the positional MessagePack form). */
export function messageBytes(m: AeMessage): number {
  return packedBytes(toWireArray(m));
}
