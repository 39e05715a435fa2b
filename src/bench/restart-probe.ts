import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { LocalCluster } from '../cluster/local-cluster.ts';
import { waitForHttp } from './child-process.ts';

/** How long a restarting node may take before the probe gives up. */
const RESTART_DEADLINE_MS = 300_000;

export interface RestartResult {
  readonly node: string;
  /** Keys the node reported holding before it was stopped (`/admin/status` `keys`). */
  readonly keys: number | null;
  readonly rssBeforeMb: number | null;
  /** From spawn to `/health` answering. */
  readonly healthyMs: number;
  /** From spawn to a quorum read of `sampleKey` through this node answering 200. */
  readonly servingMs: number;
  readonly rssAfterMb: number | null;
}

/** Resident memory of a process in MB (Linux /proc), or null elsewhere. */
export function rssMb(pid: number | null | undefined): number | null {
  if (!pid) return null;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

/**
 * Stops node `id` gracefully, starts it again on its data, and times how long it takes to
 * answer `/health` and then to serve a quorum read through itself.
 */
export async function probeRestart(
  cluster: LocalCluster,
  id: string,
  samplePath: string,
): Promise<RestartResult> {
  const info = (): { pid: number | null; url: string } => {
    const n = cluster.nodes().find((x) => x.id === id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  };
  const { url, pid } = info();
  const status = (await (await fetch(`${url}/admin/status`)).json()) as { keys?: unknown };
  const keys = typeof status.keys === 'number' ? status.keys : null;
  const rssBeforeMb = rssMb(pid);
  await cluster.stopNode(id, 10_000);
  const t0 = performance.now();
  cluster.restart(id);
  await waitForHttp(`${url}/health`, RESTART_DEADLINE_MS);
  const healthyMs = performance.now() - t0;
  await waitForHttp(`${url}${samplePath}`, RESTART_DEADLINE_MS);
  const servingMs = performance.now() - t0;
  return {
    node: id,
    keys,
    rssBeforeMb,
    healthyMs: Math.round(healthyMs),
    servingMs: Math.round(servingMs),
    rssAfterMb: rssMb(info().pid),
  };
}
