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
