import { appendFileSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { comparePositions, walHeaderBytes, WriteAheadLog, type WalPosition } from '../../src/storage/write-ahead-log.ts';
import { decodeWriteOps, encodeWriteOps } from '../../src/storage/write-op-codec.ts';
import type { WriteOp } from '../../src/storage/storage.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'nosqldb-wal-'));
  dirs.push(d);
  return d;
}
const segments = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith('.wal')).sort();
const payload = (i: number, bytes = 32): Buffer => Buffer.alloc(bytes, i % 251).fill(`record-${i}:`, 0, 12);
/** A record as `append` takes it: the payload after room for the header. */
const record = (bytes: Buffer): Buffer => Buffer.concat([Buffer.alloc(walHeaderBytes), bytes]);

describe('WriteAheadLog', () => {
  it('gives each append a later position, and reads back every record in order after reopening', async () => {
    const dir = tempDir();
    const { log, records } = WriteAheadLog.open(dir, 0);
    expect(records).toEqual([]);
    // Two turns of appends: each turn is one group, and positions grow across both.
    const first = await Promise.all([0, 1, 2].map((i) => log.append(record(payload(i)))));
    const second = await Promise.all([3, 4].map((i) => log.append(record(payload(i, 1000)))));
    const ends: WalPosition[] = [...first, ...second];
    for (let i = 1; i < ends.length; i++) expect(comparePositions(ends[i - 1]!, ends[i]!)).toBeLessThan(0);
    log.close();
    const again = WriteAheadLog.open(dir, 0);
    expect(again.records.map((r) => r.payload)).toEqual([0, 1, 2].map((i) => payload(i)).concat([3, 4].map((i) => payload(i, 1000))));
    expect(again.records.map((r) => r.end)).toEqual(ends);
    again.log.close();
  });

  it('stops reading a segment at a torn record or trailing garbage, and keeps what came before', async () => {
    const dir = tempDir();
    const { log } = WriteAheadLog.open(dir, 0);
    const ends = await Promise.all([0, 1, 2].map((i) => log.append(record(payload(i, 100)))));
    log.close();
    const file = join(dir, segments(dir)[0]!);
    // The last record loses its tail (a crash in the middle of a write), then garbage follows.
    truncateSync(file, ends[2]!.offset - 10);
    appendFileSync(file, Buffer.from('garbage that is not a record, longer than a header'));
    const { log: again, records } = WriteAheadLog.open(dir, 0);
    expect(records.map((r) => r.payload)).toEqual([payload(0, 100), payload(1, 100)]);
    again.close();
  });

  it('rejects records of a file renamed to another segment number (the checksum covers the number)', async () => {
    const dir = tempDir();
    const { log } = WriteAheadLog.open(dir, 0);
    await log.append(record(payload(7)));
    log.close();
    const [name] = segments(dir);
    // Stale bytes in a reused file must never read as records of its new number.
    renameSync(join(dir, name!), join(dir, '0000000000000009.wal'));
    const { log: again, records } = WriteAheadLog.open(dir, 0);
    expect(records).toEqual([]);
    again.close();
  });

  it('starts a new segment above the floor and above every file found, and release deletes only segments before a position', async () => {
    const dir = tempDir();
    const { log } = WriteAheadLog.open(dir, 41);
    expect(segments(dir)).toEqual(['0000000000000042.wal']);
    // Fill past one segment (1 MiB) so the log moves on to the next.
    const big = Buffer.alloc(256 * 1024, 1);
    const ends: WalPosition[] = [];
    for (let i = 0; i < 6; i++) ends.push(await log.append(record(big)));
    expect(new Set(ends.map((e) => e.segment))).toEqual(new Set([42, 43]));
    expect(segments(dir)).toEqual(['0000000000000042.wal', '0000000000000043.wal']);
    log.release(ends[3]!); // still inside 42: nothing goes
    expect(segments(dir)).toEqual(['0000000000000042.wal', '0000000000000043.wal']);
    log.release(ends[5]!); // in 43: 42 is fully applied
    expect(segments(dir)).toEqual(['0000000000000043.wal']);
    log.close();
    const { log: again, records } = WriteAheadLog.open(dir, 0);
    expect(records.map((r) => r.end)).toEqual(ends.filter((e) => e.segment === 43));
    again.close();
  });

  it('reuses a released segment file for the next one; its old records do not come back', async () => {
    const dir = tempDir();
    const { log } = WriteAheadLog.open(dir, 0);
    const big = Buffer.alloc(256 * 1024, 2);
    const ends: WalPosition[] = [];
    for (let i = 0; i < 5; i++) ends.push(await log.append(record(big))); // fills segment 1, then 2
    log.release(ends[4]!); // segment 1 becomes the spare
    expect(segments(dir)).toEqual(['0000000000000002.wal']);
    for (let i = 0; i < 4; i++) ends.push(await log.append(record(big))); // fills 2, then 3 reuses the spare
    const reused = join(dir, '0000000000000003.wal');
    expect(statSync(reused).size).toBeGreaterThanOrEqual(1024 * 1024); // the old bytes are still in it
    log.close();
    const { log: again, records } = WriteAheadLog.open(dir, 0);
    expect(records.map((r) => r.end)).toEqual(ends.filter((e) => e.segment >= 2));
    again.close();
  });

  it('rejects appends after close', async () => {
    const { log } = WriteAheadLog.open(tempDir(), 0);
    log.close();
    await expect(log.append(record(payload(1)))).rejects.toThrow(/closed/);
  });
});

describe('write-op codec', () => {
  it('round-trips puts and deletes across tables, multi-byte keys and empty values', () => {
    const ops: WriteOp[] = [
      { type: 'put', table: 'data', key: 'p1/ключ/🔑', value: new Uint8Array([1, 2, 3]) },
      { type: 'del', table: 'hints', key: 'n2/k' },
      { type: 'put', table: 'meta', key: 'x', value: new Uint8Array(0) },
    ];
    const back = decodeWriteOps(encodeWriteOps(ops).bytes);
    expect(back.map((op) => ({ ...op, ...(op.type === 'put' ? { value: [...op.value] } : {}) }))).toEqual(
      ops.map((op) => ({ ...op, ...(op.type === 'put' ? { value: [...op.value] } : {}) })),
    );
  });

  it('round-trips any ops, each value also given back as a view of the encoding', () => {
    const op = fc.oneof(
      fc.record({ type: fc.constant('put' as const), table: fc.string({ minLength: 1, maxLength: 8 }), key: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }), value: fc.uint8Array({ maxLength: 64 }) }),
      fc.record({ type: fc.constant('del' as const), table: fc.string({ minLength: 1, maxLength: 8 }), key: fc.string({ minLength: 1, maxLength: 40 }) }),
    );
    const plain = (o: WriteOp): unknown => ({ ...o, ...(o.type === 'put' ? { value: [...o.value] } : {}) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 5 }), fc.nat({ max: 16 }), (ops, reserve) => {
        const { bytes, ops: views } = encodeWriteOps(ops, reserve);
        expect(decodeWriteOps(bytes.subarray(reserve)).map(plain)).toEqual(ops.map(plain));
        expect(views.map(plain)).toEqual(ops.map(plain));
      }),
    );
  });

  it('refuses truncated, padded and unknown records', () => {
    const { bytes } = encodeWriteOps([{ type: 'put', table: 't', key: 'k', value: new Uint8Array([9, 9]) }]);
    expect(() => decodeWriteOps(bytes.subarray(0, bytes.length - 1))).toThrow(/truncated/);
    expect(() => decodeWriteOps(Buffer.concat([bytes, Buffer.from([0])]))).toThrow(/trailing/);
    const unknown = Buffer.from(bytes);
    unknown[4] = 9;
    expect(() => decodeWriteOps(unknown)).toThrow(/unknown op/);
  });
});
