import { BINARY_PAYLOAD_MARK, FrameError, FRAME_HEADER_BYTES } from '../transport/frame-codec.ts';
import type { PeerMessage } from './peer-messages.ts';
import { isWellFormed } from '../storage/validate-ops.ts';

/**
 * Fixed binary layouts for the four messages on every client request's path: `get`, `get-r`,
 * `put` and `put-r` (issue #12). Every other message, and these four when they carry anything
 * unusual, stays msgpack (frame-codec.ts). Why: a quorum read exchanges four such frames and a
 * write four more; as msgpack each is encoded field by field and decoded into a fresh object with
 * its key strings looked up and its binary fields copied. Two TCP transports in one process, 64
 * requests in flight, traded ~325,000 `get`/`get-r` round trips a second as msgpack and ~610,000
 * in these layouts (2026-12-06; docs/BENCHMARKS.md has the cluster figures).
 *
 * A payload (after the frame's u32 length) is:
 *
 *   0xc1 · type u8 · id u48 BE · then by type:
 *   get   (1): flags u8 (1 = view, 2 = hint) · key: u16 BE length + UTF-8 · [hint: u8 length + UTF-8]
 *   get-r (2): flags u8 (1 = rec present) · [rec: the rest of the payload]
 *   put   (3): flags u8 (1 = ack, 2 = hint) · key · [hint] · rec: the rest of the payload
 *   put-r (4): nothing more
 *
 * 0xc1 is the one byte msgpack never uses, so a payload is unambiguously one or the other.
 * Sent as msgpack instead: a `get` with `dots`, a reply with `err`, an id outside 0..2^48-1, a key
 * of more than 65,535 UTF-8 bytes or not well-formed UTF-16 (it would not come back the same),
 * a hint of more than 255 bytes. Decoding yields exactly the objects msgpack would, so the
 * transport's validation and the node's handlers see no difference.
 */

const GET = 1;
const GET_R = 2;
const PUT = 3;
const PUT_R = 4;

const FLAG_VIEW = 1;
const FLAG_ACK = 1;
const FLAG_REC = 1;
const FLAG_HINT = 2;

/** Mark, type, id, flags: the bytes every layout starts with (put-r stops before the flags). */
const ID_AT = 2;
const ID_BYTES = 6;
const FLAGS_AT = ID_AT + ID_BYTES;
const BODY_AT = FLAGS_AT + 1;
const ID_MAX = 2 ** 48 - 1;
const KEY_BYTES_MAX = 0xffff;
const HINT_BYTES_MAX = 0xff;

/**
 * The whole frame (length prefix included) of `m` in its binary layout, or null when `m` is not
 * one of the four messages or carries something the layouts leave to msgpack.
 */
export function encodeHotFrame(m: PeerMessage): Buffer | null {
  switch (m.t) {
    case 'get':
      if (m.dots !== undefined) return null;
      return keyedFrame(GET, m.id, m.key, m.hint, m.view === true ? FLAG_VIEW : 0, 0);
    case 'get-r': {
      if (m.err !== undefined || !isWireId(m.id)) return null;
      const frame = start(GET_R, m.id, BODY_AT + (m.rec === null ? 0 : m.rec.length));
      frame[FRAME_HEADER_BYTES + FLAGS_AT] = m.rec === null ? 0 : FLAG_REC;
      if (m.rec !== null) frame.set(m.rec, FRAME_HEADER_BYTES + BODY_AT);
      return frame;
    }
    case 'put': {
      const frame = keyedFrame(PUT, m.id, m.key, m.hint, m.ack ? FLAG_ACK : 0, m.rec.length);
      if (frame === null) return null;
      frame.set(m.rec, frame.length - m.rec.length);
      return frame;
    }
    case 'put-r':
      return m.err !== undefined || !isWireId(m.id) ? null : start(PUT_R, m.id, FLAGS_AT);
    default:
      return null;
  }
}

/**
 * A `get` or `put` frame with its id, `flags` (plus FLAG_HINT when there is a hint), key and hint
 * written, `tailBytes` left for the caller at the end; null when the id, key or hint cannot travel.
 */
function keyedFrame(
  type: number,
  id: number,
  key: string,
  hint: string | undefined,
  flags: number,
  tailBytes: number,
): Buffer | null {
  const keyBytes = utf8Length(key, KEY_BYTES_MAX);
  const hintBytes = hint === undefined ? 0 : utf8Length(hint, HINT_BYTES_MAX);
  if (keyBytes < 0 || hintBytes < 0 || !isWireId(id)) return null;
  const hintPart = hint === undefined ? 0 : 1 + hintBytes;
  const frame = start(type, id, BODY_AT + 2 + keyBytes + hintPart + tailBytes);
  frame[FRAME_HEADER_BYTES + FLAGS_AT] = hint === undefined ? flags : flags | FLAG_HINT;
  const at = writeText(frame, FRAME_HEADER_BYTES + BODY_AT, key, keyBytes, 2);
  if (hint !== undefined) writeText(frame, at, hint, hintBytes, 1);
  return frame;
}

/**
 * Decodes the binary payload `src[startAt, end)` (its first byte is the mark) into the message
 * msgpack would have produced. Binary fields are copies: nothing aliases the socket's chunk.
 * Throws FrameError on anything that is not exactly one of the layouts.
 */
export function decodeHotPayload(src: Buffer, startAt: number, end: number): PeerMessage {
  const length = end - startAt;
  if (length < FLAGS_AT || src[startAt] !== BINARY_PAYLOAD_MARK)
    throw new FrameError('binary frame: too short');
  const type = src[startAt + 1];
  const id = src.readUIntBE(startAt + ID_AT, ID_BYTES);
  if (type === PUT_R) {
    if (length !== FLAGS_AT) throw new FrameError('binary frame: put-r has trailing bytes');
    return { t: 'put-r', id };
  }
  if (length < BODY_AT) throw new FrameError('binary frame: too short');
  const flags = src[startAt + FLAGS_AT]!;
  const body = startAt + BODY_AT;
  switch (type) {
    case GET: {
      if ((flags & ~(FLAG_VIEW | FLAG_HINT)) !== 0)
        throw new FrameError('binary frame: unknown get flags');
      const key = readText(src, body, end, 2, 'key');
      const view = (flags & FLAG_VIEW) !== 0;
      if ((flags & FLAG_HINT) === 0) {
        if (cursor !== end) throw new FrameError('binary frame: get has trailing bytes');
        return view ? { t: 'get', id, key, view: true } : { t: 'get', id, key };
      }
      const hint = readText(src, cursor, end, 1, 'hint');
      if (cursor !== end) throw new FrameError('binary frame: get has trailing bytes');
      // Hints are node ids; the transport's validation checks them like any other.
      return view ? { t: 'get', id, key, hint, view: true } : { t: 'get', id, key, hint };
    }
    case GET_R: {
      if ((flags & ~FLAG_REC) !== 0) throw new FrameError('binary frame: unknown get-r flags');
      if ((flags & FLAG_REC) === 0) {
        if (body !== end) throw new FrameError('binary frame: get-r has trailing bytes');
        return { t: 'get-r', id, rec: null };
      }
      return { t: 'get-r', id, rec: Buffer.from(src.subarray(body, end)) };
    }
    case PUT: {
      if ((flags & ~(FLAG_ACK | FLAG_HINT)) !== 0)
        throw new FrameError('binary frame: unknown put flags');
      const key = readText(src, body, end, 2, 'key');
      const ack = (flags & FLAG_ACK) !== 0;
      if ((flags & FLAG_HINT) === 0)
        return { t: 'put', id, key, rec: Buffer.from(src.subarray(cursor, end)), ack };
      const hint = readText(src, cursor, end, 1, 'hint');
      return { t: 'put', id, key, rec: Buffer.from(src.subarray(cursor, end)), ack, hint };
    }
    default:
      throw new FrameError(`binary frame: unknown type ${String(type)}`);
  }
}

function isWireId(id: number): boolean {
  return Number.isInteger(id) && id >= 0 && id <= ID_MAX;
}

/** UTF-8 bytes of `text`, or -1 when it cannot travel: over `max`, or not well-formed UTF-16. */
function utf8Length(text: string, max: number): number {
  if (!isWellFormed(text)) return -1;
  const bytes = Buffer.byteLength(text);
  return bytes <= max ? bytes : -1;
}

/** A frame of `payloadBytes` with its length, mark, type and id written. */
function start(type: number, id: number, payloadBytes: number): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payloadBytes);
  frame.writeUInt32BE(payloadBytes, 0);
  frame[FRAME_HEADER_BYTES] = BINARY_PAYLOAD_MARK;
  frame[FRAME_HEADER_BYTES + 1] = type;
  frame.writeUIntBE(id, FRAME_HEADER_BYTES + ID_AT, ID_BYTES);
  return frame;
}

/** Writes `text` (`bytes` of UTF-8) after its length in `prefixBytes` bytes; returns the end. */
function writeText(
  frame: Buffer,
  at: number,
  text: string,
  bytes: number,
  prefixBytes: number,
): number {
  frame.writeUIntBE(bytes, at, prefixBytes);
  frame.write(text, at + prefixBytes, bytes, 'utf8');
  return at + prefixBytes + bytes;
}

/** Where the last readText stopped (a module variable: no tuple per message). */
let cursor = 0;

/** Reads a text written by writeText; sets `cursor` after it. */
function readText(src: Buffer, at: number, end: number, prefixBytes: number, what: string): string {
  if (at + prefixBytes > end) throw new FrameError(`binary frame: truncated ${what}`);
  const bytes = src.readUIntBE(at, prefixBytes);
  cursor = at + prefixBytes + bytes;
  if (cursor > end) throw new FrameError(`binary frame: truncated ${what}`);
  return src.toString('utf8', at + prefixBytes, cursor);
}
