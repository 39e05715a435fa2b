import { useEffect, useSyncExternalStore } from 'react';
import type { BurstConfig, LiveSnapshot, LiveWatch, MerkleCompare } from '../../../src/lab/demo-types.ts';
import { labFetch, labSource, openLabSocket } from './lab-source.ts';

/**
 * The TweetStats and InventorySync pages' one socket: `WS /api/demo/live` (src/lab/demo-live.ts)
 * pushes every replica's own copy of the watched keys; this module keeps the latest snapshot and
 * a bounded history of them, and exposes both to components as snapshots. It also holds the
 * demos' HTTP calls (node proxy and demo routes), so components never fetch by themselves.
 */

/** Snapshots kept for charts and lag measurement (~5 min at 4 per second). */
const HISTORY_MAX = 1200;
const RECONNECT_MS = 1000;

export interface LiveState {
  readonly snapshot: LiveSnapshot | null;
  readonly history: readonly LiveSnapshot[];
  readonly connected: boolean;
}

class DemoLiveSource {
  #state: LiveState = { snapshot: null, history: [], connected: false };
  #listeners = new Set<() => void>();
  #watch: LiveWatch = { keys: [] };
  #watchText = '';
  #socket: WebSocket | null = null;
  #retry: number | undefined;

  subscribe = (fn: () => void): (() => void) => {
    this.#listeners.add(fn);
    if (!this.#socket && this.#retry === undefined) this.#connect();
    return () => {
      this.#listeners.delete(fn);
      if (this.#listeners.size === 0) this.#disconnect();
    };
  };

  getState = (): LiveState => this.#state;

  /** What the page wants watched; the history restarts when it changes. */
  watch(w: LiveWatch): void {
    const text = JSON.stringify(w);
    if (text === this.#watchText) return;
    this.#watch = w;
    this.#watchText = text;
    this.#set({ snapshot: null, history: [] });
    if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify({ watch: w }));
  }

  #set(patch: Partial<LiveState>): void {
    this.#state = { ...this.#state, ...patch };
    for (const fn of this.#listeners) fn();
  }

  #connect(): void {
    this.#retry = undefined;
    const ws = openLabSocket('/api/demo/live');
    this.#socket = ws;
    ws.onopen = () => {
      this.#set({ connected: true });
      ws.send(JSON.stringify({ watch: this.#watch }));
    };
    ws.onmessage = (m) => {
      try {
        const s = JSON.parse(String(m.data)) as LiveSnapshot;
        if (s.type !== 'snapshot') return;
        // A snapshot for an older watch (sent before ours arrived) is dropped.
        if (!this.#watch.keys.every((k) => k in s.values)) return;
        const history = [...this.#state.history, s];
        if (history.length > HISTORY_MAX) history.splice(0, history.length - HISTORY_MAX);
        this.#set({ snapshot: s, history });
      } catch {
        // Not JSON: ignore.
      }
    };
    ws.onclose = () => {
      if (this.#socket !== ws) return;
      this.#socket = null;
      this.#set({ connected: false });
      if (this.#listeners.size > 0) this.#retry = window.setTimeout(() => this.#connect(), RECONNECT_MS);
    };
    ws.onerror = () => ws.close();
  }

  #disconnect(): void {
    window.clearTimeout(this.#retry);
    this.#retry = undefined;
    const ws = this.#socket;
    this.#socket = null;
    ws?.close();
    this.#watchText = '';
    this.#state = { snapshot: null, history: [], connected: false };
  }
}

export const demoLive = new DemoLiveSource();

/** The live replica values of `watch` (re-renders on every snapshot). */
export function useDemoLive(watch: LiveWatch): LiveState {
  const text = JSON.stringify(watch);
  useEffect(() => demoLive.watch(JSON.parse(text) as LiveWatch), [text]);
  return useSyncExternalStore(demoLive.subscribe, demoLive.getState);
}

export class DemoApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

async function call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const res = await labFetch(path, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json().catch(() => null)) as (T & { error?: { message?: string } }) | null;
  if (!res.ok) throw new DemoApiError(json?.error?.message ?? `${method} ${path} answered ${res.status}`, res.status);
  return json as T;
}

const kv = (node: string, key: string): string => `/api/nodes/${encodeURIComponent(node)}/kv/${key.split('/').map(encodeURIComponent).join('/')}`;

/** A fresh Idempotency-Key: the node applies an update carrying it at most once. */
export function idempotencyKey(prefix: string): string {
  return `${prefix}-${crypto.randomUUID()}`;
}

/** The demos' HTTP calls: node API through the Lab's proxy, and the demo routes. */
export const demoApi = {
  /** PATCH field updates through one node (`w` as chosen), with an Idempotency-Key. */
  patch: <T = Record<string, unknown>>(node: string, key: string, update: Record<string, unknown>, opts: { w?: number; idem: string }) =>
    call<T>('PATCH', `${kv(node, key)}${opts.w ? `?w=${opts.w}` : ''}`, update, { 'idempotency-key': opts.idem }),
  get: <T = unknown>(node: string, key: string, query = '') => call<T>('GET', `${kv(node, key)}${query}`),
  list: (node: string, prefix: string) => call<{ keys: string[]; truncated: boolean }>('GET', `/api/nodes/${encodeURIComponent(node)}/kv?prefix=${encodeURIComponent(prefix)}&limit=100`),
  burst: (config: BurstConfig) => call<unknown>('POST', '/api/demo/burst', config),
  compare: (a: string, b: string, keys: readonly string[]) => call<MerkleCompare>('GET', `/api/demo/merkle-compare?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}&keys=${keys.map(encodeURIComponent).join(',')}`),
  autoSync: (on: boolean) => call<unknown>('POST', '/api/demo/auto-sync', { on }),
  sync: () => call<{ reports: Record<string, unknown> }>('POST', '/api/demo/sync', {}),
  /** Lab actions that change the cluster refresh the dashboard state too. */
  refreshLab: () => labSource.refresh(),
};
