import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder, FrameError } from '../../src/transport/frame-codec.ts';

/** Values msgpack carries exactly: no -0 (it becomes 0), binary as Uint8Array. */
const value = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.double({ noNaN: true }).filter((d) => !Object.is(d, -0)),
    fc.string(),
    fc.uint8Array({ maxLength: 64 }),
  ),
  node: fc.oneof(
    { depthSize: 'small' },
    tie('leaf'),
    fc.array(tie('node'), { maxLength: 5 }),
    fc.dictionary(fc.string().filter((k) => k !== '__proto__'), tie('node'), { maxKeys: 5 }),
  ),
})).node;

/** Compare with binary normalised, since Buffer and Uint8Array differ only in prototype. */
function normalise(v: unknown): unknown {
  if (v instanceof Uint8Array) return { bin: [...v] };
  if (Array.isArray(v)) return v.map(normalise);
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalise(x)]));
  }
  return v;
}

/** Split `bytes` at the given cut points (any order, any duplicates). */
function chunk(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((x, y) => x - y);
  const chunks: Buffer[] = [];
  let at = 0;
  for (const p of points) {
    chunks.push(bytes.subarray(at, p));
    at = p;
  }
  chunks.push(bytes.subarray(at));
  return chunks;
}

describe('frame codec', () => {
  it('round-trips any messages, however the stream is chunked', () => {
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 20 }), (messages, cuts) => {
        const stream = Buffer.concat(messages.map((m) => encodeFrame(m)));
        const decoder = new FrameDecoder();
        const out = chunk(stream, cuts).flatMap((c) => decoder.push(c));
        expect(out.map(normalise)).toEqual(messages.map(normalise));
        expect(decoder.pendingBytes).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('arbitrary bytes either decode or raise FrameError, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(), { maxLength: 5 }), (bytes, cuts) => {
        const decoder = new FrameDecoder({ maxFrameBytes: 1024 });
        try {
          for (const c of chunk(Buffer.from(bytes), cuts)) decoder.push(c);
        } catch (e) {
          expect(e).toBeInstanceOf(FrameError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('well-framed garbage payloads decode or raise FrameError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 100 }), (payload) => {
        const header = Buffer.alloc(4);
        header.writeUInt32BE(payload.length);
        try {
          new FrameDecoder().push(Buffer.concat([header, payload]));
        } catch (e) {
          expect(e).toBeInstanceOf(FrameError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('returns binary values as Uint8Array and drops undefined properties', () => {
    const [m] = new FrameDecoder().push(encodeFrame({ a: undefined, b: new Uint8Array([1, 2]), c: [undefined, 1] }));
    expect(m).not.toHaveProperty('a');
    const { b, c } = m as { b: Uint8Array; c: unknown[] };
    expect(b).toBeInstanceOf(Uint8Array);
    expect([...b]).toEqual([1, 2]);
    expect(c).toEqual([undefined, 1]);
  });

  it('decodes a Map as a plain object', () => {
    const [m] = new FrameDecoder().push(encodeFrame({ m: new Map([['k', 1]]) }));
    expect(m).toEqual({ m: { k: 1 } });
  });

  it('copies binary values out of the input chunk, nested ones too', () => {
    const frame = Buffer.from(encodeFrame({ b: new Uint8Array([7, 7, 7]), s: [['k', { v: new Uint8Array([5, 6]) }]] }));
    const [m] = new FrameDecoder().push(frame) as [{ b: Uint8Array; s: [[string, { v: Uint8Array }]] }];
    frame.fill(0);
    expect([...m.b]).toEqual([7, 7, 7]);
    expect([...m.s[0][1].v]).toEqual([5, 6]);
  });

  it('rejects a frame longer than maxFrameBytes from its header alone', () => {
    const decoder = new FrameDecoder({ maxFrameBytes: 100 });
    expect(() => decoder.push(Buffer.from([0, 0, 0, 101]))).toThrow(FrameError);
    // The stream has lost its framing: the decoder stays failed.
    expect(() => decoder.push(encodeFrame({ ok: true }))).toThrow(FrameError);
  });

  it('accepts a frame of exactly maxFrameBytes, and encodeFrame refuses a bigger one', () => {
    const frame = encodeFrame({ b: new Uint8Array(90) });
    const payloadBytes = frame.length - 4;
    expect(new FrameDecoder({ maxFrameBytes: payloadBytes }).push(frame)).toHaveLength(1);
    expect(() => encodeFrame({ b: new Uint8Array(90) }, payloadBytes - 1)).toThrow(FrameError);
  });

  it('rejects the reserved byte 0xc1 and trailing bytes inside a frame', () => {
    expect(() => new FrameDecoder().push(Buffer.from([0, 0, 0, 1, 0xc1]))).toThrow(FrameError);
    expect(() => new FrameDecoder().push(Buffer.from([0, 0, 0, 2, 0x01, 0x02]))).toThrow(FrameError);
  });

  it('reassembles a large frame split into many small chunks', () => {
    const frame = encodeFrame({ b: new Uint8Array(4 * 1024 * 1024) });
    const decoder = new FrameDecoder();
    const out: unknown[] = [];
    for (let at = 0; at < frame.length; at += 1024) out.push(...decoder.push(frame.subarray(at, at + 1024)));
    expect(out).toHaveLength(1);
    expect((out[0] as { b: Uint8Array }).b.length).toBe(4 * 1024 * 1024);
  });
});
