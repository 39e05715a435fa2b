import { useSyncExternalStore, type MouseEvent } from 'react';
import { TOKEN_PROTOCOL_PREFIX, type LabEvent, type LabRun, type LabState, type TrafficConfig, type LinkFault } from '../../../src/lab/lab-types.ts';
import { parseRun } from '../../../src/lab/run-replay.ts';

/**
 * The one place the UI talks to the Lab server: it polls `GET /api/state`, keeps the
 * `WS /api/events` socket (reconnecting), and exposes both as snapshots that components
 * render. Components never open sockets or poll themselves.
 */

/** Snapshot refresh period: one chart point per second arrives at this pace too. */
const STATE_POLL_MS = 1000;
const EVENTS_KEPT = 300;
const RECONNECT_MS = 1000;
const REFRESH_COALESCE_MS = 150;
/** Where the admin token a user typed is kept: this tab only, gone when it closes. */
const TOKEN_KEY = 'nosqldb-lab-token';

export interface Snapshot {
  readonly state: LabState | null;
  readonly events: readonly LabEvent[];
  readonly connected: boolean;
  readonly error: string | null;
  /** The Lab runs with `--admin-token` and this tab has none (or a wrong one). */
  readonly needsToken: boolean;
}

function token(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

/** Headers for a Lab API call: the admin token when the user gave one. */
function authHeaders(): Record<string, string> {
  const t = token();
  return t ? { authorization: `Bearer ${t}` } : {};
}

/** `fetch` for the Lab API: every call carries the admin token when the user gave one. */
export function labFetch(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(path, { ...init, headers: { ...authHeaders(), ...(init.headers as Record<string, string> | undefined) } });
}

/**
 * `onClick` of a download link (`<a href download>`) to the Lab API. A browser sends no
 * Authorization header when it follows a link, so with an admin token the file is fetched with
 * it and saved from memory instead, under the name the server gives (Content-Disposition).
 */
export function downloadWithToken(e: MouseEvent<HTMLAnchorElement>): void {
  if (!token()) return;
  e.preventDefault();
  const link = e.currentTarget;
  void labFetch(link.href).then(async (res) => {
    if (!res.ok) {
      const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
      window.alert(`Download failed: ${body.error?.message ?? `HTTP ${res.status}`}`);
      return;
    }
    const named = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '');
    const url = URL.createObjectURL(await res.blob());
    const save = document.createElement('a');
    save.href = url;
    save.download = named?.[1] ?? (link.getAttribute('download') || 'download');
    save.click();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  });
}

/** A socket to the Lab (`/api/events`, the demos' sockets), carrying the admin token when there is one. */
export function openLabSocket(path: string): WebSocket {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;
  const t = token();
  if (!t) return new WebSocket(url);
  // Browsers cannot set headers on a socket: the token travels as a subprotocol, base64url-encoded.
  const b64 = btoa(String.fromCharCode(...new TextEncoder().encode(t)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
  return new WebSocket(url, [`${TOKEN_PROTOCOL_PREFIX}${b64}`]);
}

type Listener = () => void;

class LabSource {
  #snapshot: Snapshot = { state: null, events: [], connected: false, error: null, needsToken: false };
  #listeners = new Set<Listener>();
  #started = false;
  #pollTimer: number | undefined;
  #socket: WebSocket | null = null;
  #fetching = false;
  #again = false;
  #soon: number | undefined;

  subscribe = (fn: Listener): (() => void) => {
    this.#listeners.add(fn);
    this.#start();
    return () => this.#listeners.delete(fn);
  };

  getSnapshot = (): Snapshot => this.#snapshot;

  #set(patch: Partial<Snapshot>): void {
    this.#snapshot = { ...this.#snapshot, ...patch };
    for (const fn of this.#listeners) fn();
  }

  #start(): void {
    if (this.#started) return;
    this.#started = true;
    void this.refresh();
    this.#pollTimer = window.setInterval(() => void this.refresh(), STATE_POLL_MS);
    this.#connect();
  }

  /** Fetches a fresh state now (also after every action, so buttons feel immediate). */
  async refresh(): Promise<void> {
    if (this.#fetching) {
      this.#again = true;
      return;
    }
    this.#fetching = true;
    try {
      const res = await labFetch('/api/state');
      if (res.status === 401) {
        this.#set({ needsToken: true, error: 'this Lab needs its admin token' });
        return;
      }
      if (!res.ok) throw new Error(`GET /api/state answered ${res.status}`);
      this.#set({ state: (await res.json()) as LabState, error: null, needsToken: false });
    } catch (e) {
      this.#set({ error: (e as Error).message });
    } finally {
      this.#fetching = false;
      if (this.#again) {
        this.#again = false;
        void this.refresh();
      }
    }
  }

  /** Events come in bursts (a kill makes several): one refresh per burst is enough. */
  #refreshSoon(): void {
    if (this.#soon !== undefined) return;
    this.#soon = window.setTimeout(() => {
      this.#soon = undefined;
      void this.refresh();
    }, REFRESH_COALESCE_MS);
  }

  /** Keeps the admin token for this tab, then fetches and reconnects with it. */
  setToken(value: string): void {
    try {
      sessionStorage.setItem(TOKEN_KEY, value);
    } catch {
      // Storage refused (private mode): nothing to keep it in.
    }
    this.#socket?.close();
    void this.refresh();
  }

  #connect(): void {
    const ws = openLabSocket('/api/events');
    this.#socket = ws;
    ws.onopen = () => this.#set({ connected: true, events: [] });
    ws.onmessage = (m) => {
      try {
        const e = JSON.parse(String(m.data)) as LabEvent;
        const events = [e, ...this.#snapshot.events].slice(0, EVENTS_KEPT);
        this.#set({ events });
        if (e.node === 'lab' || e.type === 'member-status' || e.type === 'ring-changed') this.#refreshSoon();
      } catch {
        // Not JSON: ignore, the stream is for watching.
      }
    };
    ws.onclose = () => {
      this.#socket = null;
      this.#set({ connected: false });
      window.setTimeout(() => this.#connect(), RECONNECT_MS);
    };
    ws.onerror = () => ws.close();
  }

  stop(): void {
    window.clearInterval(this.#pollTimer);
    this.#socket?.close();
  }
}

export const labSource = new LabSource();

/** The latest snapshot of the Lab (re-renders when it changes). */
export function useLab(): Snapshot {
  return useSyncExternalStore(labSource.subscribe, labSource.getSnapshot);
}

export class ApiError extends Error {}

async function call(method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await labFetch(path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
  void labSource.refresh();
  if (!res.ok) throw new ApiError(json.error?.message ?? `${method} ${path} answered ${res.status}`);
  return json;
}

/** The Lab's control API (see src/lab/lab-api.ts). */
export const labApi = {
  kill: (id: string) => call('POST', `/api/nodes/${encodeURIComponent(id)}/kill`),
  restart: (id: string) => call('POST', `/api/nodes/${encodeURIComponent(id)}/restart`),
  addNode: (zone?: string) => call('POST', '/api/nodes', zone ? { zone } : {}),
  removeNode: (id: string) => call('DELETE', `/api/nodes/${encodeURIComponent(id)}`),
  partition: (groups: string[][]) => call('POST', '/api/partition', { groups }),
  links: (links: LinkFault[], loss: Record<string, number>) => call('POST', '/api/links', { links, loss }),
  heal: () => call('POST', '/api/heal'),
  skew: (id: string, clockSkewMs: number) => call('POST', `/api/nodes/${encodeURIComponent(id)}/skew`, { clockSkewMs }),
  startTraffic: (config: TrafficConfig) => call('POST', '/api/traffic/start', config),
  stopTraffic: () => call('POST', '/api/traffic/stop'),
};

/** This session's recorded run (`GET /api/run`), checked as a file from disk would be. */
export async function fetchSessionRun(): Promise<LabRun> {
  const res = await labFetch('/api/run');
  if (!res.ok) throw new ApiError(`GET /api/run answered ${res.status}`);
  return parseRun(await res.json());
}
