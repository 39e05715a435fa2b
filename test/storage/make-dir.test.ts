import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDir } from '../../src/storage/make-dir.ts';
import { LmdbStorage } from '../../src/storage/lmdb-storage.ts';

/**
 * A data dir that cannot be made fails at once with its error. Node's recursive mkdir (and
 * lmdb-js's, which uses it) never returns for a path under /proc or below a dangling symlink, so
 * before make-dir.ts `nosqldb node --data-dir /proc/x` spun at full CPU without a word.
 */
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const scratch = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'nosqldb-makedir-'));
  dirs.push(d);
  return d;
};

describe('makeDir', () => {
  it('makes every missing directory, and is a no-op on one that exists', () => {
    const root = scratch();
    const deep = join(root, 'a', 'b', 'c');
    makeDir(deep);
    expect(statSync(deep).isDirectory()).toBe(true);
    makeDir(deep);
    makeDir(root);
    expect(statSync(deep).isDirectory()).toBe(true);
  });

  it('fails with ENOTDIR when the path runs through a file', () => {
    const root = scratch();
    writeFileSync(join(root, 'file'), 'x');
    expect(() => makeDir(join(root, 'file', 'data'))).toThrow(
      expect.objectContaining({ code: 'ENOTDIR' }),
    );
    expect(() => makeDir(join(root, 'file'))).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
  });

  it('fails below a dangling symlink (a data dir on a disk that is not mounted)', () => {
    const root = scratch();
    symlinkSync(join(root, 'not-mounted'), join(root, 'disk'));
    expect(() => makeDir(join(root, 'disk', 'data', 'n1'))).toThrow(
      `'${join(root, 'disk')}' is a symlink to a missing target`,
    );
  });

  it('fails under /proc, where the kernel answers ENOENT to any new directory', () => {
    expect(() => makeDir('/proc/nosqldb-test/data')).toThrow(
      expect.objectContaining({ code: 'ENOENT' }),
    );
  });
});

describe('LmdbStorage.open on a data dir that cannot be made', () => {
  // Each of these spun forever inside lmdb-js's recursive mkdir before: the test would time out.
  it('throws for a path under /proc and below a dangling symlink', () => {
    expect(() => LmdbStorage.open({ path: '/proc/nosqldb-test/n1' })).toThrow(/ENOENT/);
    const root = scratch();
    symlinkSync(join(root, 'not-mounted'), join(root, 'disk'));
    expect(() => LmdbStorage.open({ path: join(root, 'disk', 'n1') })).toThrow(/ENOENT/);
  });
});
