import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster, waitForCluster } from '../../src/cluster/local-cluster.ts';
import { startLab, type RunningLab } from '../../src/lab/lab-server.ts';

/** A real 3-node cluster of child processes with the Lab in front of it. */
export interface LabHarness {
  readonly cluster: LocalCluster;
  readonly lab: RunningLab;
  readonly url: string;
  close(): Promise<void>;
}

/**
 * `peerBasePort` puts node i's peer port at `peerBasePort + i` instead of its HTTP port + 1000,
 * for tests that must keep every port they open inside one range. `adminToken` guards the Lab.
 */
export async function startLabHarness(options: { basePort: number; labPort: number; web: boolean; peerBasePort?: number; adminToken?: string }): Promise<LabHarness> {
  const dir = await mkdtemp(join(tmpdir(), 'nosqldb-lab-'));
  const output: string[] = [];
  const cluster = new LocalCluster({ dataDir: dir, onOutput: (id, line) => output.push(`[${id}] ${line}`) });
  const ids = ['n1', 'n2', 'n3'];
  const peer = options.peerBasePort;
  cluster.start(ids.map((id, i) => ({ id, port: options.basePort + i, ...(peer !== undefined ? { extraArgs: ['--peer-port', String(peer + i)] } : {}) })));
  try {
    await waitForCluster(ids.map((id) => cluster.urlOf(id)), ids, 40_000);
    const lab = await startLab({ cluster, port: options.labPort, host: '127.0.0.1', web: options.web, adminToken: options.adminToken });
    return {
      cluster,
      lab,
      url: `http://127.0.0.1:${options.labPort}`,
      close: async () => {
        await lab.close();
        await cluster.stop(3000);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await cluster.stop(3000);
    await rm(dir, { recursive: true, force: true });
    throw new Error(`${(e as Error).message}\n${output.slice(-20).join('\n')}`);
  }
}

/** Polls `check` until it returns a value (not undefined/false) or the deadline passes. */
export async function until<T>(what: string, deadlineMs: number, check: () => Promise<T | undefined | false> | T | undefined | false): Promise<T> {
  const end = Date.now() + deadlineMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Test responses are checked field by field; `any` keeps those checks short.
/* eslint-disable @typescript-eslint/no-explicit-any */
export async function api(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${base}${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json };
}
/* eslint-enable @typescript-eslint/no-explicit-any */
