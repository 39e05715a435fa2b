import { parseArgs } from 'node:util';
import { isNodeId } from '../core/types.ts';
import { DEFAULTS } from '../node/config.ts';
import { startNode } from '../server/start-node.ts';
import { fromEnv, intFlag, isLoopback } from './flags.ts';
import { UsageError } from './usage.ts';

/** `nosqldb node`: one database node in this process, until SIGINT or SIGTERM. */
export async function runNode(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      id: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'advertise-host': { type: 'string' },
      'peer-port': { type: 'string' },
      seeds: { type: 'string' },
      'data-dir': { type: 'string' },
      zone: { type: 'string' },
      n: { type: 'string' },
      r: { type: 'string' },
      w: { type: 'string' },
      partitions: { type: 'string' },
      'no-join': { type: 'boolean' },
      'no-hinted-handoff': { type: 'boolean' },
      'anti-entropy-interval-ms': { type: 'string' },
      'admin-token': { type: 'string' },
      'cluster-secret': { type: 'string' },
      insecure: { type: 'boolean' },
    },
  });
  let id = fromEnv(values.id, 'NODE_ID');
  if (id === undefined) throw new UsageError('--id is required');
  // The seed's compose file sets NODE_ID=1: a bare number names node n1.
  if (/^[0-9]+$/.test(id)) id = `n${id}`;
  if (!isNodeId(id)) throw new UsageError(`--id "${id}" must be letters, digits, '.', '_' or '-' (at most 64)`);
  const port = intFlag(fromEnv(values.port, 'PORT'), 'port', 7001, 0, 65535);
  const host = fromEnv(values.host, 'HOST') ?? '127.0.0.1';
  const advertiseHost = fromEnv(values['advertise-host'], 'ADVERTISE_HOST');
  const peerPortRaw = fromEnv(values['peer-port'], 'PEER_PORT');
  const adminToken = fromEnv(values['admin-token'], 'ADMIN_TOKEN', 'NOSQLDB_ADMIN_TOKEN');
  const clusterSecret = fromEnv(values['cluster-secret'], 'CLUSTER_SECRET');
  if (!isLoopback(host) && !adminToken && !values.insecure) {
    throw new UsageError(`refusing to bind ${host} without --admin-token (pass --insecure to do it anyway)`);
  }
  const n = intFlag(values.n, 'n', DEFAULTS.n, 1, 16);
  const r = intFlag(values.r, 'r', Math.min(DEFAULTS.r, n), 1, n);
  const w = intFlag(values.w, 'w', Math.min(DEFAULTS.w, n), 1, n);
  const partitions = intFlag(values.partitions, 'partitions', DEFAULTS.partitions, 8, 4096);
  if ((partitions & (partitions - 1)) !== 0) throw new UsageError('--partitions must be a power of two');
  const seeds = (fromEnv(values.seeds, 'SEEDS') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  // (The storage makes the directory: LmdbStorage.open, with make-dir.ts.)
  const dataDir = fromEnv(values['data-dir'], 'DATA_DIR') ?? `data/${id}`;

  const running = await startNode({
    host,
    ...(advertiseHost !== undefined ? { advertiseHost } : {}),
    port,
    ...(peerPortRaw !== undefined ? { peerPort: intFlag(peerPortRaw, 'peer-port', 0, 0, 65535) } : {}),
    dataDir,
    adminToken,
    clusterSecret,
    onShutdown: () => stop('shutdown requested'),
    config: {
      ...DEFAULTS,
      id,
      zone: fromEnv(values.zone, 'ZONE') ?? DEFAULTS.zone,
      seeds,
      n,
      r,
      w,
      partitions,
      join: !values['no-join'],
      hintedHandoff: !values['no-hinted-handoff'],
      antiEntropyIntervalMs: intFlag(values['anti-entropy-interval-ms'], 'anti-entropy-interval-ms', DEFAULTS.antiEntropyIntervalMs, 0, 86_400_000),
    },
  });
  console.log(`serving: ${id} ${running.url} peer ${running.peer.host}:${running.peer.port} data ${dataDir}`);

  let stopping = false;
  function stop(signal: string): void {
    if (stopping) return;
    stopping = true;
    console.log(`${id}: ${signal}, shutting down`);
    // Whatever happens, be gone well within the 5 s the contract allows.
    setTimeout(() => process.exit(1), 4000).unref();
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  }
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  if (process.env.NOSQLDB_EXIT_WITH_PARENT === '1') {
    // Started by `nosqldb cluster`/the Lab: our stdin is its pipe; when it closes, the parent is gone.
    process.stdin.on('end', () => stop('parent exited'));
    process.stdin.on('error', () => stop('parent exited'));
    process.stdin.resume();
  }
}
