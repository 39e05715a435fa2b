import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { LmdbStorage } from '../../src/storage/lmdb-storage.ts';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';
import type { Storage, WriteOp } from '../../src/storage/storage.ts';
import { open as openLmdb } from 'lmdb';
import { storageContract } from './contract.ts';
import { expectedValue } from './fixtures/lmdb-values.ts';

const put = (table: string, key: string, value: string): WriteOp => ({ type: 'put', table, key, value: Buffer.from(value) });
const text = (value: Uint8Array | undefined): string | undefined => (value === undefined ? undefined : Buffer.from(value).toString());
const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const tempDir = (): Promise<string> => mkdtemp(join(tmpdir(), 'nosqldb-lmdb-'));

storageContract('LmdbStorage', async () => {
  const path = await tempDir();
  return {
    storage: LmdbStorage.open({ path }),
    reopen: async () => LmdbStorage.open({ path }),
    cleanup: () => rm(path, { recursive: true, force: true }),
  };
});

/** Resolves when the child exits, with its code, signal and everything it printed. */
async function finished(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }> {
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const { code, signal } = await exited(child);
  return { code, signal, out, err };
}

/** Resolves when the child exits, with its code and signal. */
function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

describe('LmdbStorage', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  async function dir(): Promise<string> {
    const d = await tempDir();
    cleanups.push(() => rm(d, { recursive: true, force: true }));
    return d;
  }
  /**
   * A fixture in a child process, killed at cleanup if still running; with `fileBlocks`, under
   * `ulimit -f` (no file may grow past that many blocks; Node ignores SIGXFSZ, so writes past
   * it fail with EFBIG, like a full disk).
   */
  function child(name: string, args: readonly string[], fileBlocks?: number): ChildProcess {
    const c =
      fileBlocks === undefined
        ? spawn(process.execPath, ['--import', 'tsx', fixture(name), ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn('/bin/sh', ['-c', `ulimit -f ${fileBlocks} && exec "$0" --import tsx "$@"`, process.execPath, fixture(name), ...args], {
            stdio: ['ignore', 'pipe', 'pipe'],
          });
    cleanups.push(async () => {
      c.kill('SIGKILL');
      await exited(c);
    });
    return c;
  }
  function open(path: string): Storage {
    const s = LmdbStorage.open({ path });
    cleanups.push(() => s.close());
    return s;
  }

  it('close waits for the writes still in flight: each resolves and is there after reopening', async () => {
    const path = await dir();
    const s = LmdbStorage.open({ path });
    const writes = Array.from({ length: 50 }, (_, i) => s.write([put('t', `k${i}`, `v${i}`)]));
    await s.close(); // called at once, with every write still queued for the log
    const outcomes = await Promise.allSettled(writes);
    expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    const again = open(path);
    for (let i = 0; i < 50; i++) expect(text(again.get('t', `k${i}`))).toBe(`v${i}`);
  });

  it('[ST1] every write acknowledged before kill -9 survives, value for value', async () => {
    const path = await dir();
    const ackTarget = 2000;
    const writer = child('lmdb-writer.ts', [path]);
    let stderr = '';
    writer.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const acked: string[] = [];
    let partial = '';
    await new Promise<void>((resolve, reject) => {
      writer.stdout!.on('data', (d: Buffer) => {
        const lines = (partial + d.toString()).split('\n');
        partial = lines.pop()!; // a line without its newline is not an acknowledgement yet
        acked.push(...lines);
        if (acked.length >= ackTarget) {
          writer.kill('SIGKILL'); // at once, with writes in flight
          resolve();
        }
      });
      writer.once('exit', (code) => reject(new Error(`writer exited early (${code}): ${stderr}`)));
    });
    expect((await exited(writer)).signal).toBe('SIGKILL');

    const s = open(path);
    const lost = acked.filter((key) => {
      const v = s.get('data', key);
      return v === undefined || Buffer.compare(Buffer.from(v), Buffer.from(expectedValue(key))) !== 0 || s.get('index', key) === undefined;
    });
    expect(lost).toEqual([]);
    // Atomicity: no batch is half there, acknowledged or not.
    expect(s.count('data')).toBe(s.count('index'));
    expect(s.count('data')).toBeGreaterThanOrEqual(acked.length);
  });

  it.skipIf(process.platform === 'win32')('a failed commit (file size limit) rejects with StorageIoError, drops the overlay, and the process lives', async () => {
    const path = await dir();
    // No file may grow beyond a few MiB: the log's appends or LMDB's checkpoints fail.
    const full = child('lmdb-disk-full.ts', [path], 8192);
    const { code, out, err } = await finished(full);
    expect({ code, err: code === 0 ? '' : err }).toEqual({ code: 0, err: '' });
    expect(JSON.parse(out.trim())).toEqual({
      failed: true,
      isStorageIoError: true,
      code: 'KV_STORAGE_IO',
      failedBigVisible: false,
      failedSmallVisible: false,
      durableIntact: true,
    });
  });

  it.skipIf(process.platform === 'win32')('after a failed log append, later writes go to a new segment: a crash then loses none of them', async () => {
    const path = await dir();
    const writer = child('lmdb-append-failure.ts', [path], 1024);
    const { signal, out, err } = await finished(writer);
    expect({ signal, err }).toEqual({ signal: 'SIGKILL', err: '' });
    expect(JSON.parse(out.trim())).toEqual({ failed: true, hugeVisible: false });
    // Replayed from the log alone: everything acknowledged, before and after the failure.
    const s = open(path);
    for (let i = 0; i < 50; i++) {
      expect(text(s.get('t', `before-${i}`))).toBe(`b${i}`);
      expect(text(s.get('t', `after-${i}`))).toBe(`a${i}`);
    }
    expect(s.get('t', 'huge')).toBeUndefined();
    expect(s.count('t')).toBe(100);
  });

  it('a log segment found again after a checkpoint (its deletion lost in a crash) does not roll back newer values', async () => {
    const path = await dir();
    const first = LmdbStorage.open({ path });
    await first.write([put('t', 'k', 'old'), put('t', 'only-old', 'x')]);
    // The log as it stood with only the first write in it.
    const walDir = join(path, 'wal');
    const saved = readdirSync(walDir).filter((n) => n.endsWith('.wal')).map((n) => [n, readFileSync(join(walDir, n))] as const);
    expect(saved.length).toBeGreaterThan(0);
    await first.write([put('t', 'k', 'new'), { type: 'del', table: 't', key: 'only-old' }]);
    await first.close(); // applies everything to LMDB and deletes the log
    expect(readdirSync(walDir).filter((n) => n.endsWith('.wal'))).toEqual([]);
    for (const [name, bytes] of saved) writeFileSync(join(walDir, name), bytes);
    const again = open(path);
    expect(text(again.get('t', 'k'))).toBe('new');
    expect(again.get('t', 'only-old')).toBeUndefined();
    expect(again.count('t')).toBe(1);
  });

  it('replays writes that only the log holds: a process that died before its checkpoint loses nothing', async () => {
    const path = await dir();
    const dying = child('lmdb-log-only.ts', [path]);
    const { code, signal, out } = await finished(dying);
    expect({ code, signal, out: out.trim() }).toEqual({ code: null, signal: 'SIGKILL', out: 'acknowledged 500' });
    // The child died before any checkpoint: LMDB itself does not have the keys, only the log does.
    const raw = openLmdb({ path });
    const rawTable = raw.openDB('t', { encoding: 'binary', keyEncoding: 'binary' });
    expect(rawTable.get(Buffer.from('k0'))).toBeUndefined();
    await raw.close();
    const s = open(path);
    expect(s.count('t')).toBe(500);
    for (let i = 0; i < 500; i++) expect(text(s.get('t', `k${i}`))).toBe(`v${i}`);
    // Closing applies them to LMDB.
    await s.close();
    const after = openLmdb({ path });
    expect(text(after.openDB('t', { encoding: 'binary', keyEncoding: 'binary' }).get(Buffer.from('k499')))).toBe('v499');
    await after.close();
  });

  it.skipIf(process.platform === 'win32')('starts and serves what its log holds even when LMDB has no room for it (a full disk at restart)', async () => {
    const path = await dir();
    const fill = child('lmdb-no-room.ts', ['fill', path]);
    const filled = await finished(fill);
    expect({ signal: filled.signal, out: filled.out.trim() }).toEqual({ signal: 'SIGKILL', out: 'acknowledged 40' });
    // 1.25 MiB of values in the log; LMDB's file may not grow past a few hundred KiB.
    const serve = child('lmdb-no-room.ts', ['serve', path], 512);
    const { code, out, err } = await finished(serve);
    // (lmdb-js itself prints each failed commit on stderr; the process must simply live.)
    expect({ code, err: code === 0 ? '' : err }).toEqual({ code: 0, err: '' });
    expect(JSON.parse(out.trim())).toEqual({ served: 40, written: true });
    // With room again, everything is there and reaches LMDB.
    const s = open(path);
    expect(s.count('t')).toBe(41);
    expect(s.get('t', 'v39')?.[0]).toBe(40);
  });

  it('takes a data directory whose name has a dot (lmdb-js would take it for a file name)', async () => {
    const path = join(await dir(), 'node.1');
    const s = LmdbStorage.open({ path });
    await s.write([put('t', 'k', 'v')]);
    await s.close();
    const again = open(path);
    expect(text(again.get('t', 'k'))).toBe('v');
  });

  it('[ST4] reads values of every size back from LMDB byte for byte, each a copy of its own', async () => {
    const path = await dir();
    // Around Node's pool (4 KiB), lmdb-js's reusable read buffer and its large-value paths.
    const sizes = [0, 1, 100, 4095, 4096, 5000, 70_000, 1_100_000];
    const values = sizes.map((n, i) => Buffer.from(Array.from({ length: n }, (_, j) => (j * 31 + i) & 255)));
    const s = LmdbStorage.open({ path });
    await s.write(values.map((value, i): WriteOp => ({ type: 'put', table: 't', key: `k${i}`, value })));
    await s.close();
    const again = open(path); // nothing pending: every read goes to LMDB
    // All read before any is compared: a view into lmdb-js's reused buffer would have changed.
    const read = sizes.map((_, i) => again.get('t', `k${i}`));
    read.forEach((r, i) => expect(r !== undefined && Buffer.compare(r, values[i]!) === 0).toBe(true));
  });

  it('orders keys exactly like MemoryStorage (UTF-8 bytes), including around U+E000 and astral', async () => {
    const s = open(await dir());
    const m = new MemoryStorage();
    const keys = ['\uffff', '\u{10000}', '\ue000', '\ud7ff', 'z', '\u0080', '\u{10ffff}', 'a\u0000b', 'a', '\u{1f600}x'];
    const ops = keys.map((key) => ({ type: 'put', table: 't', key, value: new Uint8Array([1]) }) as const);
    await Promise.all([s.write(ops), m.write(ops)]);
    const lmdbOrder = Array.from(s.range('t'), ([k]) => k);
    expect(lmdbOrder).toEqual(Array.from(m.range('t'), ([k]) => k));
    expect(lmdbOrder.slice(-4)).toEqual(['\uffff', '\u{10000}', '\u{1f600}x', '\u{10ffff}']);
  });

  it('throughput: small writes with 64 concurrent writers (printed, not asserted)', async () => {
    const s = open(await dir());
    const writers = 64;
    const durationMs = 2000;
    const value = new Uint8Array(100).fill(7);
    let done = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; performance.now() - start < durationMs; i++) {
          await s.write([{ type: 'put', table: 'bench', key: `w${w}-${i}`, value }]);
          done++;
        }
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    console.log(`LmdbStorage: ${Math.round(done / seconds)} durable writes/s (${writers} writers, 100 B values, ${done} writes)`);
    expect(s.count('bench')).toBe(done);
  });
});
