import { DEFAULTS } from '../../src/node/config.ts';
import type { NodeConfig } from '../../src/node/config.ts';
import type { Storage } from '../../src/storage/storage.ts';
import { startNode, type RunningNode } from '../../src/server/start-node.ts';
import { waitForCluster } from '../../src/cluster/local-cluster.ts';

export interface TestCluster {
  readonly nodes: RunningNode[];
  url(i: number): string;
  close(): Promise<void>;
}

/**
 * N real nodes in this process: real HTTP and TCP on ephemeral loopback ports, in-memory
 * storage (or LMDB under `dataDir`). The first node bootstraps the ring; the others join it.
 */
export async function startTestCluster(
  count: number,
  overrides: Partial<Omit<NodeConfig, 'id' | 'httpUrl' | 'peer'>> = {},
  /** Fixed ports (node i on `http + i`, `peer + i`) for tests that must stay in a port range; default ephemeral. */
  ports?: { readonly http: number; readonly peer: number },
  /** Node i's storage (1-based, like its id `n<i>`); default in-memory. */
  storage?: (i: number) => Storage,
): Promise<TestCluster> {
  const nodes: RunningNode[] = [];
  try {
    for (let i = 1; i <= count; i++) {
      const seeds = nodes.map((n) => n.url.replace('http://', ''));
      const fixed = ports ? { http: ports.http + i - 1, peer: ports.peer + i - 1 } : rangePorts();
      nodes.push(
        await startNode({
          host: '127.0.0.1',
          port: fixed ? fixed.http : 0,
          ...(fixed ? { peerPort: fixed.peer } : {}),
          ...(storage ? { storage: storage(i) } : {}),
          config: { ...DEFAULTS, gossipIntervalMs: 200, id: `n${i}`, seeds, ...overrides },
        }),
      );
    }
    await waitForCluster(
      nodes.map((n) => n.url),
      nodes.map((n) => n.node.id),
      20_000,
    );
  } catch (e) {
    await Promise.all(nodes.map((n) => n.close()));
    throw e;
  }
  return {
    nodes,
    url: (i) => nodes[i]!.url,
    close: async () => {
      await Promise.all(nodes.map((n) => n.close()));
    },
  };
}

/**
 * With TEST_PORT_BASE set (machines where tests must stay in a port range), nodes not given
 * fixed ports take the next two of [base, base + TEST_PORT_COUNT) (default 200), wrapping
 * around; run the test files one at a time (`--fileParallelism=false`) then.
 */
let portsTaken = 0;
export function rangePorts(): { http: number; peer: number } | undefined {
  const base = Number(process.env.TEST_PORT_BASE ?? 0);
  if (!base) return undefined;
  const size = Number(process.env.TEST_PORT_COUNT ?? 200);
  const at = portsTaken % size;
  portsTaken = (portsTaken + 2) % size;
  return { http: base + at, peer: base + ((at + 1) % size) };
}

/** Polls `check` until it returns true or the deadline passes (then throws with `what`). */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, deadlineMs = 10_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
