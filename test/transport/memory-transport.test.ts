import { describe, expect, it } from 'vitest';
import { MemoryNetwork } from '../../src/transport/memory-transport.ts';
import { inbox, transportContract, waitFor, type TestMsg } from './contract.ts';

const nowhere = { host: 'memory', port: 0 };

transportContract('memory', async () => {
  const net = new MemoryNetwork<TestMsg>();
  const a = net.endpoint('a');
  const b = net.endpoint('b');
  a.setPeer('b', nowhere);
  b.setPeer('a', nowhere);
  return { a, b, cleanup: async () => void (await Promise.all([a.close(), b.close()])) };
});

describe('MemoryNetwork', () => {
  it('delivers asynchronously, never inside send', async () => {
    const net = new MemoryNetwork<TestMsg>();
    const a = net.endpoint('a');
    const b = net.endpoint('b');
    a.setPeer('b', nowhere);
    const got = inbox(b);
    a.send('b', { kind: 'ping', seq: 0 });
    expect(got).toHaveLength(0);
    await waitFor(() => got.length === 1, 'delivery');
  });

  it('copies messages, so sender and receiver share no objects', async () => {
    const net = new MemoryNetwork<TestMsg>();
    const a = net.endpoint('a');
    const b = net.endpoint('b');
    a.setPeer('b', nowhere);
    const got = inbox(b);
    const sent: TestMsg = { kind: 'ping', seq: 1, data: new Uint8Array([1, 2, 3]) };
    a.send('b', sent);
    sent.seq = 2;
    sent.data![0] = 9;
    await waitFor(() => got.length === 1, 'delivery');
    expect(got[0]!.message.seq).toBe(1);
    expect([...got[0]!.message.data!]).toEqual([1, 2, 3]);
    expect(got[0]!.message).not.toBe(sent);
  });

  it('a down node neither sends nor receives, and loses what was in flight', async () => {
    const net = new MemoryNetwork<TestMsg>();
    const a = net.endpoint('a');
    const b = net.endpoint('b');
    a.setPeer('b', nowhere);
    b.setPeer('a', nowhere);
    const gotB = inbox(b);
    a.send('b', { kind: 'ping', seq: 0 });
    net.setDown('b', true);
    expect(a.send('b', { kind: 'ping', seq: 1 })).toBe(false);
    expect(b.send('a', { kind: 'ping', seq: 2 })).toBe(false);
    expect(a.isReachable('b')).toBe(false);
    net.setDown('b', false);
    expect(a.send('b', { kind: 'ping', seq: 3 })).toBe(true);
    await waitFor(() => gotB.length >= 1, 'delivery after revival');
    // seq 0 was in flight while b was down, but b came back before delivery: it arrives.
    // Order is preserved regardless.
    expect(gotB.map((g) => g.message.seq)).toEqual([0, 3]);
  });

  it('drops messages in flight to a node that is down at delivery time', async () => {
    const net = new MemoryNetwork<TestMsg>();
    const a = net.endpoint('a');
    const b = net.endpoint('b');
    a.setPeer('b', nowhere);
    const gotB = inbox(b);
    a.send('b', { kind: 'ping', seq: 0 });
    net.setDown('b', true);
    const gotA = inbox(a);
    // A marker sent between two other nodes shows the in-flight batch has been processed.
    const c = net.endpoint('c');
    c.setPeer('a', nowhere);
    c.send('a', { kind: 'ping', seq: 99 });
    await waitFor(() => gotA.length === 1, 'marker');
    expect(gotB).toHaveLength(0);
  });

  it('a closed endpoint id can be opened again (a restart)', async () => {
    const net = new MemoryNetwork<TestMsg>();
    const a = net.endpoint('a');
    expect(() => net.endpoint('a')).toThrow();
    await a.close();
    expect(net.endpoint('a').self).toBe('a');
  });
});
