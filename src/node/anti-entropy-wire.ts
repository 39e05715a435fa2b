/**
 * The anti-entropy messages as they cross the peer transport inside `{t:'ae', partition, msg}`:
 * the core's exchange messages (src/core/merkle/messages.ts) plus the reaper's two requests.
 *
 * Why a codec at all: the transport's msgpackr (frame-codec.ts) sends a `Uint32Array` as its raw
 * bytes and hands back a `Buffer`, so typed arrays do not round-trip. Hashes therefore travel as
 * explicit little-endian bytes and become `Uint32Array` again here. Everything from a peer is
 * checked on the way in; a malformed message is refused with `KV_BAD_REQUEST`, never trusted.
 */
import { KvError } from '../core/errors.ts';
import type { Key } from '../core/types.ts';
import {
  aeProtocolVersion,
  type AeCursor,
  type AeDiffItem,
  type AeErrorReason,
  type AeMessage,
  type AeReply,
  type AeRequest,
} from '../core/merkle/messages.ts';
import type { VersionDigest } from '../core/merkle/merkle-tree.ts';

/** "Which version of these tombstoned keys do you hold?" (the reaper's check). */
export interface TombCheck {
  readonly type: 'tomb-check';
  readonly keys: readonly Key[];
}
/** Per asked key, the digest of the record held, or null when the key is absent. */
export interface TombCheckReply {
  readonly type: 'tomb-check-reply';
  readonly digests: readonly (VersionDigest | null)[];
}
/** "Every replica holds these tombstones: drop yours if it is still exactly this version." */
export interface TombReap {
  readonly type: 'tomb-reap';
  readonly entries: readonly (readonly [Key, VersionDigest])[];
}
export interface TombReapReply {
  readonly type: 'tomb-reap-reply';
  readonly reaped: number;
}

export type AeEnvelopeRequest = AeRequest | TombCheck | TombReap;
export type AeEnvelopeReply = AeReply | TombCheckReply | TombReapReply;

/** Keys per reaper message; the peer transport bounds batch-like messages the same way. */
export const TOMB_KEYS_PER_MESSAGE_MAX = 1000;
/** Bounds on what a peer may send, beyond which a message is refused before any work. */
const LIST_ITEMS_MAX = 1 << 16;
const KEY_CHARS_MAX = 1024;
const TEXT_CHARS_MAX = 4096;

const bad = (why: string): KvError =>
  new KvError('KV_BAD_REQUEST', `malformed anti-entropy message: ${why}`);

/** Uint32 words → little-endian bytes (endianness fixed, whatever the host). */
export function wordsToBytes(words: Uint32Array): Uint8Array {
  const out = new Uint8Array(words.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < words.length; i++) view.setUint32(4 * i, words[i]!, true);
  return out;
}

/** Little-endian bytes → Uint32 words; the byte count must be a whole number of hashes (8 B). */
export function bytesToWords(value: unknown): Uint32Array {
  if (!(value instanceof Uint8Array) || value.byteLength % 8 !== 0) throw bad('hashes');
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const out = new Uint32Array(value.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getUint32(4 * i, true);
  return out;
}

/** A message as sent: the same fields, hashes as bytes. */
export function aeToWire(
  m: AeMessage | AeEnvelopeRequest | AeEnvelopeReply,
): Record<string, unknown> {
  switch (m.type) {
    case 'ae-root-reply':
    case 'ae-nodes-reply':
      return { ...m, hashes: wordsToBytes(m.hashes) };
    case 'ae-diff':
      return { ...m, items: m.items.map((i) => ({ ...i, hashes: wordsToBytes(i.hashes) })) };
    case 'ae-diff-reply':
      return { ...m, missing: wordsToBytes(m.missing) };
    default:
      return { ...m };
  }
}

function obj(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw bad('not an object');
  return value as Record<string, unknown>;
}
function int(value: unknown, what: string, max = 0xffffffff): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max)
    throw bad(what);
  return value;
}
function str(value: unknown, what: string, max: number): string {
  if (typeof value !== 'string' || value.length > max) throw bad(what);
  return value;
}
function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value) || value.length > LIST_ITEMS_MAX) throw bad(what);
  return value;
}
function cursor(value: unknown): AeCursor | undefined {
  if (value === undefined || value === null) return undefined;
  const c = obj(value);
  return { segment: int(c.segment, 'cursor'), hi: int(c.hi, 'cursor'), lo: int(c.lo, 'cursor') };
}
function header(m: Record<string, unknown>): { v: typeof aeProtocolVersion; partition: number } {
  // An unknown version is passed through as is: answerRequest refuses it with a typed reason.
  const v = int(m.v, 'version', 1 << 16) as typeof aeProtocolVersion;
  return { v, partition: int(m.partition, 'partition', 1 << 20) };
}

/** Checks and converts a request from a peer (the responder side). */
export function aeRequestFromWire(value: unknown): AeEnvelopeRequest {
  const m = obj(value);
  switch (m.type) {
    case 'ae-root': {
      const root = obj(m.root);
      return {
        type: 'ae-root',
        ...header(m),
        depth: int(m.depth, 'depth', 64),
        root: { hi: int(root.hi, 'root'), lo: int(root.lo, 'root') },
        level: int(m.level, 'level', 64),
      };
    }
    case 'ae-nodes':
      return {
        type: 'ae-nodes',
        ...header(m),
        parentLevel: int(m.parentLevel, 'parentLevel', 64),
        parents: list(m.parents, 'parents').map((p) => int(p, 'parent')),
        level: int(m.level, 'level', 64),
      };
    case 'ae-diff': {
      const items = list(m.items, 'items').map((x): AeDiffItem => {
        const i = obj(x);
        return {
          segment: int(i.segment, 'segment'),
          hiFirst: int(i.hiFirst, 'hiFirst'),
          hiLast: int(i.hiLast, 'hiLast'),
          hashes: bytesToWords(i.hashes),
        };
      });
      const after = cursor(m.after);
      return after === undefined
        ? { type: 'ae-diff', ...header(m), items }
        : { type: 'ae-diff', ...header(m), items, after };
    }
    case 'tomb-check':
      return { type: 'tomb-check', keys: keyList(m.keys) };
    case 'tomb-reap': {
      const entries = list(m.entries, 'entries').map((e): [Key, VersionDigest] => {
        if (!Array.isArray(e) || e.length !== 2) throw bad('entry');
        return [str(e[0], 'key', KEY_CHARS_MAX), str(e[1], 'digest', 64)];
      });
      if (entries.length > TOMB_KEYS_PER_MESSAGE_MAX) throw bad('too many entries');
      return { type: 'tomb-reap', entries };
    }
    default:
      throw bad(`type ${String(m.type).slice(0, 32)}`);
  }
}

function keyList(value: unknown): Key[] {
  const keys = list(value, 'keys').map((k) => str(k, 'key', KEY_CHARS_MAX));
  if (keys.length > TOMB_KEYS_PER_MESSAGE_MAX) throw bad('too many keys');
  return keys;
}

const errorReasons: ReadonlySet<string> = new Set<AeErrorReason>([
  'depth-mismatch',
  'bad-request',
  'too-large',
  'unsupported-version',
]);

/** Checks and converts a reply from a peer (the initiator side). */
export function aeReplyFromWire(value: unknown): AeEnvelopeReply {
  const m = obj(value);
  switch (m.type) {
    case 'ae-root-reply':
      if (typeof m.match !== 'boolean') throw bad('match');
      return {
        type: 'ae-root-reply',
        ...header(m),
        match: m.match,
        level: int(m.level, 'level', 64),
        hashes: bytesToWords(m.hashes),
      };
    case 'ae-nodes-reply':
      return {
        type: 'ae-nodes-reply',
        ...header(m),
        level: int(m.level, 'level', 64),
        hashes: bytesToWords(m.hashes),
      };
    case 'ae-diff-reply': {
      const keys = list(m.keys, 'keys').map((k) => str(k, 'key', KEY_CHARS_MAX));
      const next = cursor(m.next);
      const reply = {
        type: 'ae-diff-reply' as const,
        ...header(m),
        keys,
        missing: bytesToWords(m.missing),
      };
      return next === undefined ? reply : { ...reply, next };
    }
    case 'ae-error': {
      const reason = str(m.reason, 'reason', 64);
      if (!errorReasons.has(reason)) throw bad('reason');
      return {
        type: 'ae-error',
        ...header(m),
        reason: reason as AeErrorReason,
        message: str(m.message, 'message', TEXT_CHARS_MAX),
      };
    }
    case 'tomb-check-reply':
      return {
        type: 'tomb-check-reply',
        digests: list(m.digests, 'digests').map((d) => (d === null ? null : str(d, 'digest', 64))),
      };
    case 'tomb-reap-reply':
      return { type: 'tomb-reap-reply', reaped: int(m.reaped, 'reaped') };
    default:
      throw bad(`type ${String(m.type).slice(0, 32)}`);
  }
}
