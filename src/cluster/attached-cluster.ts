import type { ClusterBackend } from './cluster-backend.ts';
import type { LocalNodeInfo, LocalNodeSpec, ProcessState } from './local-cluster.ts';

interface Attached {
  id: string;
  url: string;
  zone: string;
  state: ProcessState;
}

/** How often the attached nodes are polled for who they are and whether they answer. */
const POLL_MS = 1000;

/**
 * A cluster this process did not start (`nosqldb lab --attach URL,...`): nodes are found by
 * their HTTP addresses. Kill asks a node to shut down (`POST /admin/shutdown`); its container
 * or StatefulSet starts it again, so restart is the orchestrator's job. Adding nodes is too.
 */
export class AttachedCluster implements ClusterBackend {
  readonly managesProcesses = false;
  readonly #nodes = new Map<string, Attached>();
  readonly #headers: Record<string, string>;
  #timer: NodeJS.Timeout | null = null;

  private constructor(adminToken: string | undefined) {
    this.#headers = adminToken ? { authorization: `Bearer ${adminToken}` } : {};
  }

  /** Connects to every URL (waiting up to `deadlineMs` for each to answer /health). */
  static async attach(urls: readonly string[], adminToken: string | undefined, deadlineMs = 60_000): Promise<AttachedCluster> {
    const c = new AttachedCluster(adminToken);
    const until = Date.now() + deadlineMs;
    for (const raw of urls) {
      const url = raw.replace(/\/$/, '');
      for (;;) {
        try {
          const h = (await (await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) })).json()) as { id?: unknown };
          if (typeof h.id !== 'string') throw new Error('no id');
          c.#nodes.set(h.id, { id: h.id, url, zone: 'default', state: 'running' });
          break;
        } catch (e) {
          if (Date.now() > until) throw new Error(`cannot attach to ${url}: ${(e as Error).message}`);
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    }
    await c.#poll();
    c.#timer = setInterval(() => void c.#poll(), POLL_MS);
    c.#timer.unref();
    return c;
  }

  nodes(): LocalNodeInfo[] {
    return [...this.#nodes.values()].map((n) => ({
      id: n.id,
      url: n.url,
      port: Number(new URL(n.url).port || 80),
      zone: n.zone,
      pid: null,
      state: n.state,
      dataDir: '',
    }));
  }

  urlOf(id: string): string {
    return this.#get(id).url;
  }

  kill(id: string): void {
    const n = this.#get(id);
    n.state = 'killed';
    void fetch(`${n.url}/admin/shutdown`, { method: 'POST', headers: this.#headers }).catch(() => undefined);
  }

  /** The orchestrator restarts a killed node; this only waits to see it answer again. */
  restart(id: string): void {
    this.#get(id).state = 'starting';
  }

  start(_specs: readonly LocalNodeSpec[]): void {
    throw new Error('attached to an existing cluster: add nodes through its orchestrator (e.g. kubectl scale)');
  }

  async stopNode(id: string): Promise<void> {
    const n = this.#get(id);
    await fetch(`${n.url}/admin/shutdown`, { method: 'POST', headers: this.#headers }).catch(() => undefined);
    n.state = 'stopped';
  }

  remove(id: string): void {
    this.#nodes.delete(id);
  }

  /** Detaching stops nothing: the cluster is not ours. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
  }

  #get(id: string): Attached {
    const n = this.#nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  async #poll(): Promise<void> {
    await Promise.all(
      [...this.#nodes.values()].map(async (n) => {
        try {
          const s = (await (await fetch(`${n.url}/admin/status`, { headers: this.#headers, signal: AbortSignal.timeout(1500) })).json()) as { zone?: unknown };
          if (typeof s.zone === 'string') n.zone = s.zone;
          n.state = 'running';
        } catch {
          if (n.state === 'running') n.state = 'exited';
        }
      }),
    );
  }
}
