#!/usr/bin/env node
// Entry point of the `nosqldb` command. It runs the bundle dist/nosqldb.mjs (built by
// `npm install` through scripts/build-server.js) when that is newer than every source file,
// and otherwise the TypeScript sources through tsx's loader — so a fresh edit always runs, and
// node processes start fast when nothing changed. NOSQLDB_FROM_SOURCE=1 forces the sources.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bundle = join(root, 'dist', 'nosqldb.mjs');

function newestSourceMs(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSourceMs(p) : statSync(p).mtimeMs);
  }
  return newest;
}

function bundleIsFresh() {
  if (process.env.NOSQLDB_FROM_SOURCE === '1' || !existsSync(bundle)) return false;
  return statSync(bundle).mtimeMs >= newestSourceMs(join(root, 'src'));
}

let main;
if (bundleIsFresh()) {
  ({ main } = await import(pathToFileURL(bundle).href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
await main(process.argv.slice(2));
