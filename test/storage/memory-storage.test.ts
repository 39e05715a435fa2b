import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';
import { StorageIoError } from '../../src/storage/storage.ts';
import { compareUtf8 } from '../../src/storage/utf8-order.ts';
import { storageContract } from './contract.ts';

storageContract('MemoryStorage', async () => {
  let current = new MemoryStorage();
  return {
    storage: current,
    reopen: async () => (current = current.reopen()),
    cleanup: async () => {},
  };
});

const v = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b));

describe('MemoryStorage', () => {
  it('compareUtf8 puts astral characters after U+E000..U+FFFF, unlike UTF-16 <', () => {
    expect('\u{1f600}' < '\uffff').toBe(true);
    expect(compareUtf8('\u{1f600}', '\uffff')).toBeGreaterThan(0);
    expect(compareUtf8('\ud7ff', '\u{10000}')).toBeLessThan(0);
    expect(compareUtf8('ab', 'abc')).toBeLessThan(0);
  });

  it('manualSync: writes are visible at once, acknowledged only at sync()', async () => {
    const s = new MemoryStorage({ manualSync: true });
    let acked = false;
    const p = s.write([{ type: 'put', table: 't', key: 'k', value: v('1') }]).then(() => (acked = true));
    expect(text(s.get('t', 'k'))).toBe('1');
    await Promise.resolve();
    expect(acked).toBe(false);
    expect(s.sync()).toBe(1);
    await p;
    expect(acked).toBe(true);
  });

  it('crash() undoes every unacknowledged write, newest first, and keeps acknowledged ones', async () => {
    const s = new MemoryStorage({ manualSync: true });
    const durable = s.write([{ type: 'put', table: 't', key: 'a', value: v('durable') }]);
    s.sync();
    await durable;
    void s.write([{ type: 'put', table: 't', key: 'a', value: v('lost-1') }, { type: 'put', table: 't', key: 'b', value: v('lost') }]);
    void s.write([{ type: 'del', table: 't', key: 'a' }]);
    expect(s.get('t', 'a')).toBeUndefined();
    expect(s.crash()).toBe(2);
    expect(() => s.get('t', 'a')).toThrow();
    const restarted = s.reopen();
    expect(text(restarted.get('t', 'a'))).toBe('durable');
    expect(restarted.get('t', 'b')).toBeUndefined();
    expect(restarted.count('t')).toBe(1);
    expect(Array.from(restarted.range('t'), ([k]) => k)).toEqual(['a']);
  });

  it('crash() in the default mode loses only writes of the current turn', async () => {
    const s = new MemoryStorage();
    await s.write([{ type: 'put', table: 't', key: 'a', value: v('1') }]);
    void s.write([{ type: 'put', table: 't', key: 'b', value: v('2') }]);
    expect(s.crash()).toBe(1);
    const restarted = s.reopen();
    expect(text(restarted.get('t', 'a'))).toBe('1');
    expect(restarted.get('t', 'b')).toBeUndefined();
  });

  it('setDiskFull makes writes reject with StorageIoError and apply nothing', async () => {
    const s = new MemoryStorage();
    s.setDiskFull(true);
    const err: unknown = await s.write([{ type: 'put', table: 't', key: 'k', value: v('x') }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageIoError);
    expect((err as StorageIoError).code).toBe('KV_STORAGE_IO');
    expect(s.get('t', 'k')).toBeUndefined();
    s.setDiskFull(false);
    await s.write([{ type: 'put', table: 't', key: 'k', value: v('x') }]);
    expect(text(s.get('t', 'k'))).toBe('x');
  });

  it('ranges stay right across interleaved writes, deletes and re-inserts (index upkeep)', async () => {
    const s = new MemoryStorage();
    const model = new Map<string, string>();
    let seed = 7;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let round = 0; round < 300; round++) {
      const ops = Array.from({ length: 1 + (next() % 80) }, () => {
        const key = `k${next() % 500}`;
        return next() % 3 === 0 ? ({ type: 'del', table: 't', key } as const) : ({ type: 'put', table: 't', key, value: v(String(round)) } as const);
      });
      await s.write(ops);
      for (const op of ops) {
        if (op.type === 'put') model.set(op.key, String(round));
        else model.delete(op.key);
      }
      const expected = [...model.keys()].sort().filter((k) => k >= 'k2');
      expect(Array.from(s.range('t', { gte: 'k2' }), ([k]) => k)).toEqual(expected);
      expect(s.count('t')).toBe(model.size);
    }
  });

  it('stays correct at 100k keys with single writes between scans', async () => {
    const s = new MemoryStorage();
    const keys = Array.from({ length: 100_000 }, (_, i) => `key-${(i * 7919) % 100_000}`);
    await s.write(keys.map((key) => ({ type: 'put', table: 't', key, value: v('x') })));
    expect(Array.from(s.range('t', { gte: 'key-5', limit: 3 }), ([k]) => k)).toEqual(['key-5', 'key-50', 'key-500']);
    for (let i = 0; i < 200; i++) {
      await s.write([{ type: 'put', table: 't', key: `new-${i}`, value: v('y') }]);
      expect(Array.from(s.range('t', { gte: `new-${i}`, limit: 1 }), ([k]) => k)).toEqual([`new-${i}`]);
    }
    expect(s.count('t')).toBe(100_200);
  });
});
