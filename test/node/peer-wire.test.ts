import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { validatePeerMessage, type PeerMessage } from '../../src/node/peer-messages.ts';
import { decodeHotPayload, encodeHotFrame } from '../../src/node/peer-wire.ts';
import { encodeFrame, FrameDecoder, FrameError } from '../../src/transport/frame-codec.ts';
import { TcpTransport } from '../../src/transport/tcp-transport.ts';

/** The four hot messages in their binary layouts (peer-wire.ts), against msgpack as the reference. */

const binaryDecoder = (): FrameDecoder => new FrameDecoder({ decodeBinary: decodeHotPayload });
const throughMsgpack = (m: PeerMessage): unknown => new FrameDecoder().push(encodeFrame(m))[0];

function hotFrame(m: PeerMessage): Buffer {
  const frame = encodeHotFrame(m);
  if (frame === null) throw new Error(`no binary layout for ${JSON.stringify(m)}`);
  return frame;
}

const id = fc.integer({ min: 0, max: 2 ** 48 - 1 });
const key = fc.string({ unit: 'grapheme', maxLength: 40 });
const hint = fc.constantFrom('n1', 'n2', 'node-7');
const rec = fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b));
const hotMessage: fc.Arbitrary<PeerMessage> = fc.oneof(
  fc.record(
    { t: fc.constant('get' as const), id, key, hint, view: fc.constant(true as const) },
    { requiredKeys: ['t', 'id', 'key'] },
  ),
  fc.record({ t: fc.constant('get-r' as const), id, rec: fc.option(rec, { nil: null }) }),
  fc.record(
    { t: fc.constant('put' as const), id, key, rec, ack: fc.boolean(), hint },
    { requiredKeys: ['t', 'id', 'key', 'rec', 'ack'] },
  ),
  fc.record({ t: fc.constant('put-r' as const), id }),
);

describe('peer wire: binary layouts of get, get-r, put, put-r', () => {
  it('decode to exactly what msgpack decodes, and pass the same validation', () => {
    fc.assert(
      fc.property(hotMessage, (m) => {
        const [decoded, ...rest] = binaryDecoder().push(hotFrame(m));
        expect(rest).toEqual([]);
        expect(decoded).toEqual(throughMsgpack(m));
        expect(validatePeerMessage(decoded)).toBe(decoded);
      }),
      { numRuns: 500 },
    );
  });

  it('mix with msgpack frames in one stream, split at any byte', () => {
    fc.assert(
      fc.property(
        fc.array(hotMessage, { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 64 }),
        (messages, cut) => {
          // Every other message goes as msgpack, as a gossip or an error reply would.
          const frames = messages.map((m, i) => (i % 2 === 0 ? hotFrame(m) : encodeFrame(m)));
          const stream = Buffer.concat(frames);
          const decoder = binaryDecoder();
          const got: unknown[] = [];
          for (let at = 0; at < stream.length; at += cut)
            got.push(...decoder.push(stream.subarray(at, at + cut)));
          expect(got).toEqual(messages.map(throughMsgpack));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('copy record bytes out of the chunk they arrived in', () => {
    const chunk = hotFrame({ t: 'put', id: 7, key: 'k', rec: Buffer.from([1, 2, 3]), ack: true });
    const [m] = binaryDecoder().push(chunk) as [PeerMessage & { rec: Uint8Array }];
    chunk.fill(0);
    expect([...m.rec]).toEqual([1, 2, 3]);
  });

  it('leave to msgpack what the layouts do not carry', () => {
    const r = Buffer.from([1]);
    const left: PeerMessage[] = [
      { t: 'get', id: 1, key: 'k', view: true, dots: [['n1', 2]] },
      { t: 'get-r', id: 1, rec: null, err: { code: 'KV_UNAVAILABLE', message: 'x' } },
      { t: 'put-r', id: 1, err: { code: 'KV_INTERNAL', message: 'x' } },
      { t: 'get', id: -1, key: 'k' },
      { t: 'put-r', id: 2 ** 48 },
      { t: 'get-r', id: 1.5, rec: r },
      { t: 'get', id: 1, key: 'lone \ud800 surrogate' },
      { t: 'put', id: 1, key: 'x'.repeat(65_536), rec: r, ack: true },
      { t: 'get', id: 1, key: 'k', hint: 'h'.repeat(256) },
      { t: 'gossip', view: { epoch: 1 } as never },
      { t: 'list', id: 1, prefix: '', limit: 10 },
    ];
    for (const m of left) expect(encodeHotFrame(m), JSON.stringify(m).slice(0, 80)).toBeNull();
    // At the bounds they still fit.
    expect(
      encodeHotFrame({
        t: 'put',
        id: 2 ** 48 - 1,
        key: 'x'.repeat(65_535),
        rec: r,
        ack: false,
        hint: 'h'.repeat(255),
      }),
    ).not.toBeNull();
  });

  it('reject every truncation, unknown type or flag, and trailing bytes with FrameError', () => {
    const valid: PeerMessage[] = [
      { t: 'get', id: 3, key: 'key', hint: 'n2', view: true },
      { t: 'get', id: 3, key: 'key' },
      { t: 'get-r', id: 3, rec: null },
      { t: 'put', id: 3, key: 'key', rec: Buffer.from([9]), ack: true, hint: 'n2' },
      { t: 'put-r', id: 3 },
    ];
    const payloadOf = (m: PeerMessage): Buffer => hotFrame(m).subarray(4);
    const bad: Buffer[] = [];
    for (const m of valid) {
      const p = payloadOf(m);
      // A put's record runs to the end, so cutting into it leaves a valid (shorter) record.
      const cutsUpTo = m.t === 'put' ? p.length - 1 : p.length;
      for (let n = 0; n < cutsUpTo; n++) bad.push(p.subarray(0, n));
      if (m.t !== 'put') bad.push(Buffer.concat([p, Buffer.from([0])]));
    }
    const unknownType = Buffer.from(payloadOf(valid[4]!));
    unknownType[1] = 9;
    const unknownFlag = Buffer.from(payloadOf(valid[0]!));
    unknownFlag[8] = unknownFlag[8]! | 0x80;
    const keyPastEnd = Buffer.from(payloadOf(valid[1]!));
    keyPastEnd.writeUInt16BE(200, 9);
    bad.push(unknownType, unknownFlag, keyPastEnd);
    for (const p of bad) {
      if (p.length === 0) continue; // the frame decoder refuses empty frames before this
      expect(() => decodeHotPayload(p, 0, p.length), p.toString('hex')).toThrow(FrameError);
    }
  });

  it('are garbage to a decoder without the binary layouts', () => {
    expect(() => new FrameDecoder().push(hotFrame({ t: 'put-r', id: 1 }))).toThrow(FrameError);
  });
});

describe('peer wire through TcpTransport', () => {
  const open: TcpTransport<PeerMessage>[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((t) => t.close()));
  });

  it('refuses to send a binary frame over maxFrameBytes, as it does a msgpack one', async () => {
    const events: string[] = [];
    const a = new TcpTransport<PeerMessage>({
      self: 'a',
      host: '127.0.0.1',
      port: 0,
      validate: validatePeerMessage,
      maxFrameBytes: 1024,
      binary: { encode: encodeHotFrame, decode: decodeHotPayload },
      onEvent: (e) => events.push(e.type === 'unsendable' ? `unsendable: ${e.reason}` : e.type),
    });
    const b = new TcpTransport<PeerMessage>({
      self: 'b',
      host: '127.0.0.1',
      port: 0,
      validate: validatePeerMessage,
    });
    open.push(a, b);
    a.setPeer('b', await b.listen());
    expect(a.send('b', { t: 'put', id: 1, key: 'k', rec: Buffer.alloc(2000), ack: true })).toBe(
      false,
    );
    expect(a.send('b', { t: 'put', id: 2, key: 'k', rec: Buffer.alloc(900), ack: true })).toBe(
      true,
    );
    expect(events.filter((e) => e.startsWith('unsendable'))).toEqual([
      expect.stringMatching(/exceeds maxFrameBytes 1024/),
    ]);
  });

  it('delivers hot and msgpack messages in order, validated', async () => {
    const make = (self: string): TcpTransport<PeerMessage> => {
      const t = new TcpTransport<PeerMessage>({
        self,
        host: '127.0.0.1',
        port: 0,
        validate: validatePeerMessage,
        binary: { encode: encodeHotFrame, decode: decodeHotPayload },
      });
      open.push(t);
      return t;
    };
    const a = make('a');
    const b = make('b');
    const got: PeerMessage[] = [];
    b.onMessage((from, m) => {
      expect(from).toBe('a');
      got.push(m);
    });
    a.setPeer('b', await b.listen());
    b.setPeer('a', await a.listen());
    const sent: PeerMessage[] = [
      { t: 'get', id: 1, key: 'users/ünïcödé', view: true },
      { t: 'get-r', id: 2, rec: Buffer.from('stored bytes') },
      { t: 'list', id: 3, prefix: 'users/', limit: 5 },
      { t: 'put', id: 4, key: 'k', rec: Buffer.alloc(70_000, 1), ack: true, hint: 'n3' },
      { t: 'put-r', id: 5, err: { code: 'KV_INTERNAL', message: 'disk full' } },
      { t: 'put-r', id: 6 },
    ];
    for (const m of sent) expect(a.send('b', m)).toBe(true);
    const deadline = Date.now() + 10_000;
    while (got.length < sent.length && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    expect(got).toEqual(sent.map(throughMsgpack));
  });
});
