import { parseArgs } from 'node:util';
import { LocalCluster, waitForCluster } from '../cluster/local-cluster.ts';
import { intFlag } from './flags.ts';

/** How long a fresh local cluster may take to form before the command gives up. */
const FORM_DEADLINE_MS = 30_000;

/**
 * `nosqldb cluster` (and, with the Lab, `nosqldb lab` / `npm start`): N local node processes,
 * ids n1..nN on ports base..base+N-1, data under DIR/nI. Prints `ready:` once every node
 * serves and sees the others; SIGINT/SIGTERM stops every process it started.
 */
export async function runCluster(argv: string[], mode: { lab: boolean }): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      nodes: { type: 'string' },
      'base-port': { type: 'string' },
      'data-dir': { type: 'string' },
      fresh: { type: 'boolean' },
      host: { type: 'string' },
      port: { type: 'string' },
      zones: { type: 'string' },
    },
  });
  const count = intFlag(values.nodes, 'nodes', 3, 1, 32);
  const basePort = intFlag(values['base-port'], 'base-port', 7001, 1, 65535 - 32);
  const labPort = intFlag(values.port, 'port', 3000, 0, 65535);
  const dataDir = values['data-dir'] ?? 'data';
  if (values.fresh) LocalCluster.wipe(dataDir);
  const cluster = new LocalCluster({ dataDir, ...(values.host ? { host: values.host } : {}) });
  const ids = Array.from({ length: count }, (_, i) => `n${i + 1}`);
  // Zones, cycled over the nodes. The Lab names its first nodes by region (GlobalCDN, issue 10).
  const zones = (values.zones ?? (mode.lab ? 'us-east,eu-west,asia' : '')).split(',').filter((z) => /^[A-Za-z0-9_.-]{1,64}$/.test(z));
  cluster.start(ids.map((id, i) => ({ id, port: basePort + i, ...(zones.length ? { zone: zones[i % zones.length] } : {}) })));

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping ${count} nodes`);
    setTimeout(() => process.exit(1), 4800).unref();
    await lab?.close().catch(() => undefined);
    await cluster.stop(3000);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  let lab: { url: string; close(): Promise<void> } | undefined;
  const urls = ids.map((id) => cluster.urlOf(id));
  try {
    await waitForCluster(urls, ids, FORM_DEADLINE_MS);
  } catch (e) {
    console.error(`nosqldb: ${(e as Error).message}`);
    await cluster.stop(2000);
    process.exit(1);
  }
  if (mode.lab) {
    const { startLab } = await import('../lab/lab-server.ts');
    const started = await startLab({ cluster, port: labPort, host: values.host ?? '127.0.0.1' });
    lab = started;
    console.log(`ready: lab ${started.url} nodes ${urls.join(' ')}`);
  } else {
    console.log(`ready: ${urls.join(' ')}`);
  }
}
