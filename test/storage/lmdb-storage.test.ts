import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { LmdbStorage } from '../../src/storage/lmdb-storage.ts';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';
import type { Storage } from '../../src/storage/storage.ts';
import { storageContract } from './contract.ts';
import { expectedValue } from './fixtures/lmdb-values.ts';

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
  function open(path: string): Storage {
    const s = LmdbStorage.open({ path });
    cleanups.push(() => s.close());
    return s;
  }

  it('[ST1] every write acknowledged before kill -9 survives, value for value', async () => {
    const path = await dir();
    const ackTarget = 2000;
    const child = spawn(process.execPath, ['--import', 'tsx', fixture('lmdb-writer.ts'), path], { stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(async () => {
      child.kill('SIGKILL');
      await exited(child);
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const acked: string[] = [];
    let partial = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        const lines = (partial + d.toString()).split('\n');
        partial = lines.pop()!; // a line without its newline is not an acknowledgement yet
        acked.push(...lines);
        if (acked.length >= ackTarget) {
          child.kill('SIGKILL'); // at once, with writes in flight
          resolve();
        }
      });
      child.once('exit', (code) => reject(new Error(`writer exited early (${code}): ${stderr}`)));
    });
    expect((await exited(child)).signal).toBe('SIGKILL');

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
    // ulimit -f: the data file may not grow beyond a few MiB; Node ignores SIGXFSZ, so LMDB's
    // writes fail with EFBIG and its commit fails, like a full disk.
    const script = `ulimit -f 8192 && exec "$0" --import tsx "$1" "$2"`;
    const child = spawn('/bin/sh', ['-c', script, process.execPath, fixture('lmdb-disk-full.ts'), path], { stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(async () => {
      child.kill('SIGKILL');
      await exited(child);
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const { code } = await exited(child);
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
