import { parseArgs } from 'node:util';
import { LocalCluster, waitForCluster } from '../cluster/local-cluster.ts';
import { fromEnv, intFlag, isLoopback } from './flags.ts';
import { UsageError } from './usage.ts';
import { AttachedCluster } from '../cluster/attached-cluster.ts';
import { authorizeNodeRequests } from '../cluster/node-auth.ts';

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
      attach: { type: 'string' },
      'admin-token': { type: 'string' },
      insecure: { type: 'boolean' },
    },
  });
  const adminToken = fromEnv(values['admin-token'], 'ADMIN_TOKEN', 'NOSQLDB_ADMIN_TOKEN');
  const host = values.host ?? '127.0.0.1';
  if (!isLoopback(host) && !adminToken && !values.insecure) {
    throw new UsageError(`refusing to bind ${host} without --admin-token (pass --insecure to do it anyway)`);
  }
  if (values.attach !== undefined) {
    if (!mode.lab) throw new UsageError('--attach goes with `nosqldb lab`');
    return attachLab(values.attach, intFlag(values.port, 'port', 3000, 0, 65535), host, adminToken);
  }
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
    await waitForCluster(urls, ids, FORM_DEADLINE_MS, undefined, () => cluster.exitedNode());
  } catch (e) {
    console.error(`nosqldb: ${(e as Error).message}`);
    await cluster.stop(2000);
    process.exit(1);
  }
  if (mode.lab) {
    const { startLab } = await import('../lab/lab-server.ts');
    let started: Awaited<ReturnType<typeof startLab>>;
    try {
      started = await startLab({ cluster, port: labPort, host, adminToken });
    } catch (e) {
      // The Lab's port in use: stop the nodes started for it rather than leave them to notice.
      console.error(`nosqldb: ${(e as Error).message}`);
      await cluster.stop(2000);
      process.exit(1);
    }
    lab = started;
    console.log(`ready: lab ${started.url} nodes ${urls.join(' ')}`);
  } else {
    console.log(`ready: ${urls.join(' ')}`);
  }
}

/**
 * `nosqldb lab --attach URL,...`: the Lab over a cluster someone else runs (Docker Compose,
 * Kubernetes). Faults go through each node's /admin/faults; Kill asks a node to shut down and
 * its supervisor restarts it.
 */
async function attachLab(list: string, port: number, host: string, adminToken: string | undefined): Promise<void> {
  const urls = list
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u.length > 0)
    .map((u) => (u.startsWith('http') ? u : `http://${u}`));
  if (urls.length === 0) throw new UsageError('--attach needs at least one node URL');
  if (adminToken) authorizeNodeRequests(urls, adminToken);
  const cluster = await AttachedCluster.attach(urls, adminToken);
  const { startLab } = await import('../lab/lab-server.ts');
  const lab = await startLab({ cluster, port, host, adminToken });
  const stop = (): void => {
    setTimeout(() => process.exit(1), 4800).unref();
    void lab
      .close()
      .catch(() => undefined)
      .then(() => cluster.stop())
      .then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  console.log(`ready: lab ${lab.url} nodes ${urls.join(' ')} (attached)`);
}
