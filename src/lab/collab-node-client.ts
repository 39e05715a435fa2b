import { KvError } from '../core/errors.ts';
import type { LabController } from './lab-controller.ts';
import type { KeyRead, KeyVersion } from './lab-types.ts';

export type { KeyRead, KeyVersion };

/** How long the demos' server routes wait for one node request. */
export const NODE_TIMEOUT_MS = 4000;


/** The URL of a node the Lab runs, or a 404 naming it. */
export function nodeUrl(lab: LabController, id: string): string {
  const n = lab.cluster.nodes().find((x) => x.id === id);
  if (!n) throw new KvError('KV_NOT_FOUND', `no node ${id} in this cluster`, { node: id });
  return n.url;
}

/** The ids of the nodes whose process runs. */
export function runningNodes(lab: LabController): string[] {
  return lab.cluster.nodes().filter((n) => n.state === 'running').map((n) => n.id);
}

export function keyPath(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

/** GET /kv/:key on one node (quorum read, or its own copy with `local`), as versions. */
export async function readKey(base: string, key: string, opts: { local?: boolean; r?: string } = {}): Promise<KeyRead> {
  const q = new URLSearchParams();
  if (opts.local) q.set('local', 'true');
  if (opts.r) q.set('r', opts.r);
  const qs = q.size ? `?${q}` : '';
  try {
    const res = await fetch(`${base}/kv/${keyPath(key)}${qs}`, { signal: AbortSignal.timeout(NODE_TIMEOUT_MS) });
    if (res.status === 404) {
      await res.arrayBuffer();
      return { key, status: 404, versions: [], context: res.headers.get('x-context') };
    }
    if (res.status === 300) {
      const body = (await res.json()) as { siblings: { value: unknown; vectorClock: Record<string, number>; contentType: string; writtenAtMs?: number }[]; context: string };
      return {
        key,
        status: 300,
        context: body.context,
        versions: body.siblings.map((s) => ({ value: s.value, vectorClock: s.vectorClock, contentType: s.contentType, writtenAtMs: s.writtenAtMs ?? null })),
      };
    }
    if (!res.ok) {
      const text = await res.text();
      return { key, status: res.status, versions: [], context: null, error: errorMessage(text, res.status) };
    }
    const contentType = res.headers.get('content-type') ?? 'application/octet-stream';
    const value: unknown = contentType.startsWith('application/json') ? await res.json() : { bytes: (await res.arrayBuffer()).byteLength };
    const clock = parseClock(res.headers.get('x-vector-clock'));
    const written = Number(res.headers.get('x-written-at-ms'));
    return { key, status: 200, context: res.headers.get('x-context'), versions: [{ value, vectorClock: clock, contentType, writtenAtMs: Number.isFinite(written) && written > 0 ? written : null }] };
  } catch (e) {
    return { key, status: 0, versions: [], context: null, error: (e as Error).message };
  }
}

export function parseClock(header: string | null): Record<string, number> {
  if (!header) return {};
  try {
    const v = JSON.parse(header) as unknown;
    return typeof v === 'object' && v !== null ? (v as Record<string, number>) : {};
  } catch {
    return {};
  }
}

export function errorMessage(text: string, status: number): string {
  try {
    const j = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (j.error?.message) return `${j.error.code ?? status}: ${j.error.message}`;
  } catch {
    // not JSON
  }
  return `node answered ${status}`;
}

/** Runs `fn` over `items` with at most `limit` at a time. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
