import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster, waitForCluster } from '../cluster/local-cluster.ts';
import { onCleanup } from './cleanup.ts';

/** How long a fresh local cluster may take to form. */
const FORM_DEADLINE_MS = 60_000;

export interface BenchCluster {
  readonly cluster: LocalCluster;
  readonly ids: readonly string[];
  readonly urls: readonly string[];
  readonly dataDir: string;
  /** The last lines each node printed, for error messages. */
  logs(): string;
  /** Stops every node and removes the data dir unless it was given (`--data-dir`). */
  stop(): Promise<void>;
}

/**
 * `bench --start`: a local cluster of real node processes (ids n1..nN, HTTP ports
 * base..base+N-1), on a temporary data dir unless `dataDir` is given.
 */
export async function startBenchCluster(options: {
  nodes: number;
  basePort: number;
  dataDir?: string | undefined;
  nodeArgs?: readonly string[];
}): Promise<BenchCluster> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'nosqldb-bench-'));
  const tails = new Map<string, string[]>();
  const cluster = new LocalCluster({
    dataDir,
    nodeArgs: options.nodeArgs ?? [],
    onOutput: (id, line) => {
      const t = tails.get(id) ?? [];
      t.push(line);
      // A bound on kept output: only the tail is ever shown.
      if (t.length > 20) t.shift();
      tails.set(id, t);
    },
  });
  const ids = Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`);
  cluster.start(ids.map((id, i) => ({ id, port: options.basePort + i })));
  const urls = ids.map((id) => cluster.urlOf(id));
  const logs = (): string =>
    [...tails].map(([id, lines]) => `--- ${id}\n${lines.join('\n')}`).join('\n');
  const stop = async (): Promise<void> => {
    unregister();
    await cluster.stop(5000);
    if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  const unregister = onCleanup(stop);
  try {
    await waitForCluster(urls, ids, FORM_DEADLINE_MS, undefined, () => cluster.exitedNode());
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\n${logs()}`);
  }
  return { cluster, ids, urls, dataDir, logs, stop };
}
