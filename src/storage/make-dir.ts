import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * `mkdir -p` that always ends. Node's `mkdirSync(dir, { recursive: true })` spins forever, at
 * full CPU and without a word, when a parent exists but cannot hold the child: a path under
 * /proc, or below a dangling symlink (a data dir on a disk that is not mounted). It reads the
 * child's ENOENT as "the parent is missing", creates the parent (EEXIST) and tries again; lmdb-js
 * opens its directory the same way. This looks up once for the missing directories, then
 * creates them top-down, so the first one that cannot be made fails with its own error.
 */
export function makeDir(dir: string): void {
  const missing: string[] = [];
  for (let at = resolve(dir); ;) {
    let found: 'dir' | 'other';
    try {
      found = statSync(at).isDirectory() ? 'dir' : 'other';
    } catch (e) {
      const parent = dirname(at);
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || parent === at) throw e;
      missing.push(at);
      at = parent;
      continue;
    }
    if (found === 'other') throw fsError('ENOTDIR', `not a directory, mkdir '${at}'`, at);
    break;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // Made meanwhile by someone else is fine. A name that exists but that stat cannot follow
      // is a symlink to nothing: say so, as plain ENOENT would not.
      let isDir: boolean;
      try {
        isDir = statSync(d).isDirectory();
      } catch {
        throw fsError('ENOENT', `'${d}' is a symlink to a missing target, mkdir '${dir}'`, d);
      }
      if (!isDir) throw fsError('ENOTDIR', `not a directory, mkdir '${d}'`, d);
    }
  }
}

/** An error shaped like Node's own fs errors (`code`, `path`, "CODE: message"). */
function fsError(code: string, message: string, path: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code, path });
}
