import type { LabController } from './lab-controller.ts';
import type { ReplicaValue } from './demo-types.ts';

/** A demo's read of one node: short, so one dead node never holds a whole tick. */
export const DEMO_READ_TIMEOUT_MS = 1000;

export interface DemoNode {
  readonly id: string;
  readonly url: string;
  readonly running: boolean;
}

/** The Lab's nodes as the demos need them. */
export function demoNodes(lab: LabController): DemoNode[] {
  return lab.cluster.nodes().map((n) => ({ id: n.id, url: n.url, running: n.state === 'running' }));
}

/** `/kv/a/b c` with every segment encoded; `/` stays a separator as keys may contain it. */
export function kvPath(key: string): string {
  return `/kv/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/** One node's own copy of a key (`?local=true`), without the `changedAtMs` the watcher adds. */
export async function readLocal(node: DemoNode, key: string): Promise<Omit<ReplicaValue, 'changedAtMs'>> {
  if (!node.running) return { state: 'down', value: null };
  try {
    const res = await fetch(`${node.url}${kvPath(key)}?local=true`, { signal: AbortSignal.timeout(DEMO_READ_TIMEOUT_MS) });
    const text = await res.text();
    const json = parseJson(text);
    if (res.status === 200) return { state: 'ok', value: json };
    if (res.status === 300) return { state: 'siblings', value: json };
    if (res.status === 404) return { state: 'missing', value: null };
    return { state: 'unreachable', value: json };
  } catch {
    return { state: 'unreachable', value: null };
  }
}

export async function getJson(url: string, timeoutMs = DEMO_READ_TIMEOUT_MS): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, json: parseJson(await res.text()) };
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** JSON with object keys sorted: two replicas' equal documents give equal strings. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** XOR of 16-hex-digit hashes (the Merkle trees are XOR trees, so this is the root over them all). */
export function xorHex(hexes: readonly string[]): string {
  let hi = 0;
  let lo = 0;
  for (const h of hexes) {
    const clean = h.replace(/^0x/i, '').padStart(16, '0');
    hi = (hi ^ parseInt(clean.slice(0, 8), 16)) >>> 0;
    lo = (lo ^ parseInt(clean.slice(8, 16), 16)) >>> 0;
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}
