// One definition for server and page (src/lab/lab-types.ts).
import type { KeyRead, KeyVersion } from '../../../../src/lab/lab-types.ts';
import { useSyncExternalStore } from 'react';
import { labFetch, openLabSocket } from '../../data/lab-source.ts';

/**
 * CollabDocs' data source: the only place its components talk to the Lab (STYLE 12). It
 * polls documents through a chosen node and every node's own copies, keeps one presence
 * socket per editor, and exposes all of it as snapshots for components to render.
 */

/** Document poll period: an edit through one node shows in the other editor within 2 s. */
const DOC_POLL_MS = 600;
const REPLICAS_POLL_MS = 1200;
const PRESENCE_RECONNECT_MS = 1000;

export type { KeyRead, KeyVersion };

export interface HistoryEntry {
  readonly clock: Record<string, number>;
  readonly editor: string;
  readonly node: string;
  readonly text: string;
}

/** What a paragraph key holds (the JSON value the demo writes). */
export interface ParagraphValue {
  readonly html: string;
  readonly editor: string;
  readonly node: string;
  readonly editedAtMs: number;
  readonly history: readonly HistoryEntry[];
}

export interface DocSnapshot {
  readonly paragraphs: readonly KeyRead[];
  readonly error: string | null;
  readonly loadedAtMs: number | null;
}

export interface ReplicaSnapshot {
  readonly keys: readonly string[];
  readonly nodes: readonly { id: string; zone: string; state: string }[];
  readonly copies: Readonly<Record<string, Readonly<Record<string, KeyRead | null>>>>;
  readonly error: string | null;
}

export function asParagraph(v: unknown): ParagraphValue {
  const o = (typeof v === 'object' && v !== null ? v : {}) as Partial<ParagraphValue>;
  return {
    html: typeof o.html === 'string' ? o.html : '',
    editor: typeof o.editor === 'string' ? o.editor : '?',
    node: typeof o.node === 'string' ? o.node : '?',
    editedAtMs: typeof o.editedAtMs === 'number' ? o.editedAtMs : 0,
    history: Array.isArray(o.history) ? o.history : [],
  };
}

type Listener = () => void;

/** A polled value, shared by everyone who watches the same URL. */
class Poller<T> {
  #snapshot: T;
  #listeners = new Set<Listener>();
  #timer: number | undefined;
  #busy = false;
  readonly #url: string;
  readonly #periodMs: number;
  readonly #map: (json: unknown, error: string | null, prev: T) => T;

  constructor(url: string, periodMs: number, initial: T, map: (json: unknown, error: string | null, prev: T) => T) {
    this.#url = url;
    this.#periodMs = periodMs;
    this.#snapshot = initial;
    this.#map = map;
  }

  subscribe = (fn: Listener): (() => void) => {
    this.#listeners.add(fn);
    if (this.#timer === undefined) {
      void this.refresh();
      this.#timer = window.setInterval(() => void this.refresh(), this.#periodMs);
    }
    return () => {
      this.#listeners.delete(fn);
      if (this.#listeners.size === 0) {
        window.clearInterval(this.#timer);
        this.#timer = undefined;
      }
    };
  };

  get = (): T => this.#snapshot;

  async refresh(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const res = await labFetch(this.#url);
      const json = (await res.json()) as { error?: { message?: string } };
      this.#snapshot = res.ok ? this.#map(json, null, this.#snapshot) : this.#map(null, json.error?.message ?? `answered ${res.status}`, this.#snapshot);
    } catch (e) {
      this.#snapshot = this.#map(null, (e as Error).message, this.#snapshot);
    } finally {
      this.#busy = false;
    }
    for (const fn of this.#listeners) fn();
  }
}

const docPollers = new Map<string, Poller<DocSnapshot>>();
const EMPTY_DOC: DocSnapshot = { paragraphs: [], error: null, loadedAtMs: null };

function docPoller(doc: string, node: string): Poller<DocSnapshot> {
  const url = `/api/collab/doc?doc=${encodeURIComponent(doc)}&node=${encodeURIComponent(node)}`;
  let p = docPollers.get(url);
  if (!p) {
    p = new Poller<DocSnapshot>(url, DOC_POLL_MS, EMPTY_DOC, (json, error, prev) =>
      error ? { ...prev, error } : { paragraphs: (json as { paragraphs: KeyRead[] }).paragraphs, error: null, loadedAtMs: Date.now() },
    );
    docPollers.set(url, p);
  }
  return p;
}

/** The document as read through `node` (quorum reads), refreshed every 600 ms. */
export function useDoc(doc: string, node: string): DocSnapshot {
  const p = docPoller(doc, node);
  return useSyncExternalStore(p.subscribe, p.get);
}

export function refreshDoc(doc: string, node: string): void {
  void docPoller(doc, node).refresh();
}

const replicaPollers = new Map<string, Poller<ReplicaSnapshot>>();
const EMPTY_REPLICAS: ReplicaSnapshot = { keys: [], nodes: [], copies: {}, error: null };

/** Every node's own copy of every paragraph (`?local=true`): who is behind. */
export function useReplicas(doc: string): ReplicaSnapshot {
  let p = replicaPollers.get(doc);
  if (!p) {
    p = new Poller<ReplicaSnapshot>(`/api/collab/replicas?doc=${encodeURIComponent(doc)}`, REPLICAS_POLL_MS, EMPTY_REPLICAS, (json, error, prev) =>
      error ? { ...prev, error } : { ...(json as Omit<ReplicaSnapshot, 'error'>), error: null },
    );
    replicaPollers.set(doc, p);
  }
  return useSyncExternalStore(p.subscribe, p.get);
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await labFetch(path, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
  const json = (await res.json().catch(() => ({}))) as T & { error?: { message?: string } };
  if (!res.ok) throw new Error(json.error?.message ?? `${method} ${path} answered ${res.status}`);
  return json;
}

export const collabApi = {
  seed: (doc: string) => call<{ created: number }>('POST', '/api/collab/seed', { doc }),
  write: (node: string, key: string, value: ParagraphValue, context: string | null) => call<{ context: string; vectorClock: Record<string, number> }>('PUT', '/api/collab/para', { node, key, value, context }),
  simulateConflict: (key: string, a: { editor: string; node: string; html: string }, b: { editor: string; node: string; html: string }) =>
    call<{ settled: boolean; versions: number }>('POST', '/api/collab/simulate-conflict', { key, a, b }),
  antiEntropy: () => call<unknown>('POST', '/api/collab/anti-entropy'),
};

// --- presence ------------------------------------------------------------------------------

export interface PresenceEntry {
  readonly id: number;
  readonly editor: string;
  readonly node: string;
  readonly color: string;
  readonly doc: string;
  readonly paragraph: string | null;
  readonly offset: number | null;
  /** Bumped after each save: a hint for the others to read now. */
  readonly rev?: number;
}

export interface PresenceSnapshot {
  readonly you: number | null;
  readonly roster: readonly PresenceEntry[];
  readonly connected: boolean;
}

/** One editor's presence connection: sends where its cursor is, receives everyone's. */
export class PresenceClient {
  #snapshot: PresenceSnapshot = { you: null, roster: [], connected: false };
  #listeners = new Set<Listener>();
  #ws: WebSocket | null = null;
  #state: Omit<PresenceEntry, 'id'>;
  #closed = false;

  constructor(state: Omit<PresenceEntry, 'id'>) {
    this.#state = state;
    this.#connect();
  }

  subscribe = (fn: Listener): (() => void) => {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  };

  get = (): PresenceSnapshot => this.#snapshot;

  update(patch: Partial<Omit<PresenceEntry, 'id'>>): void {
    this.#state = { ...this.#state, ...patch };
    if (this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(JSON.stringify(this.#state));
  }

  close(): void {
    this.#closed = true;
    this.#ws?.close();
  }

  #connect(): void {
    const ws = openLabSocket('/api/collab/presence');
    this.#ws = ws;
    ws.onopen = () => {
      ws.send(JSON.stringify(this.#state));
      this.#set({ connected: true });
    };
    ws.onmessage = (m) => {
      try {
        const msg = JSON.parse(String(m.data)) as { type: string; you: number; roster: PresenceEntry[] };
        if (msg.type === 'presence') this.#set({ you: msg.you, roster: msg.roster });
      } catch {
        // ignore
      }
    };
    ws.onclose = () => {
      this.#ws = null;
      this.#set({ connected: false });
      if (!this.#closed) window.setTimeout(() => this.#connect(), PRESENCE_RECONNECT_MS);
    };
    ws.onerror = () => ws.close();
  }

  #set(patch: Partial<PresenceSnapshot>): void {
    this.#snapshot = { ...this.#snapshot, ...patch };
    for (const fn of this.#listeners) fn();
  }
}

export function usePresence(client: PresenceClient): PresenceSnapshot {
  return useSyncExternalStore(client.subscribe, client.get);
}
