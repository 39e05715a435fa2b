// Bundles the server and CLI (src/**) into dist/nosqldb.mjs so that node processes start
// without transforming TypeScript on every launch. Dependencies stay external (node_modules).
// bin/nosqldb.js uses the bundle when it is newer than every source file, tsx otherwise.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
await build({
  absWorkingDir: root,
  entryPoints: ['src/cli/main.ts'],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  outfile: 'dist/nosqldb.mjs',
  sourcemap: true,
  logLevel: 'warning',
});
