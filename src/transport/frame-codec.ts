import { C1, Packr, RESERVE_START_SPACE, Unpackr, type Options } from 'msgpackr';

/**
 * Wire frames between nodes: a u32 big-endian payload length, then one msgpack value (or, for
 * the few messages with a fixed layout, a binary payload: BINARY_PAYLOAD_MARK).
 * docs/PROTOCOL.md describes the messages; this file only knows bytes.
 */

/** Bytes of the length prefix in front of every frame. */
export const FRAME_HEADER_BYTES = 4;

/**
 * Default bound on one frame's payload. Large enough for a value at the size limit plus its
 * siblings and metadata; small enough that a garbage length cannot make us buffer gigabytes.
 */
export const MAX_FRAME_BYTES_DEFAULT = 16 * 1024 * 1024;

/**
 * First byte of a payload that is not msgpack but a fixed binary layout (src/node/peer-wire.ts
 * for the hot peer messages). 0xc1 is the one byte msgpack never uses, so no msgpack payload
 * starts with it. A decoder given no `decodeBinary` treats such a payload as garbage.
 */
export const BINARY_PAYLOAD_MARK = 0xc1;

/** Decodes one binary payload `src[start, end)`; throws FrameError when it is not valid. */
export type BinaryPayloadDecoder = (src: Buffer, start: number, end: number) => unknown;

/** Raised for any byte sequence that is not a valid frame; never any other exception. */
export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

/**
 * Plain msgpack, chosen option by option:
 * - `useRecords: false`: no msgpackr record extension, so every frame stands alone and any
 *   msgpack decoder can read it.
 * - `skipValues: [undefined]`: an object property set to `undefined` is left out, so it comes
 *   back absent, which is what optional fields mean under `exactOptionalPropertyTypes`.
 *   (A bare `undefined`, e.g. an array element, uses msgpackr's undefined marker and round-trips.)
 * - `mapsAsObjects: true`: msgpack maps decode to plain objects (a `Map` therefore comes back
 *   as an object with string keys; messages should use plain objects).
 * - binary values never alias the socket chunk they arrived in, so a small value kept in memory
 *   (a hint, a cached sibling) does not pin a 64 KiB read buffer. They are decoded as views and
 *   then copied one by one with `Buffer.from` (`ownBytes`), about 0.2 µs each. msgpackr's own
 *   `copyBuffers` copies with `Uint8Array.prototype.slice`, which is slow on a Buffer (1–4 µs
 *   alone on Node 20); decoding a `get-r` or `put` frame took 1.0–1.3 µs with it, 0.7–1.0 µs
 *   this way. They come back as `Buffer` (a `Uint8Array`).
 * - `int64AsType: 'number'`: 64-bit integers decode as numbers, like every other integer.
 */
const MSGPACK_OPTIONS: Options & { skipValues: unknown[] } = {
  useRecords: false,
  skipValues: [undefined],
  mapsAsObjects: true,
  int64AsType: 'number',
};

const packr = new Packr(MSGPACK_OPTIONS);
const unpackr = new Unpackr(MSGPACK_OPTIONS);

/** Throws FrameError when a payload of `payloadBytes` is over the bound (every frame, both ways). */
export function checkFrameBytes(payloadBytes: number, maxFrameBytes: number): void {
  if (payloadBytes > maxFrameBytes) {
    throw new FrameError(`frame of ${payloadBytes} bytes exceeds maxFrameBytes ${maxFrameBytes}`);
  }
}

/**
 * Encode one message as a whole frame. The payload is written straight after 4 reserved
 * bytes of msgpackr's pooled buffer, so the frame costs no extra copy.
 */
export function encodeFrame(message: unknown, maxFrameBytes: number = MAX_FRAME_BYTES_DEFAULT): Buffer {
  const frame = packr.pack(message, RESERVE_START_SPACE | FRAME_HEADER_BYTES);
  const payloadBytes = frame.length - FRAME_HEADER_BYTES;
  checkFrameBytes(payloadBytes, maxFrameBytes);
  frame.writeUInt32BE(payloadBytes, 0);
  return frame;
}

/**
 * Replaces every binary value inside a decoded message by a copy of its own, in place. Decoded
 * values are fresh plain objects and arrays, so nothing outside is touched. Nesting is bounded by
 * the decoder's; a stack overflow here is caught like a decoding error.
 */
function ownBytes(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = ownBytes(value[i]);
    return value;
  }
  const fields = value as Record<string, unknown>;
  for (const k in fields) fields[k] = ownBytes(fields[k]);
  return value;
}

/** Decode exactly one msgpack value from `source[start, end)`, or raise FrameError. */
function decodePayload(source: Buffer, start: number, end: number): unknown {
  let value: unknown;
  try {
    value = unpackr.unpack(source, { start, end });
  } catch (e) {
    // msgpackr throws plain Errors (and RangeError on absurd nesting); all mean garbage.
    throw new FrameError(`undecodable frame: ${e instanceof Error ? e.message : String(e)}`);
  }
  // 0xc1 is the one byte msgpack never uses; msgpackr returns a marker object for it.
  if (value === C1) throw new FrameError('undecodable frame: reserved byte 0xc1');
  try {
    return ownBytes(value);
  } catch (e) {
    throw new FrameError(`undecodable frame: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * Streaming frame decoder: push socket chunks, get whole messages. Frames may be split across
 * chunks and many frames may share one. Each byte is copied at most once (only when a frame
 * spans chunks), so buffering is linear, never quadratic. After a FrameError the decoder stays
 * failed: the stream has lost its framing and its connection must be closed.
 */
export class FrameDecoder {
  private readonly maxFrameBytes: number;
  /** Unconsumed chunks; the first is consumed from `offset`. */
  private chunks: Buffer[] = [];
  private offset = 0;
  private bufferedBytes = 0;
  /** Payload length of the frame whose header was read, or -1 while awaiting a header. */
  private payloadBytes = -1;
  private failure: FrameError | null = null;
  private readonly decodeBinary: BinaryPayloadDecoder | null;

  constructor(options: { maxFrameBytes?: number; decodeBinary?: BinaryPayloadDecoder } = {}) {
    this.maxFrameBytes = options.maxFrameBytes ?? MAX_FRAME_BYTES_DEFAULT;
    this.decodeBinary = options.decodeBinary ?? null;
  }

  /** Bytes received but not yet returned as messages. */
  get pendingBytes(): number {
    return this.bufferedBytes;
  }

  /** Add a chunk; returns the messages it completed, in order. Throws only FrameError. */
  push(chunk: Uint8Array): unknown[] {
    if (this.failure) throw this.failure;
    const out: unknown[] = [];
    if (chunk.length === 0) return out;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    this.chunks.push(buf);
    this.bufferedBytes += buf.length;
    try {
      this.drain(out);
    } catch (e) {
      this.failure = e instanceof FrameError ? e : new FrameError(String(e));
      this.chunks = [];
      this.bufferedBytes = 0;
      throw this.failure;
    }
    return out;
  }

  private drain(out: unknown[]): void {
    for (;;) {
      if (this.payloadBytes < 0) {
        if (this.bufferedBytes < FRAME_HEADER_BYTES) return;
        const [src, at] = this.take(FRAME_HEADER_BYTES);
        const length = src.readUInt32BE(at);
        if (length === 0) throw new FrameError('empty frame');
        checkFrameBytes(length, this.maxFrameBytes);
        this.payloadBytes = length;
      }
      if (this.bufferedBytes < this.payloadBytes) return;
      const length = this.payloadBytes;
      const [src, at] = this.take(length);
      this.payloadBytes = -1;
      const decodeBinary = src[at] === BINARY_PAYLOAD_MARK ? this.decodeBinary : null;
      out.push(decodeBinary !== null ? decodeBinary(src, at, at + length) : decodePayload(src, at, at + length));
    }
  }

  /**
   * Consume `n` buffered bytes (n <= bufferedBytes). Returns a buffer and the offset they start
   * at: the first chunk itself when it holds them all (the common case), else one new buffer.
   */
  private take(n: number): [Buffer, number] {
    this.bufferedBytes -= n;
    const first = this.chunks[0]!;
    const available = first.length - this.offset;
    if (available >= n) {
      const at = this.offset;
      if (available === n) {
        this.chunks.shift();
        this.offset = 0;
      } else {
        this.offset += n;
      }
      return [first, at];
    }
    const joined = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!;
      const copied = Math.min(n - filled, chunk.length - this.offset);
      chunk.copy(joined, filled, this.offset, this.offset + copied);
      filled += copied;
      if (this.offset + copied === chunk.length) {
        this.chunks.shift();
        this.offset = 0;
      } else {
        this.offset += copied;
      }
    }
    return [joined, 0];
  }
}
