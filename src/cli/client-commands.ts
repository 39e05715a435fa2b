import { parseArgs } from 'node:util';
import { UsageError } from './usage.ts';

/** `nosqldb get|put|del|status|ring`: thin clients of one node's HTTP API. */
export async function runClient(command: string, argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      context: { type: 'string' },
      'content-type': { type: 'string' },
      r: { type: 'string' },
      w: { type: 'string' },
      token: { type: 'string' },
    },
  });
  const base = (values.url ?? process.env.NOSQLDB_URL ?? 'http://127.0.0.1:7001').replace(/\/$/, '');
  const headers: Record<string, string> = {};
  const token = values.token ?? process.env.NOSQLDB_ADMIN_TOKEN;
  if (token) headers.authorization = `Bearer ${token}`;
  if (values.context) headers['x-context'] = values.context;
  const q = new URLSearchParams();
  if (values.r) q.set('r', values.r);
  if (values.w) q.set('w', values.w);
  const qs = q.size > 0 ? `?${q}` : '';
  const need = (n: number): void => {
    if (positionals.length !== n) throw new UsageError(`${command} takes ${n === 1 ? 'KEY' : 'KEY VALUE'}`);
  };
  // A node that is not there: say which address and why, not fetch's bare "fetch failed".
  const call = (path: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${base}${path}`, { headers, ...init }).catch((e: unknown) => {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(`cannot reach ${base} (${cause?.code ?? cause?.message ?? (e as Error).message})`);
    });
  let res: Response;
  switch (command) {
    case 'get':
      need(1);
      res = await call(`/kv/${encodeKey(positionals[0]!)}${qs}`);
      break;
    case 'put': {
      need(2);
      const value = positionals[1]!;
      headers['content-type'] = values['content-type'] ?? (looksLikeJson(value) ? 'application/json' : 'text/plain');
      res = await call(`/kv/${encodeKey(positionals[0]!)}${qs}`, { method: 'PUT', body: value });
      break;
    }
    case 'del':
      need(1);
      res = await call(`/kv/${encodeKey(positionals[0]!)}${qs}`, { method: 'DELETE' });
      break;
    case 'status':
      need(0);
      res = await call('/admin/status');
      break;
    case 'ring':
      need(0);
      res = await call('/admin/ring');
      break;
    default:
      throw new UsageError(`unknown command ${command}`);
  }
  const ctx = res.headers.get('x-context');
  const clock = res.headers.get('x-vector-clock');
  const text = await res.text();
  if (command === 'get' && res.status === 200) {
    if (ctx) console.error(`context: ${ctx}`);
    if (clock) console.error(`vector clock: ${clock}`);
  }
  console.log(text);
  if (res.status >= 400) process.exit(1);
}

function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

function looksLikeJson(v: string): boolean {
  try {
    JSON.parse(v);
    return true;
  } catch {
    return false;
  }
}
