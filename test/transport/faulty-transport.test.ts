import { describe, expect, it } from 'vitest';
import { KvError } from '../../src/core/errors.ts';
import { FaultyTransport, parseFaultSpec, type FaultSpec } from '../../src/transport/faulty-transport.ts';
import { MemoryNetwork, type MemoryTransport } from '../../src/transport/memory-transport.ts';
import { inbox, waitFor, type TestMsg } from './contract.ts';

const nowhere = { host: 'memory', port: 0 };

/** A manual clock: timers fire only when the test advances time. */
class FakeScheduler {
  private nowMs = 0;
  private timers: { atMs: number; fn: () => void; id: number }[] = [];
  private nextId = 0;
  cancelled = 0;
  schedule = (fn: () => void, ms: number): unknown => {
    const id = this.nextId++;
    this.timers.push({ atMs: this.nowMs + ms, fn, id });
    return id;
  };
  cancel = (handle: unknown): void => {
    const before = this.timers.length;
    this.timers = this.timers.filter((t) => t.id !== handle);
    this.cancelled += before - this.timers.length;
  };
  advance(ms: number): void {
    this.nowMs += ms;
    for (;;) {
      const due = this.timers.filter((t) => t.atMs <= this.nowMs).sort((x, y) => x.atMs - y.atMs || x.id - y.id)[0];
      if (due === undefined) return;
      this.timers = this.timers.filter((t) => t !== due);
      due.fn();
    }
  }
}

/** mulberry32: a tiny seeded generator, so drops replay exactly. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** a (faulty), b and c (plain) on one memory network, all knowing each other. */
function setup(random: () => number = seeded(1)) {
  const net = new MemoryNetwork<TestMsg>();
  const ends: MemoryTransport<TestMsg>[] = ['a', 'b', 'c'].map((id) => net.endpoint(id));
  for (const x of ends) for (const y of ends) if (x !== y) x.setPeer(y.self, nowhere);
  const clock = new FakeScheduler();
  const a = new FaultyTransport(ends[0]!, { schedule: clock.schedule, cancel: clock.cancel, random });
  const [, b, c] = ends as [unknown, MemoryTransport<TestMsg>, MemoryTransport<TestMsg>];
  // Deliveries are FIFO network-wide: once a marker to z arrives, everything sent earlier has.
  const z = net.endpoint('z');
  c.setPeer('z', nowhere);
  const markers = inbox(z);
  const settle = async (): Promise<void> => {
    const before = markers.length;
    c.send('z', { kind: 'ping', seq: -1 });
    await waitFor(() => markers.length > before, 'marker');
  };
  return { net, a, b, c, clock, settle };
}

const ping = (seq: number): TestMsg => ({ kind: 'ping', seq });

describe('FaultyTransport', () => {
  it('passes everything through when there are no faults', async () => {
    const { a, b } = setup();
    const got = inbox(b);
    expect(a.send('b', ping(1))).toBe(true);
    await waitFor(() => got.length === 1, 'delivery');
    expect(a.faults()).toEqual({});
  });

  it('isolate drops outgoing messages silently: send still returns true', async () => {
    const { a, b, settle } = setup();
    a.setFaults({ isolate: ['b'] });
    const got = inbox(b);
    expect(a.send('b', ping(1))).toBe(true);
    await settle();
    expect(got).toEqual([]);
  });

  it('isolate drops incoming messages from that peer only', async () => {
    const { a, b, c } = setup();
    a.setFaults({ isolate: ['b'] });
    const got = inbox(a);
    b.send('a', ping(1));
    c.send('a', ping(2));
    await waitFor(() => got.length === 1, 'c to get through');
    expect(got).toEqual([{ from: 'c', message: ping(2) }]);
  });

  it('clearFaults heals an isolation', async () => {
    const { a, b } = setup();
    a.setFaults({ isolate: ['b'] });
    a.clearFaults();
    const got = inbox(b);
    a.send('b', ping(1));
    await waitFor(() => got.length === 1, 'delivery after heal');
  });

  it('delays outgoing messages by delayMs, in order', async () => {
    const { a, b, clock, settle } = setup();
    a.setFaults({ delayMs: { b: 100 } });
    const got = inbox(b);
    for (let seq = 0; seq < 3; seq++) expect(a.send('b', ping(seq))).toBe(true);
    clock.advance(99);
    await settle();
    expect(got).toEqual([]);
    clock.advance(1);
    await waitFor(() => got.length === 3, 'delayed messages');
    expect(got.map((g) => g.message.seq)).toEqual([0, 1, 2]);
  });

  it('keeps order per peer when the delay shrinks meanwhile', async () => {
    const { a, b, clock, settle } = setup();
    const got = inbox(b);
    a.setFaults({ delayMs: { b: 100 } });
    a.send('b', ping(1));
    a.setFaults({ delayMs: { b: 10 } });
    a.send('b', ping(2));
    a.clearFaults();
    a.send('b', ping(3)); // no delay, but must wait behind the held ones
    clock.advance(10);
    await settle();
    expect(got).toEqual([]);
    clock.advance(90);
    await waitFor(() => got.length === 3, 'all three');
    expect(got.map((g) => g.message.seq)).toEqual([1, 2, 3]);
  });

  it('delays incoming messages too', async () => {
    const { a, b, c, clock } = setup();
    a.setFaults({ delayMs: { b: 50 } });
    const got = inbox(a);
    b.send('a', ping(1));
    c.send('a', ping(2));
    await waitFor(() => got.length === 1, 'the undelayed message');
    expect(got[0]!.from).toBe('c');
    clock.advance(50);
    expect(got.map((g) => g.from)).toEqual(['c', 'b']);
  });

  it('dropRate drops exactly what the seeded random says, both directions', async () => {
    const count = 400;
    const expected = (() => {
      const r = seeded(42);
      let kept = 0;
      for (let i = 0; i < count; i++) if (r() >= 0.3) kept++;
      return kept;
    })();
    const { a, b, settle } = setup(seeded(42));
    a.setFaults({ dropRate: 0.3 });
    const gotB = inbox(b);
    for (let seq = 0; seq < count; seq++) expect(a.send('b', ping(seq))).toBe(true);
    await settle();
    const fromA = gotB;
    expect(fromA.length).toBe(expected);
    expect(expected).toBeGreaterThan(0);
    expect(expected).toBeLessThan(count);

    const { a: a2, b: b2 } = setup(seeded(42));
    a2.setFaults({ dropRate: 0.3 });
    const gotA = inbox(a2);
    for (let seq = 0; seq < count; seq++) b2.send('a', ping(seq));
    b2.send('a', ping(count)); // the last one may be dropped; wait for a's inner side instead
    await waitFor(() => gotA.some((g) => g.message.seq >= count - 20), 'the tail of the stream');
    expect(gotA.filter((g) => g.message.seq < count).length).toBe(expected);
  });

  it('an unreachable peer still fails fast; an isolated one looks like silence', async () => {
    const { net, a } = setup();
    net.setDown('b', true);
    expect(a.send('b', ping(1))).toBe(false);
    a.setFaults({ isolate: ['b'] });
    expect(a.send('b', ping(2))).toBe(true);
  });

  it('close cancels held messages', async () => {
    const { a, b, clock, settle } = setup();
    a.setFaults({ delayMs: { b: 10 } });
    const got = inbox(b);
    a.send('b', ping(1));
    await a.close();
    expect(clock.cancelled).toBe(1);
    clock.advance(10);
    await settle();
    expect(got).toEqual([]);
  });

  it('a node named like an Object.prototype member has no phantom delay', async () => {
    const net = new MemoryNetwork<TestMsg>();
    const x = net.endpoint('x');
    const ctor = net.endpoint('constructor');
    x.setPeer('constructor', nowhere);
    const clock = new FakeScheduler();
    const faulty = new FaultyTransport(x, { schedule: clock.schedule, random: seeded(1) });
    faulty.setFaults({ delayMs: { y: 5 } });
    const got = inbox(ctor);
    faulty.send('constructor', ping(1));
    await waitFor(() => got.length === 1, 'undelayed delivery');
  });
});

describe('parseFaultSpec', () => {
  it('accepts the documented shape', () => {
    const spec: FaultSpec = { isolate: ['n2'], delayMs: { n3: 80 }, dropRate: 0.1 };
    expect(parseFaultSpec(JSON.parse(JSON.stringify(spec)))).toEqual(spec);
    expect(parseFaultSpec({})).toEqual({});
    expect(parseFaultSpec({ isolate: ['n2', 'n2'] })).toEqual({ isolate: ['n2'] });
  });

  it.each([
    ['not an object', 'isolate'],
    ['null', null],
    ['an array', []],
    ['an unknown field', { isolate: [], partition: true }],
    ['isolate not an array', { isolate: 'n2' }],
    ['a bad node id', { isolate: ['../n2'] }],
    ['a __proto__ node id', JSON.parse('{"delayMs":{"__proto__":5}}')],
    ['a negative delay', { delayMs: { n2: -1 } }],
    ['a huge delay', { delayMs: { n2: 60_001 } }],
    ['a non-number delay', { delayMs: { n2: '80' } }],
    ['delayMs an array', { delayMs: [1] }],
    ['dropRate above 1', { dropRate: 1.5 }],
    ['dropRate below 0', { dropRate: -0.1 }],
    ['dropRate NaN', { dropRate: Number.NaN }],
    ['dropRate a string', { dropRate: '0.5' }],
  ])('rejects %s with KV_BAD_REQUEST', (_, value) => {
    let error: unknown;
    try {
      parseFaultSpec(value);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KvError);
    expect((error as KvError).code).toBe('KV_BAD_REQUEST');
  });
});

describe('per-link loss', () => {
  it('[FI2] dropRateByPeer drops only that link, and overrides dropRate', async () => {
    expect(parseFaultSpec({ dropRateByPeer: { n2: 0.5 } })).toEqual({ dropRateByPeer: { n2: 0.5 } });
    expect(() => parseFaultSpec({ dropRateByPeer: { n2: 2 } })).toThrow();
    expect(() => parseFaultSpec({ dropRateByPeer: [] })).toThrow();
    const net = new MemoryNetwork<{ n: number }>();
    const a = net.endpoint('n1');
    const b = net.endpoint('n2');
    const c = net.endpoint('n3');
    for (const [x, ys] of [[a, ['n2', 'n3']], [b, ['n1']], [c, ['n1']]] as const) for (const y of ys) x.setPeer(y, { host: 'mem', port: 1 });
    const fa = new FaultyTransport(a, { schedule: (fn) => setTimeout(fn, 0), random: () => 0.5 });
    fa.setFaults({ dropRate: 0, dropRateByPeer: { n2: 1 } });
    let toB = 0;
    let toC = 0;
    b.onMessage(() => toB++);
    c.onMessage(() => toC++);
    for (let i = 0; i < 20; i++) {
      fa.send('n2', { n: i });
      fa.send('n3', { n: i });
    }
    await waitFor(() => toC === 20, 'twenty messages to n3');
    expect(toB).toBe(0);
    await Promise.all([fa.close(), b.close(), c.close()]);
  });
});
