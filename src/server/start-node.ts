import { createServer, type AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { LmdbStorage } from '../storage/lmdb-storage.ts';
import { MemoryStorage } from '../storage/memory-storage.ts';
import type { Storage } from '../storage/storage.ts';
import { TcpTransport } from '../transport/tcp-transport.ts';
import { FaultyTransport } from '../transport/faulty-transport.ts';
import { KvNode } from '../node/kv-node.ts';
import type { NodeConfig } from '../node/config.ts';
import { systemClock } from '../node/clock.ts';
import type { PeerMessage } from '../node/peer-messages.ts';
import { validatePeerMessage } from '../node/peer-messages.ts';
import { decodeHotPayload, encodeHotFrame } from '../node/peer-wire.ts';
import type { NodeId, PeerAddress } from '../core/types.ts';
import { isNodeId } from '../core/types.ts';
import { buildServer } from './http-server.ts';
import type { HttpLimits } from './overload-guard.ts';
import { faultsReport, registerFaultRoutes } from './fault-routes.ts';
import { SkewableClock } from './clock-skew.ts';
import { registerEventsRoute } from './events-route.ts';
import { registerMetricsRoute } from './metrics-route.ts';
import { AntiEntropy } from '../node/anti-entropy.ts';
import { registerAntiEntropyRoutes } from './anti-entropy-routes.ts';

export interface StartNodeOptions {
  /** Everything but the addresses, which are known once the sockets are bound. */
  readonly config: Omit<NodeConfig, 'httpUrl' | 'peer'>;
  readonly host: string;
  /**
   * The host other nodes and clients reach this node at, when it differs from the bound one
   * (a container binding 0.0.0.0 advertises its service or pod DNS name). Default: `host`.
   */
  readonly advertiseHost?: string | undefined;
  /** HTTP port (0 = ephemeral). */
  readonly port: number;
  /** Peer port; default HTTP port + 1000 (0 when the HTTP port is 0). */
  readonly peerPort?: number;
  /** Data directory for LMDB; omitted = in-memory storage (tests only). */
  readonly dataDir?: string;
  /** A storage to run on instead (tests: e.g. one that counts reads); `dataDir` is then unused. */
  readonly storage?: Storage;
  readonly adminToken?: string | undefined;
  readonly clusterSecret?: string | undefined;
  /** What `POST /admin/shutdown` does (the CLI exits the process); absent = not offered. */
  readonly onShutdown?: () => void;
  /** HTTP admission and slow-client bounds (src/server/overload-guard.ts); defaults when absent. */
  readonly httpLimits?: Partial<HttpLimits>;
}

export interface RunningNode {
  readonly node: KvNode;
  readonly app: FastifyInstance;
  readonly url: string;
  readonly peer: PeerAddress;
  readonly faults: FaultyTransport<PeerMessage>;
  /** The node's clock; its `skewMs` is the clock-skew fault (`POST /admin/faults`). */
  readonly clock: SkewableClock;
  close(): Promise<void>;
}

/**
 * Assembles one node from its real parts — LMDB storage, TCP transport (with the fault
 * injector in front of it), a skewable system clock, the runtime and the HTTP API — and starts
 * it serving.
 */
export async function startNode(options: StartNodeOptions): Promise<RunningNode> {
  const storage: Storage = options.storage ?? (options.dataDir ? LmdbStorage.open({ path: options.dataDir }) : new MemoryStorage());
  const tcp = new TcpTransport<PeerMessage>({
    self: options.config.id,
    host: options.host,
    port: options.peerPort ?? (options.port === 0 ? 0 : options.port + 1000),
    validate: validatePeerMessage,
    binary: { encode: encodeHotFrame, decode: decodeHotPayload },
    ...(options.clusterSecret ? { clusterSecret: options.clusterSecret } : {}),
  });
  let bound: PeerAddress;
  try {
    bound = await tcp.listen();
  } catch (e) {
    // A peer port in use: close what was opened, or the storage (and its log) stays open.
    if (!options.storage) await storage.close().catch(() => undefined);
    throw e;
  }
  const advertised = options.advertiseHost ?? options.host;
  const peer: PeerAddress = { host: advertised, port: bound.port };
  const faults = new FaultyTransport<PeerMessage>(tcp, {
    schedule: (fn, ms) => setTimeout(fn, ms).unref(),
    cancel: (h) => clearTimeout(h as NodeJS.Timeout),
    random: Math.random,
  });
  // The node must know its own URL before it serves, so an ephemeral port is picked up front.
  const httpPort = options.port === 0 ? await freePort(options.host) : options.port;
  const url = `http://${advertised.includes(':') ? `[${advertised}]` : advertised}:${httpPort}`;
  const config: NodeConfig = { ...options.config, httpUrl: url, peer };
  // The node's wall clock goes through the skew fault (clock-skew.ts): offset 0 until injected.
  const clock = new SkewableClock(systemClock);
  // Timers, deadlines and failure detection run on the real clock; only timestamps are skewed.
  const node = new KvNode({ config, storage, transport: faults, clock: systemClock, wallClock: () => clock.now(), random: Math.random, discoverSeed });
  const antiEntropy = new AntiEntropy(node);
  node.attach(antiEntropy);
  const app = buildServer(node, {
    adminToken: options.adminToken,
    faults: faultsReport(faults, clock),
    ...(options.onShutdown ? { onShutdown: options.onShutdown } : {}),
    ...(options.httpLimits ? { limits: options.httpLimits } : {}),
  });
  registerFaultRoutes(app, node, faults, clock);
  registerEventsRoute(app, node);
  registerMetricsRoute(app, node);
  registerAntiEntropyRoutes(app, node, antiEntropy);
  try {
    await node.start();
    await app.listen({ host: options.host, port: httpPort });
  } catch (e) {
    // An HTTP port in use (or a failed start) must not leave a half-started node behind: its
    // peer listener, gossip timers and storage would keep running in the caller's process.
    await app.close().catch(() => undefined);
    await node.close().catch(() => undefined);
    throw e;
  }
  let closing: Promise<void> | null = null;
  return {
    node,
    app,
    url,
    peer,
    faults,
    clock,
    close: () =>
      (closing ??= (async () => {
        await app.close();
        await node.close();
      })()),
  };
}

/** An ephemeral port that was free a moment ago (tests only: production names its ports). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Asks a seed's HTTP API who it is and where its peer port listens. */
async function discoverSeed(seed: string): Promise<{ id: NodeId; peer: PeerAddress }> {
  const base = seed.startsWith('http') ? seed : `http://${seed}`;
  const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(1000) });
  if (!res.ok) throw new Error(`seed ${seed} answered ${res.status}`);
  const body = (await res.json()) as { id?: unknown; peer?: { host?: unknown; port?: unknown } };
  if (!isNodeId(body.id) || typeof body.peer?.host !== 'string' || typeof body.peer.port !== 'number') {
    throw new Error(`seed ${seed} sent a malformed /health`);
  }
  // The seed may report a wildcard bind; reach it where we reached its HTTP API.
  const host = ['0.0.0.0', '::'].includes(body.peer.host) ? new URL(base).hostname : body.peer.host;
  return { id: body.id, peer: { host, port: body.peer.port } };
}

