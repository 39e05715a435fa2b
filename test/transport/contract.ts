import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NodeId } from '../../src/core/types.ts';
import type { Transport } from '../../src/transport/transport.ts';

/** The message type the contract exchanges. */
export interface TestMsg {
  kind: 'ping' | 'pong';
  seq: number;
  data?: Uint8Array;
  text?: string;
}

/** A strict validator, as the node layer's would be: throws on anything else. */
export function validateTestMsg(value: unknown): TestMsg {
  if (typeof value !== 'object' || value === null) throw new Error('not an object');
  const v = value as Record<string, unknown>;
  if (v['kind'] !== 'ping' && v['kind'] !== 'pong') throw new Error('bad kind');
  if (!Number.isInteger(v['seq'])) throw new Error('bad seq');
  if (v['data'] !== undefined && !(v['data'] instanceof Uint8Array)) throw new Error('bad data');
  if (v['text'] !== undefined && typeof v['text'] !== 'string') throw new Error('bad text');
  return v as unknown as TestMsg;
}

/** Wait until `condition()` holds, polling; fail with `what` after `timeoutMs`. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Records what one transport receives. */
export function inbox(t: Transport<TestMsg>): { from: NodeId; message: TestMsg }[] {
  const got: { from: NodeId; message: TestMsg }[] = [];
  t.onMessage((from, message) => got.push({ from, message }));
  return got;
}

export interface TransportPair {
  a: Transport<TestMsg>;
  b: Transport<TestMsg>;
  cleanup(): Promise<void>;
}

/**
 * The conformance suite every Transport passes. `makePair` returns two transports whose ids
 * are `a` and `b`, each already told where the other is.
 */
export function transportContract(name: string, makePair: () => Promise<TransportPair>): void {
  describe(`Transport contract: ${name}`, () => {
    let pair: TransportPair;
    beforeEach(async () => {
      pair = await makePair();
    });
    afterEach(async () => {
      await pair.cleanup();
    });

    it('delivers a message with the sender as from', async () => {
      const got = inbox(pair.b);
      expect(pair.a.send('b', { kind: 'ping', seq: 1, text: 'héllo' })).toBe(true);
      await waitFor(() => got.length === 1, 'one message');
      expect(got[0]).toEqual({ from: 'a', message: { kind: 'ping', seq: 1, text: 'héllo' } });
    });

    it('keeps order per pair', async () => {
      const got = inbox(pair.b);
      for (let seq = 0; seq < 1000; seq++) expect(pair.a.send('b', { kind: 'ping', seq })).toBe(true);
      await waitFor(() => got.length === 1000, '1000 messages');
      expect(got.map((g) => g.message.seq)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    });

    it('carries binary payloads intact', async () => {
      const got = inbox(pair.b);
      const data = new Uint8Array(200_000);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
      expect(pair.a.send('b', { kind: 'ping', seq: 0, data })).toBe(true);
      expect(pair.a.send('b', { kind: 'ping', seq: 1, data: new Uint8Array(0) })).toBe(true);
      await waitFor(() => got.length === 2, 'two binary messages');
      const [first, second] = got.map((g) => g.message.data);
      expect(first).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(first!).equals(Buffer.from(data))).toBe(true);
      expect(second).toBeInstanceOf(Uint8Array);
      expect(second!.length).toBe(0);
    });

    it('delivers a burst of 10,000 messages', async () => {
      const got = inbox(pair.b);
      let accepted = 0;
      for (let seq = 0; seq < 10_000; seq++) if (pair.a.send('b', { kind: 'ping', seq })) accepted++;
      expect(accepted).toBe(10_000);
      await waitFor(() => got.length === 10_000, '10,000 messages');
      expect(got.every((g, i) => g.message.seq === i)).toBe(true);
    });

    it('carries replies the other way', async () => {
      pair.b.onMessage((from, m) => {
        if (m.kind === 'ping') pair.b.send(from, { kind: 'pong', seq: m.seq });
      });
      const got = inbox(pair.a);
      for (let seq = 0; seq < 100; seq++) pair.a.send('b', { kind: 'ping', seq });
      await waitFor(() => got.length === 100, '100 pongs');
      expect(got.every((g, i) => g.from === 'b' && g.message.kind === 'pong' && g.message.seq === i)).toBe(true);
    });

    it('returns false for a peer it does not know', () => {
      expect(pair.a.isReachable('nobody')).toBe(false);
      expect(pair.a.send('nobody', { kind: 'ping', seq: 0 })).toBe(false);
    });

    it('returns false after removePeer', () => {
      pair.a.removePeer('b');
      expect(pair.a.isReachable('b')).toBe(false);
      expect(pair.a.send('b', { kind: 'ping', seq: 0 })).toBe(false);
    });

    it('stops delivering once closed', async () => {
      const got = inbox(pair.b);
      for (let seq = 0; seq < 100; seq++) pair.a.send('b', { kind: 'ping', seq });
      await pair.b.close();
      const atClose = got.length;
      pair.a.send('b', { kind: 'ping', seq: 100 });
      // Once a sees b gone, anything still in flight has had its chance to (wrongly) arrive.
      await waitFor(() => !pair.a.isReachable('b'), 'a to see b unreachable');
      expect(got.length).toBe(atClose);
      expect(pair.b.send('a', { kind: 'ping', seq: 0 })).toBe(false);
    });
  });
}
