import type { ClusterBackend } from './cluster-backend.ts';
import { REPO_ROOT } from '../repo-root.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { makeDir } from '../storage/make-dir.ts';
import { nodeExecArgv } from './node-exec-argv.ts';
import { join, resolve } from 'node:path';

/** Path of the CLI entry point, so children run exactly this checkout's code. */
export const BIN = join(REPO_ROOT, 'bin', 'nosqldb.js');

export interface LocalNodeSpec {
  readonly id: string;
  readonly port: number;
  readonly zone?: string;
  readonly extraArgs?: readonly string[];
}

export type ProcessState = 'starting' | 'running' | 'stopped' | 'killed' | 'exited';

export interface LocalNodeInfo {
  readonly id: string;
  readonly url: string;
  readonly port: number;
  readonly zone: string;
  readonly pid: number | null;
  readonly state: ProcessState;
  readonly dataDir: string;
}

export interface LocalClusterOptions {
  readonly dataDir: string;
  readonly host?: string;
  /** Extra flags for every node (e.g. `--n 3`). */
  readonly nodeArgs?: readonly string[];
  /** Where children's output goes; default: prefixed onto this process's stderr. */
  readonly onOutput?: (id: string, line: string) => void;
  readonly onExit?: (id: string, code: number | null, signal: string | null) => void;
}

interface Managed {
  spec: LocalNodeSpec;
  child: ChildProcess | null;
  state: ProcessState;
  seeds: string[];
  /** How its last process ended on its own (state 'exited'), e.g. `exit code 1`. */
  exit?: string;
}

/**
 * A cluster of `nosqldb node` child processes on this machine: what `nosqldb cluster`, the Lab
 * and the end-to-end tests run. Real processes, so a kill is a real SIGKILL and a restart
 * recovers from the node's own data directory. It restarts nothing by itself.
 */
export class LocalCluster implements ClusterBackend {
  readonly managesProcesses = true;
  readonly #nodes = new Map<string, Managed>();
  readonly #opts: LocalClusterOptions;
  readonly #host: string;

  constructor(options: LocalClusterOptions) {
    this.#opts = options;
    this.#host = options.host ?? '127.0.0.1';
  }

  urlOf(id: string): string {
    const m = this.#nodes.get(id);
    if (!m) throw new Error(`no node ${id}`);
    return `http://${this.#host}:${m.spec.port}`;
  }

  /**
   * A node whose process ended on its own (not stopped or killed from here), as `n1 (exit code
   * 1)`, or undefined. While a cluster forms, such a node will not come back by waiting: a port
   * in use, a data dir it cannot open.
   */
  exitedNode(): string | undefined {
    for (const m of this.#nodes.values()) {
      if (m.state === 'exited') return `${m.spec.id} (${m.exit ?? 'exited'})`;
    }
    return undefined;
  }

  nodes(): LocalNodeInfo[] {
    return [...this.#nodes.values()].map((m) => ({
      id: m.spec.id,
      url: `http://${this.#host}:${m.spec.port}`,
      port: m.spec.port,
      zone: m.spec.zone ?? 'default',
      pid: m.child?.pid ?? null,
      state: m.state,
      dataDir: this.dataDirOf(m.spec.id),
    }));
  }

  dataDirOf(id: string): string {
    return resolve(join(this.#opts.dataDir, id));
  }

  /** Starts nodes that name each other as seeds (they form one cluster), plus `seeds`. */
  start(specs: readonly LocalNodeSpec[], extraSeeds: readonly string[] = []): void {
    const all = [...this.#nodes.values()].map((m) => m.spec).concat(specs);
    for (const spec of specs) {
      if (this.#nodes.has(spec.id)) throw new Error(`node ${spec.id} exists`);
      const seeds = all.filter((s) => s.id !== spec.id).map((s) => `${this.#host}:${s.port}`).concat(extraSeeds);
      const m: Managed = { spec, child: null, state: 'stopped', seeds };
      this.#nodes.set(spec.id, m);
      this.#spawn(m);
    }
  }

  /** SIGKILL: the process dies at once, with whatever it had not made durable. */
  kill(id: string): void {
    const m = this.#get(id);
    if (m.child && m.state !== 'exited' && m.state !== 'killed') {
      m.state = 'killed';
      m.child.kill('SIGKILL');
    }
  }

  /** Starts a stopped or killed node again on its own data. */
  restart(id: string): void {
    const m = this.#get(id);
    if (m.child && (m.state === 'running' || m.state === 'starting')) throw new Error(`node ${id} is running`);
    this.#spawn(m);
  }

  /** Forgets a node (after it left); its process must be gone. */
  remove(id: string): void {
    const m = this.#get(id);
    if (m.child && (m.state === 'running' || m.state === 'starting')) throw new Error(`node ${id} is running`);
    this.#nodes.delete(id);
  }

  /** SIGTERM to a node; resolves when it has exited (SIGKILL after `graceMs`). */
  async stopNode(id: string, graceMs = 4000): Promise<void> {
    const m = this.#get(id);
    const child = m.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    m.state = 'stopped';
    await new Promise<void>((res) => {
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      child.once('exit', () => {
        clearTimeout(t);
        res();
      });
      child.kill('SIGTERM');
    });
  }

  /** Stops every node it started. */
  async stop(graceMs = 4000): Promise<void> {
    await Promise.all([...this.#nodes.keys()].map((id) => this.stopNode(id, graceMs)));
  }

  /** Removes the data directory (for --fresh), only under the configured root. */
  static wipe(dataDir: string): void {
    rmSync(dataDir, { recursive: true, force: true });
  }

  #get(id: string): Managed {
    const m = this.#nodes.get(id);
    if (!m) throw new Error(`no node ${id}`);
    return m;
  }

  #spawn(m: Managed): void {
    const dataDir = this.dataDirOf(m.spec.id);
    makeDir(dataDir);
    const args = [
      // Single-threaded GC, plus NOSQLDB_NODE_EXEC_ARGV (node-exec-argv.ts).
      ...nodeExecArgv(),
      BIN,
      'node',
      '--id',
      m.spec.id,
      '--port',
      String(m.spec.port),
      '--host',
      this.#host,
      '--data-dir',
      dataDir,
      ...(m.seeds.length > 0 ? ['--seeds', m.seeds.join(',')] : []),
      ...(m.spec.zone ? ['--zone', m.spec.zone] : []),
      ...(this.#opts.nodeArgs ?? []),
      ...(m.spec.extraArgs ?? []),
    ];
    // stdin is a pipe the child watches: if this process dies without stopping it (even by
    // SIGKILL), the pipe closes and the child exits, so no orphan keeps its ports and data.
    const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NOSQLDB_EXIT_WITH_PARENT: '1' } });
    m.child = child;
    m.state = 'starting';
    const out = this.#opts.onOutput ?? ((id: string, line: string) => process.stderr.write(`[${id}] ${line}\n`));
    for (const stream of [child.stdout, child.stderr]) {
      let buf = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line.startsWith('serving:')) m.state = 'running';
          out(m.spec.id, line);
        }
      });
    }
    child.on('exit', (code, signal) => {
      if (m.child !== child) return;
      if (m.state !== 'killed' && m.state !== 'stopped') {
        m.state = 'exited';
        m.exit = signal !== null ? `signal ${signal}` : `exit code ${String(code)}`;
      }
      this.#opts.onExit?.(m.spec.id, code, signal);
    });
  }
}

/**
 * Polls until every node serves, knows every other node, and all share one ring. `failed`, when
 * given, names a node that can no longer join (LocalCluster.exitedNode): the wait then ends at
 * once with that reason instead of at the deadline.
 */
export async function waitForCluster(
  urls: readonly string[],
  ids: readonly string[],
  deadlineMs: number,
  adminToken?: string,
  failed?: () => string | undefined,
): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    if (await clusterFormed(urls, ids, adminToken)) return;
    const gone = failed?.();
    if (gone !== undefined) throw new Error(`cluster cannot form: node ${gone} while starting`);
    if (Date.now() > until) throw new Error(`cluster did not form within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function clusterFormed(urls: readonly string[], ids: readonly string[], adminToken?: string): Promise<boolean> {
  const headers: Record<string, string> = adminToken ? { authorization: `Bearer ${adminToken}` } : {};
  try {
    const statuses = await Promise.all(
      urls.map(async (u) => {
        const res = await fetch(`${u}/admin/status`, { headers, signal: AbortSignal.timeout(1000) });
        return (await res.json()) as { ringVersion: number | null; members: { id: string; state: string; partitions: number }[] };
      }),
    );
    const version = statuses[0]?.ringVersion;
    return statuses.every(
      (s) =>
        s.ringVersion !== null &&
        s.ringVersion === version &&
        ids.every((id) => s.members.some((m) => m.id === id && m.state === 'up' && m.partitions > 0)),
    );
  } catch {
    return false;
  }
}
