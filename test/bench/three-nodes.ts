import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULTS, type NodeConfig } from '../../src/node/config.ts';
import { startNode, type RunningNode } from '../../src/server/start-node.ts';
import { waitForCluster } from '../../src/cluster/local-cluster.ts';

/**
 * Three real nodes in this process for the micro-benchmarks: LMDB under `dir`, HTTP on
 * `port`..`port`+2, peers on `port`+10.., each started into `nodes` as it comes up (so the
 * caller can close whatever started if a later one fails), resolved once they form one cluster.
 */
export async function startThreeNodes(
  nodes: RunningNode[],
  dir: string,
  port: number,
  config: Partial<Omit<NodeConfig, 'id' | 'seeds' | 'httpUrl' | 'peer'>> = {},
): Promise<void> {
  const http = [port, port + 1, port + 2];
  for (let i = 0; i < 3; i++) {
    nodes.push(
      await startNode({
        host: '127.0.0.1',
        port: http[i]!,
        peerPort: port + 10 + i,
        dataDir: join(dir, `n${i + 1}`),
        config: {
          ...DEFAULTS,
          ...config,
          id: `n${i + 1}`,
          seeds: http.slice(0, i).map((p) => `127.0.0.1:${p}`),
        },
      }),
    );
  }
  await waitForCluster(
    nodes.map((n) => n.url),
    nodes.map((n) => n.node.id),
    30_000,
  );
}

/**
 * Runs `op(i)` for i = 0..count-1 with `inFlight` of them at once; returns ops per second and µs
 * of this process's CPU (all three nodes, libuv's and LMDB's threads included) per op.
 */
export async function timed(
  count: number,
  inFlight: number,
  op: (i: number) => Promise<unknown>,
): Promise<{ perS: number; cpuUs: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) await op(next++);
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return {
    perS: count / ((performance.now() - t0) / 1000),
    cpuUs: (cpu.user + cpu.system) / count,
  };
}

/**
 * Starts three nodes (see startThreeNodes) in a fresh temp dir named after `name`, runs `body`
 * with them, then closes whatever started and removes the dir; a failure sets the exit code.
 */
export function withThreeNodes(
  name: string,
  port: number,
  body: (nodes: readonly RunningNode[]) => Promise<void>,
): void {
  const dir = mkdtempSync(join(tmpdir(), `nosqldb-${name}-`));
  const nodes: RunningNode[] = [];
  startThreeNodes(nodes, dir, port)
    .then(() => body(nodes))
    .finally(async () => {
      for (const n of nodes) await n.close();
      rmSync(dir, { recursive: true, force: true });
    })
    .catch((e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    });
}
