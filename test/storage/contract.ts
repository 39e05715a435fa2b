/**
 * The conformance suite of the Storage port (src/storage/storage.ts, rules ST1..ST4). Every
 * engine's test file is one call to `storageContract` plus its engine-specific cases.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keyBytesMax, type Storage, type WriteOp } from '../../src/storage/storage.ts';

/** What an engine's test provides: a fresh empty storage, how to reopen its data, how to clean up. */
export interface StorageUnderTest {
  readonly storage: Storage;
  /** Opens the same data again; the suite closes the previous instance first. */
  readonly reopen?: () => Promise<Storage>;
  readonly cleanup: () => Promise<void>;
}

const enc = new TextEncoder();
const bytes = (s: string): Uint8Array => enc.encode(s);
const put = (table: string, key: string, value: Uint8Array | string): WriteOp => ({
  type: 'put',
  table,
  key,
  value: typeof value === 'string' ? bytes(value) : value,
});
const del = (table: string, key: string): WriteOp => ({ type: 'del', table, key });

/** Byte-for-byte view, so Buffer and Uint8Array of equal bytes compare equal. */
const view = (v: Uint8Array | undefined): number[] | undefined => (v === undefined ? undefined : Array.from(v));
const entries = (it: Iterable<[string, Uint8Array]>): [string, number[]][] => Array.from(it, ([k, v]) => [k, Array.from(v)]);
/** The oracle for ST3: compare the UTF-8 encodings, independently of the engines' comparators. */
const utf8Order = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Code points around every UTF-8 length boundary and the UTF-16 vs UTF-8 disagreement. */
const edgeChar = fc.constantFrom('a', 'b', '\u0001', '\u007f', '\u0080', '\u07ff', '\u0800', '\ud7ff', '\ue000', '\uffff', '\u{10000}', '\u{1f600}', '\u{10ffff}');
const keyArb = fc.string({ unit: fc.oneof(edgeChar, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), minLength: 1, maxLength: 6 });

export function storageContract(name: string, open: () => Promise<StorageUnderTest>): void {
  describe(`Storage contract: ${name}`, () => {
    let sut: StorageUnderTest;
    let s: Storage;

    beforeEach(async () => {
      sut = await open();
      s = sut.storage;
    });
    afterEach(async () => {
      await s.close();
      await sut.cleanup();
    });

    /** Closes the current instance and opens its data again (only when the engine can). */
    async function reopen(): Promise<void> {
      if (sut.reopen === undefined) return;
      await s.close();
      s = await sut.reopen();
    }

    it('[ST2] get of a missing table or key is undefined; put, overwrite and del are seen', async () => {
      expect(s.get('nope', 'k')).toBeUndefined();
      await s.write([put('t', 'k', 'v1')]);
      expect(view(s.get('t', 'k'))).toEqual(view(bytes('v1')));
      expect(s.get('t', 'other')).toBeUndefined();
      await s.write([put('t', 'k', 'v2')]);
      expect(view(s.get('t', 'k'))).toEqual(view(bytes('v2')));
      await s.write([del('t', 'k')]);
      expect(s.get('t', 'k')).toBeUndefined();
      await s.write([del('t', 'never-existed')]);
      expect(s.count('t')).toBe(0);
    });

    it('[ST1] a batch across tables applies as a whole, in order', async () => {
      await s.write([put('a', 'x', '1'), put('b', 'y', '2')]);
      await s.write([put('a', 'x', 'first'), put('a', 'x', 'last'), del('b', 'y'), put('c', 'z', '3')]);
      expect(view(s.get('a', 'x'))).toEqual(view(bytes('last')));
      expect(s.get('b', 'y')).toBeUndefined();
      expect(view(s.get('c', 'z'))).toEqual(view(bytes('3')));
      await reopen();
      expect(view(s.get('a', 'x'))).toEqual(view(bytes('last')));
      expect(s.get('b', 'y')).toBeUndefined();
    });

    it('[ST1] a batch with one invalid op rejects and applies none of its ops', async () => {
      const tooLong = 'k'.repeat(keyBytesMax + 1);
      const lone = [put('t', '\ud800', 'v'), put('t', 'a\udc00', 'v'), put('t', '\ud800b', 'v'), put('t', 'x\ud83d\ud83d', 'v')];
      for (const bad of [put('t', '', 'v'), put('t', tooLong, 'v'), ...lone, put('', 'k', 'v')]) {
        await expect(s.write([put('t', 'good', 'v'), put('u', 'good', 'v'), bad])).rejects.toBeInstanceOf(RangeError);
      }
      expect(s.get('t', 'good')).toBeUndefined();
      await s.write([put('t', 'after', 'v')]);
      await reopen();
      expect(s.get('t', 'good')).toBeUndefined();
      expect(s.get('u', 'good')).toBeUndefined();
      expect(s.count('t')).toBe(1);
      await s.write([put('t', 'pair \ud83d\udd11', 'v')]); // a surrogate pair is well formed
      expect(s.get('t', 'pair \ud83d\udd11')).toBeDefined();
    });

    it('[ST2] get sees writes before their promise resolves; a pending del shadows', async () => {
      await s.write([put('t', 'k', 'old')]);
      const p1 = s.write([put('t', 'k', 'new'), put('u', 'fresh', 'f')]);
      expect(view(s.get('t', 'k'))).toEqual(view(bytes('new')));
      expect(view(s.get('u', 'fresh'))).toEqual(view(bytes('f')));
      const p2 = s.write([del('t', 'k')]);
      expect(s.get('t', 'k')).toBeUndefined();
      const p3 = s.write([put('t', 'k', 'newest')]);
      expect(view(s.get('t', 'k'))).toEqual(view(bytes('newest')));
      await p1;
      expect(view(s.get('t', 'k'))).toEqual(view(bytes('newest')));
      await Promise.all([p2, p3]);
      expect(view(s.get('t', 'k'))).toEqual(view(bytes('newest')));
    });

    it('[ST3] range honours gte (inclusive), lt (exclusive) and limit, ascending', async () => {
      await s.write(['d', 'a', 'c', 'b', 'e'].map((k) => put('t', k, k.toUpperCase())));
      const keys = (o?: Parameters<Storage['range']>[1]): string[] => Array.from(s.range('t', o), ([k]) => k);
      expect(keys()).toEqual(['a', 'b', 'c', 'd', 'e']);
      expect(keys({ gte: 'b', lt: 'd' })).toEqual(['b', 'c']);
      expect(keys({ gte: 'bb' })).toEqual(['c', 'd', 'e']);
      expect(keys({ lt: 'c' })).toEqual(['a', 'b']);
      expect(keys({ gte: 'b', limit: 2 })).toEqual(['b', 'c']);
      expect(keys({ limit: 0 })).toEqual([]);
      expect(keys({ gte: 'f' })).toEqual([]);
      expect(keys({ gte: 'c', lt: 'c' })).toEqual([]);
      expect(keys({ lt: '' })).toEqual([]);
      expect(keys({ gte: '' })).toEqual(['a', 'b', 'c', 'd', 'e']);
      expect(entries(s.range('t', { gte: 'e' }))).toEqual([['e', view(bytes('E'))]]);
      expect(Array.from(s.range('missing-table'))).toEqual([]);
    });

    it('[ST3] range yields UTF-8 byte order, for any keys and bounds (property)', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(keyArb, { minLength: 1, maxLength: 30 }),
          fc.option(keyArb, { nil: undefined }),
          fc.option(keyArb, { nil: undefined }),
          fc.option(fc.nat(40), { nil: undefined }),
          async (keys, gte, lt, limit) => {
            await s.write(keys.map((k) => put('p', k, k)));
            const expected = [...keys]
              .sort(utf8Order)
              .filter((k) => (gte === undefined || utf8Order(k, gte) >= 0) && (lt === undefined || utf8Order(k, lt) < 0))
              .slice(0, limit ?? Infinity);
            const options = { ...(gte !== undefined && { gte }), ...(lt !== undefined && { lt }), ...(limit !== undefined && { limit }) };
            const got = entries(s.range('p', options));
            await s.write(keys.map((k) => del('p', k)));
            expect(got).toEqual(expected.map((k) => [k, view(bytes(k))]));
          },
        ),
        { numRuns: 60 },
      );
    });

    it('[ST3] range sees writes not yet durable: puts, overwrites and deletes, within bounds and limit', async () => {
      await s.write(['a', 'c', 'e', 'g'].map((k) => put('t', k, k)));
      // Not awaited: these are in flight while the ranges run.
      const inFlight = s.write([put('t', 'b', 'B'), put('t', 'c', 'C2'), del('t', 'e'), put('t', 'h', 'H')]);
      expect(entries(s.range('t'))).toEqual([
        ['a', view(bytes('a'))],
        ['b', view(bytes('B'))],
        ['c', view(bytes('C2'))],
        ['g', view(bytes('g'))],
        ['h', view(bytes('H'))],
      ]);
      const keys = (o?: Parameters<Storage['range']>[1]): string[] => Array.from(s.range('t', o), ([k]) => k);
      expect(keys({ gte: 'b', lt: 'h' })).toEqual(['b', 'c', 'g']);
      expect(keys({ limit: 3 })).toEqual(['a', 'b', 'c']);
      expect(keys({ gte: 'd', limit: 2 })).toEqual(['g', 'h']);
      await inFlight;
      expect(keys()).toEqual(['a', 'b', 'c', 'g', 'h']);
    });

    it('[ST3] count is exact across puts, overwrites and deletes, per table', async () => {
      expect(s.count('t')).toBe(0);
      await s.write([put('t', 'a', '1'), put('t', 'b', '2'), put('t', 'c', '3'), put('u', 'a', '1')]);
      await s.write([put('t', 'a', 'again'), del('t', 'b'), del('t', 'zz')]);
      expect(s.count('t')).toBe(2);
      expect(s.count('u')).toBe(1);
      await reopen();
      expect(s.count('t')).toBe(2);
    });

    it('[ST4] empty values are stored as empty, not as absent', async () => {
      await s.write([put('t', 'e', new Uint8Array(0))]);
      expect(view(s.get('t', 'e'))).toEqual([]);
      expect(entries(s.range('t'))).toEqual([['e', []]]);
      expect(s.count('t')).toBe(1);
    });

    it('[ST4] keys of 512 bytes (and up to keyBytesMax) round-trip, multi-byte too', async () => {
      const ascii = 'k'.repeat(512);
      const twoByte = '\u00e9'.repeat(256); // 512 UTF-8 bytes
      const fourByte = '\u{1f600}'.repeat(128); // 512 UTF-8 bytes
      const longest = 'x'.repeat(keyBytesMax);
      await s.write([ascii, twoByte, fourByte, longest].map((k) => put('t', k, k.slice(0, 4))));
      await reopen();
      for (const k of [ascii, twoByte, fourByte, longest]) expect(view(s.get('t', k))).toEqual(view(bytes(k.slice(0, 4))));
      expect(Array.from(s.range('t'), ([k]) => k)).toEqual([ascii, longest, twoByte, fourByte]);
    });

    it('[ST4] binary values come back byte for byte and are isolated from the caller', async () => {
      const all = Uint8Array.from({ length: 256 }, (_, i) => i);
      const input = Uint8Array.from(all);
      await s.write([put('t', 'all', input)]);
      input.fill(0); // the caller reusing its buffer must not change what was stored
      const read = s.get('t', 'all');
      expect(view(read)).toEqual(view(all));
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), async (value) => {
          await s.write([put('t', 'prop', value)]);
          expect(view(s.get('t', 'prop'))).toEqual(view(value));
        }),
        { numRuns: 50 },
      );
      expect(view(read)).toEqual(view(all)); // earlier results are not overwritten by later reads
      await reopen();
      expect(view(s.get('t', 'all'))).toEqual(view(all));
    });

    it('[ST1] tables are independent namespaces', async () => {
      await s.write([put('a', 'k', 'in-a'), put('b', 'k', 'in-b'), put('b', 'only-b', 'x')]);
      await s.write([del('a', 'k')]);
      expect(s.get('a', 'k')).toBeUndefined();
      expect(view(s.get('b', 'k'))).toEqual(view(bytes('in-b')));
      expect(Array.from(s.range('a'))).toEqual([]);
      expect(Array.from(s.range('b'), ([k]) => k)).toEqual(['k', 'only-b']);
    });

    it('[ST1] many concurrent writes all resolve and all persist', async () => {
      const n = 2000;
      const writes = Array.from({ length: n }, (_, i) => s.write([put('t', `key-${String(i).padStart(5, '0')}`, `v${i}`), put('log', `${i}`, 'x')]));
      await Promise.all(writes);
      await reopen();
      expect(s.count('t')).toBe(n);
      expect(s.count('log')).toBe(n);
      for (let i = 0; i < n; i++) expect(view(s.get('t', `key-${String(i).padStart(5, '0')}`))).toEqual(view(bytes(`v${i}`)));
    });

    it('[ST1] close waits for writes already called; later writes reject', async () => {
      const pending = s.write([put('t', 'k', 'v')]);
      await s.close();
      await expect(pending).resolves.toBeUndefined();
      await expect(s.write([put('t', 'k2', 'v')])).rejects.toThrow();
      if (sut.reopen === undefined) return;
      s = await sut.reopen();
      expect(view(s.get('t', 'k'))).toEqual(view(bytes('v')));
    });
  });
}
