import { REPO_ROOT } from '../repo-root.ts';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { KvError } from '../core/errors.ts';

/** The React app's sources and its build output. */
export const WEB_DIR = join(REPO_ROOT, 'web') + '/';
export const WEB_DIST = join(WEB_DIR, 'dist');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

/**
 * Builds the UI when `web/dist` is missing or older than its sources — the fallback for an
 * install whose `prepare` script did not run (e.g. `npm install --ignore-scripts`).
 */
export async function ensureWebBuilt(log: (line: string) => void = (l) => console.log(l)): Promise<void> {
  const index = join(WEB_DIST, 'index.html');
  if (existsSync(index) && newestMtime(WEB_DIR, ['dist', 'node_modules']) <= statSync(index).mtimeMs) return;
  if (!existsSync(join(WEB_DIR, 'index.html'))) throw new Error(`the Lab UI sources are missing (${WEB_DIR})`);
  log('lab: building the web UI (first start)…');
  const vite = await import('vite');
  // Vite takes React's build flavour from NODE_ENV; under a test runner that is `test`, which
  // would ship React's development build. The Lab always serves the production one.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await vite.build({ root: WEB_DIR, configFile: join(WEB_DIR, 'vite.config.js'), mode: 'production', logLevel: 'warn' });
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  }
}

function newestMtime(dir: string, skip: readonly string[]): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (skip.includes(entry.name)) continue;
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p, []) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Serves the built UI: files from `web/dist`, and `index.html` for every other page path
 * (`/demo/tweetstats` …), so the app's own router takes over. `/api/*` never falls back.
 */
export function registerStaticFiles(app: FastifyInstance, dist: string = WEB_DIST): void {
  const root = resolve(dist);
  app.get('/*', async (req, reply) => {
    const path = decodeURIComponent((req.url.split('?')[0] ?? '/'));
    if (path.startsWith('/api/') || path === '/api') throw new KvError('KV_NOT_FOUND', `no route GET ${path}`, { route: true });
    const file = resolve(root, `.${normalize(path)}`);
    const inside = file === root || file.startsWith(root + sep);
    if (inside && extname(file) !== '' && existsSync(file) && statSync(file).isFile()) {
      const immutable = file.startsWith(join(root, 'assets') + sep);
      return reply
        .header('Content-Type', TYPES[extname(file)] ?? 'application/octet-stream')
        .header('Cache-Control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
        .send(await readFile(file));
    }
    if (extname(path) !== '') throw new KvError('KV_NOT_FOUND', `no file ${path}`);
    const index = join(root, 'index.html');
    if (!existsSync(index)) throw new KvError('KV_UNAVAILABLE', 'the Lab UI is not built (run npm install)');
    return reply.header('Content-Type', TYPES['.html']!).header('Cache-Control', 'no-cache').send(await readFile(index));
  });
}
