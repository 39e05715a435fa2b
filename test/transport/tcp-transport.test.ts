import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { NodeId, PeerAddress } from '../../src/core/types.ts';
import { encodeFrame } from '../../src/transport/frame-codec.ts';
import { PEER_PROTOCOL } from '../../src/transport/handshake.ts';
import { TcpTransport, type TcpTransportOptions } from '../../src/transport/tcp-transport.ts';
import type { TransportEvent } from '../../src/transport/transport-event.ts';
import { inbox, transportContract, validateTestMsg, waitFor, type TestMsg } from './contract.ts';

const HOST = '127.0.0.1';

interface TestNode {
  t: TcpTransport<TestMsg>;
  address: PeerAddress;
  events: TransportEvent[];
}

type Extra = Partial<Omit<TcpTransportOptions<TestMsg>, 'self' | 'host' | 'validate' | 'onEvent'>>;

async function startNode(id: NodeId, extra: Extra = {}, opened: TestNode[] = live): Promise<TestNode> {
  const events: TransportEvent[] = [];
  const t = new TcpTransport<TestMsg>({
    self: id,
    host: HOST,
    port: 0,
    validate: validateTestMsg,
    reconnectDelayMsMin: 10,
    reconnectDelayMsMax: 100,
    onEvent: (e) => events.push(e),
    ...extra,
  });
  const address = await t.listen();
  const node = { t, address, events };
  opened.push(node);
  return node;
}

/** Two nodes that know each other. */
async function startPair(extra: Extra = {}): Promise<[TestNode, TestNode]> {
  const a = await startNode('a', extra);
  const b = await startNode('b', extra);
  a.t.setPeer('b', b.address);
  b.t.setPeer('a', a.address);
  return [a, b];
}

/** Proves a pair still works both ways. */
async function exchange(a: TestNode, b: TestNode, seq: number): Promise<void> {
  const gotA = inbox(a.t);
  const gotB = inbox(b.t);
  await waitFor(() => a.t.send('b', { kind: 'ping', seq }) && gotB.length > 0, 'a to reach b');
  await waitFor(() => b.t.send('a', { kind: 'pong', seq }) && gotA.length > 0, 'b to reach a');
  expect(gotB[0]).toEqual({ from: 'a', message: { kind: 'ping', seq } });
  expect(gotA[0]).toEqual({ from: 'b', message: { kind: 'pong', seq } });
}

async function rawSocket(address: PeerAddress): Promise<Socket> {
  const socket = connect(address.port, address.host);
  sockets.push(socket);
  await once(socket, 'connect');
  return socket;
}

/** A port nothing listens on: bind one, then close it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, HOST);
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let live: TestNode[] = [];
let sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(live.map((n) => n.t.close()));
  live = [];
  sockets = [];
});

transportContract('tcp', async () => {
  const nodes: TestNode[] = [];
  const a = await startNode('a', {}, nodes);
  const b = await startNode('b', {}, nodes);
  a.t.setPeer('b', b.address);
  b.t.setPeer('a', a.address);
  return { a: a.t, b: b.t, cleanup: async () => void (await Promise.all(nodes.map((n) => n.t.close()))) };
});

describe('TcpTransport', () => {
  it('listen() reports the ephemeral port actually bound', async () => {
    const a = await startNode('a');
    expect(a.address.host).toBe(HOST);
    expect(a.address.port).toBeGreaterThan(0);
  });

  it('reconnects after the peer restarts on the same port', async () => {
    const [a, b] = await startPair();
    await exchange(a, b, 1);
    await b.t.close();
    await waitFor(() => !a.t.isReachable('b'), 'a to notice b is gone');
    expect(a.events.some((e) => e.type === 'disconnected' && e.peer === 'b')).toBe(true);
    const b2 = await startNode('b', { port: b.address.port });
    b2.t.setPeer('a', a.address);
    await exchange(a, b2, 2);
  });

  it('send returns false once the peer port refuses connections', async () => {
    const a = await startNode('a');
    a.t.setPeer('x', { host: HOST, port: await closedPort() });
    await waitFor(() => !a.t.isReachable('x'), 'x to be unreachable');
    expect(a.t.send('x', { kind: 'ping', seq: 0 })).toBe(false);
    const failure = a.events.find((e) => e.type === 'disconnected' && e.peer === 'x');
    expect(failure).toMatchObject({ direction: 'outbound', reason: expect.stringContaining('ECONNREFUSED') });
  });

  const garbage: [string, (s: Socket) => void][] = [
    ['a length over the bound', (s) => s.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]))],
    ['an empty frame', (s) => s.write(Buffer.from([0, 0, 0, 0]))],
    ['undecodable msgpack as hello', (s) => s.write(Buffer.from([0, 0, 0, 2, 0x92, 0x01]))],
    [
      'undecodable msgpack after a valid hello',
      (s) => s.write(Buffer.concat([encodeFrame({ protocol: PEER_PROTOCOL, from: 'm' }), Buffer.from([0, 0, 0, 1, 0xc1])])),
    ],
  ];
  it.each(garbage)('garbage (%s) closes that connection and nothing else', async (_, write) => {
    const [a, b] = await startPair();
    await exchange(a, b, 1);
    const raw = await rawSocket(b.address);
    const closed = once(raw, 'close');
    write(raw);
    await closed;
    expect(b.events.some((e) => e.type === 'bad-frame' && e.peer !== 'a')).toBe(true);
    await exchange(a, b, 2);
    expect(a.events.filter((e) => e.type === 'disconnected')).toEqual([]);
    expect(b.events.filter((e) => e.type === 'disconnected' && e.peer === 'a')).toEqual([]);
  });

  it('a message failing validate closes only that connection', async () => {
    const [a, b] = await startPair();
    const gotB = inbox(b.t);
    const raw = await rawSocket(b.address);
    const closed = once(raw, 'close');
    raw.write(encodeFrame({ protocol: PEER_PROTOCOL, from: 'mallory' }));
    raw.write(encodeFrame({ kind: 'ping', seq: 7 })); // valid: delivered
    raw.write(encodeFrame({ kind: 'bogus', seq: 8 }));
    raw.write(encodeFrame({ kind: 'ping', seq: 9 })); // after the bad one: never delivered
    await closed;
    expect(gotB.map((g) => [g.from, g.message.seq])).toEqual([['mallory', 7]]);
    expect(b.events).toContainEqual(expect.objectContaining({ type: 'bad-frame', peer: 'mallory' }));
    await exchange(a, b, 1);
  });

  it('refuses a hello with an invalid node id, and one that never comes', async () => {
    const b = await startNode('b', { connectTimeoutMs: 200 });
    const bad = await rawSocket(b.address);
    const badClosed = once(bad, 'close');
    bad.write(encodeFrame({ protocol: PEER_PROTOCOL, from: '../etc' }));
    await badClosed;
    const silent = await rawSocket(b.address);
    await once(silent, 'close');
    const reasons = b.events.filter((e) => e.type === 'refused').map((e) => (e as { reason: string }).reason);
    expect(reasons).toEqual(['hello has no valid node id', 'handshake timeout']);
  });

  it('a throwing handler does not close the connection', async () => {
    const [a, b] = await startPair();
    const seen: number[] = [];
    b.t.onMessage((_, m) => {
      seen.push(m.seq);
      if (m.seq === 0) throw new Error('handler bug');
    });
    a.t.send('b', { kind: 'ping', seq: 0 });
    a.t.send('b', { kind: 'ping', seq: 1 });
    await waitFor(() => seen.length === 2, 'both messages');
    expect(b.events).toContainEqual({ type: 'handler-error', peer: 'a', reason: 'handler bug' });
  });

  it('bounds the queue while connecting: past queueMessagesMax, send returns false', async () => {
    // A server that accepts and stays silent keeps a secret-holding client waiting for its challenge.
    const server = createServer((s) => sockets.push(s));
    server.listen(0, HOST);
    await once(server, 'listening');
    try {
      const { port } = server.address() as { port: number };
      const a = await startNode('a', { clusterSecret: 's', queueMessagesMax: 10, connectTimeoutMs: 60_000 });
      a.t.setPeer('slow', { host: HOST, port });
      const accepted = Array.from({ length: 11 }, (_, seq) => a.t.send('slow', { kind: 'ping', seq }));
      expect(accepted).toEqual([...Array<boolean>(10).fill(true), false]);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('an outbound message over maxFrameBytes is not sent', async () => {
    const [a] = await startPair({ maxFrameBytes: 1024 });
    expect(a.t.send('b', { kind: 'ping', seq: 0, data: new Uint8Array(2048) })).toBe(false);
    expect(a.events).toContainEqual(expect.objectContaining({ type: 'unsendable', peer: 'b' }));
  });

  describe('cluster secret', () => {
    it('peers with the right secret exchange messages', async () => {
      const [a, b] = await startPair({ clusterSecret: 'right' });
      await exchange(a, b, 1);
    });

    it.each([
      ['a wrong secret', { clusterSecret: 'wrong' }, 'wrong cluster secret'],
      ['no secret', {}, 'hello has no proof of the cluster secret'],
    ])('a peer with %s is refused', async (_, extra: Extra, reason) => {
      const b = await startNode('b', { clusterSecret: 'right' });
      const c = await startNode('c', { ...extra, connectTimeoutMs: 200 });
      const gotB = inbox(b.t);
      c.t.setPeer('b', b.address);
      c.t.send('b', { kind: 'ping', seq: 0 });
      await waitFor(() => b.events.some((e) => e.type === 'refused'), 'refusal');
      expect(b.events).toContainEqual(expect.objectContaining({ type: 'refused', peer: 'c', reason }));
      await waitFor(() => c.events.some((e) => e.type === 'disconnected'), 'c to see the refusal');
      expect(gotB).toEqual([]);
      expect(b.events.some((e) => e.type === 'connected')).toBe(false);
    });
  });

  it('throughput: 200,000 small messages a → b (printed, not asserted)', async () => {
    const [a, b] = await startPair();
    await exchange(a, b, 0);
    const total = 200_000;
    let received = 0;
    b.t.onMessage(() => received++);
    const started = performance.now();
    let sent = 0;
    let accepted = 0;
    while (sent < total) {
      // Yield between slices so the queue bound is never hit and the socket can drain.
      const end = Math.min(total, sent + 5_000);
      for (; sent < end; sent++) if (a.t.send('b', { kind: 'ping', seq: sent })) accepted++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(accepted).toBe(total);
    await waitFor(() => received === total, 'all messages', 60_000);
    const seconds = (performance.now() - started) / 1000;
    console.log(`tcp throughput: ${total} messages in ${seconds.toFixed(2)} s = ${Math.round(total / seconds)} msg/s`);
  });
});
