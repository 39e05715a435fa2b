import { useSyncExternalStore } from 'react';
import { labFetch } from '../../data/lab-source.ts';

/**
 * GlobalCDN's data source: the only place its components talk to the Lab (STYLE 12). Polls the
 * catalogue summary (loads, generator, migrations, ring points) and one page of files.
 */

const SUMMARY_POLL_MS = 1000;
const FILES_POLL_MS = 1500;
export const FILES_PAGE = 40;

export interface Migration {
  readonly id: number;
  readonly kind: 'add' | 'remove';
  readonly target: string;
  readonly phase: string;
  readonly startedAtMs: number;
  readonly endedAtMs: number | null;
  readonly reads: { ok: number; failed: number; lastError: string | null };
  readonly stats: {
    files: number;
    copiesBefore: number;
    copiesAfter: number;
    copiesMoved: number;
    filesMoved: number;
    bytesMoved: number;
    partitionsMoved: number;
    nodesBefore: number;
    nodesAfter: number;
    minimumCopies: number;
    ratioToMinimum: number;
    moduloCopies: number;
    primariesMoved: number;
    moduloPrimaries: number;
  } | null;
  readonly error: string | null;
}

export interface Summary {
  readonly files: number;
  readonly bytes: number;
  readonly loads: readonly { node: string; zone: string; files: number; bytes: number }[];
  readonly generate: { running: boolean; total: number; done: number; failed: number; lastError: string | null };
  readonly migrations: readonly Migration[];
  readonly scanAtMs: number | null;
  readonly fileBytesMax: number;
  readonly points: readonly [string, number][];
}

export interface CdnFileRow {
  readonly name: string;
  readonly key: string;
  readonly size: number;
  readonly contentType: string;
  readonly hash: string;
  readonly hashHi: number;
  readonly preferenceList: readonly string[];
  readonly holders: readonly string[];
}

export interface FilesPage {
  readonly total: number;
  readonly files: readonly CdnFileRow[];
}

type Listener = () => void;

class Poll<T> {
  #value: T | null = null;
  #error: string | null = null;
  #listeners = new Set<Listener>();
  #timer: number | undefined;
  #snap: { value: T | null; error: string | null } = { value: null, error: null };
  constructor(
    readonly url: () => string,
    readonly periodMs: number,
  ) {}
  subscribe = (fn: Listener): (() => void) => {
    this.#listeners.add(fn);
    if (this.#timer === undefined) {
      void this.refresh();
      this.#timer = window.setInterval(() => void this.refresh(), this.periodMs);
    }
    return () => {
      this.#listeners.delete(fn);
      if (this.#listeners.size === 0) {
        window.clearInterval(this.#timer);
        this.#timer = undefined;
      }
    };
  };
  get = (): { value: T | null; error: string | null } => this.#snap;
  async refresh(): Promise<void> {
    try {
      const res = await labFetch(this.url());
      if (!res.ok) throw new Error(`${this.url()} answered ${res.status}`);
      this.#value = (await res.json()) as T;
      this.#error = null;
    } catch (e) {
      this.#error = (e as Error).message;
    }
    this.#snap = { value: this.#value, error: this.#error };
    for (const fn of this.#listeners) fn();
  }
}

const summary = new Poll<Summary>(() => '/api/cdn/summary', SUMMARY_POLL_MS);
let filesOffset = 0;
const files = new Poll<FilesPage>(() => `/api/cdn/files?offset=${filesOffset}&limit=${FILES_PAGE}`, FILES_POLL_MS);

export function useSummary(): { value: Summary | null; error: string | null } {
  return useSyncExternalStore(summary.subscribe, summary.get);
}

export function useFiles(): { value: FilesPage | null; error: string | null } {
  return useSyncExternalStore(files.subscribe, files.get);
}

export function setFilesOffset(offset: number): void {
  filesOffset = Math.max(0, offset);
  void files.refresh();
}

function refreshAll(): void {
  void summary.refresh();
  void files.refresh();
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await labFetch(path, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
  const json = (await res.json().catch(() => ({}))) as T & { error?: { message?: string } };
  refreshAll();
  if (!res.ok) throw new Error(json.error?.message ?? `${method} ${path} answered ${res.status}`);
  return json;
}

export interface RouteResult {
  readonly replicas: readonly { node: string; zone: string; simulatedMs: number; measuredMs: number | null }[];
  readonly nearest: string | null;
  readonly random: string | null;
}

export const cdnApi = {
  upload: async (file: File): Promise<CdnFileRow> => {
    const res = await labFetch(`/api/cdn/files/${encodeURIComponent(file.name)}`, { method: 'PUT', headers: { 'content-type': file.type || 'application/octet-stream' }, body: file });
    const json = (await res.json().catch(() => ({}))) as { file?: CdnFileRow; error?: { message?: string } };
    refreshAll();
    if (!res.ok || !json.file) throw new Error(json.error?.message ?? (res.status === 413 ? `${file.name} is larger than the 1 MiB value limit` : `upload answered ${res.status}`));
    return json.file;
  },
  generate: (count: number) => call('POST', '/api/cdn/generate', { count }),
  addNode: (zone: string) => call('POST', '/api/cdn/nodes', { zone }),
  removeNode: (id: string) => call('DELETE', `/api/cdn/nodes/${encodeURIComponent(id)}`),
  rebalance: () => call('POST', '/api/cdn/rebalance'),
  wan: (enabled: boolean) => call('POST', '/api/cdn/wan', { enabled }),
  route: (name: string, client: string) => call<RouteResult>('GET', `/api/cdn/route?name=${encodeURIComponent(name)}&client=${encodeURIComponent(client)}`),
  downloadUrl: (name: string) => `/api/cdn/files/${encodeURIComponent(name)}/content?download=1`,
};

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}
