import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import WebSocket, { WebSocketServer } from 'ws';
import { keyHash, partitionOfHash } from '../core/hash.ts';
import type { LabController } from './lab-controller.ts';
import { demoNodes, getJson, kvPath, parseJson, readLocal, stableJson, xorHex, type DemoNode } from './demo-node-io.ts';
import type { AutoSyncStatus, BurstStatus, CoordinatedRead, LiveSnapshot, LiveWatch, MerkleSummary, ReplicaValue } from './demo-types.ts';

/** The demos' live path; the Lab's event socket leaves `/api/demo/*` upgrades to this module. */
export const LIVE_PATH = '/api/demo/live';
/** How often watched keys are read from every replica: fast enough for "synced 0.2 s ago". */
const TICK_MS = 250;
/** Merkle roots are read less often: 64 roots per node per read. */
const MERKLE_EVERY_TICKS = 2;
/** A snapshot is sent at least this often even when nothing changed (clocks on the page move). */
const HEARTBEAT_MS = 1000;
const BROWSERS_MAX = 32;
const KEYS_PER_WATCH_MAX = 32;
const READS_PER_WATCH_MAX = 8;
const KEY_BYTES_MAX = 512;

interface Client {
  watch: LiveWatch;
  lastSent: string;
  lastSentAtMs: number;
}

interface Tracked {
  json: string;
  value: ReplicaValue;
}

/**
 * Live replica values for the TweetStats and InventorySync pages: while a browser watches keys
 * on `WS /api/demo/live`, the Lab reads each key from every replica (`?local=true`) every
 * 250 ms, optionally coordinated reads through a chosen node and the nodes' Merkle roots, and
 * pushes a snapshot when anything changed. It remembers when each replica first held its
 * current value — the "last update" and "synced X s ago" the pages show.
 */
export class DemoLive {
  readonly #lab: LabController;
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 });
  readonly #clients = new Map<WebSocket, Client>();
  readonly #tracked = new Map<string, Tracked>();
  #reads: CoordinatedRead[] = [];
  #merkle: Record<string, MerkleSummary> | null = null;
  #rootsByNode = new Map<string, Record<string, string>>();
  #timer: NodeJS.Timeout | null = null;
  #ticking = false;
  #ticks = 0;
  #closed = false;
  burst: () => BurstStatus | null = () => null;
  autoSync: () => AutoSyncStatus = () => ({ on: false, periodMs: 0, rounds: 0, lastRunAtMs: null, nodeIntervalMs: {} });

  constructor(lab: LabController) {
    this.#lab = lab;
  }

  attach(app: FastifyInstance): void {
    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
      if ((req.url ?? '').split('?')[0] !== LIVE_PATH) return;
      if (this.#clients.size >= BROWSERS_MAX || this.#closed) {
        socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws));
    };
    app.server.on('upgrade', onUpgrade);
    app.addHook('preClose', async () => {
      app.server.off('upgrade', onUpgrade);
      this.close();
    });
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    for (const ws of this.#clients.keys()) ws.terminate();
    this.#wss.close();
  }

  /** The latest value of a key on every replica (what the burst check and the routes read). */
  values(key: string): Record<string, ReplicaValue> {
    const out: Record<string, ReplicaValue> = {};
    for (const n of demoNodes(this.#lab)) {
      const t = this.#tracked.get(`${key}\u0000${n.id}`);
      if (t) out[n.id] = t.value;
    }
    return out;
  }

  /** Reads a key from every replica now (not waiting for a tick), updating the tracked values. */
  async readAll(key: string): Promise<Record<string, ReplicaValue>> {
    const nodes = demoNodes(this.#lab);
    const now = Date.now();
    await Promise.all(nodes.map(async (n) => this.#track(key, n.id, await readLocal(n, key), now)));
    return this.values(key);
  }

  placement(key: string): { partition: number; preferenceList: string[] } | null {
    const ring = this.#lab.monitor.ring();
    if (!ring || ring.partitions.length === 0) return null;
    const partition = partitionOfHash(keyHash(key), ring.partitions.length);
    return { partition, preferenceList: [...(ring.partitions[partition]?.preferenceList ?? [])] };
  }

  #accept(ws: WebSocket): void {
    const client: Client = { watch: { keys: [] }, lastSent: '', lastSentAtMs: 0 };
    this.#clients.set(ws, client);
    ws.on('message', (data) => {
      const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
      const watch = parseWatch(parseJson(text));
      if (watch === null) return;
      client.watch = watch;
      client.lastSent = '';
      void this.#tick();
    });
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      this.#clients.delete(ws);
      if (this.#clients.size === 0 && this.#timer) {
        clearInterval(this.#timer);
        this.#timer = null;
      }
    });
    this.#timer ??= setInterval(() => void this.#tick(), TICK_MS);
  }

  #track(key: string, node: string, v: Omit<ReplicaValue, 'changedAtMs'>, now: number): void {
    const id = `${key}\u0000${node}`;
    const json = `${v.state}:${stableJson(v.value)}`;
    const old = this.#tracked.get(id);
    // A replica that cannot be read has not changed its data: keep when it last did.
    if (old && (old.json === json || v.state === 'unreachable' || v.state === 'down')) {
      if (old.json !== json) this.#tracked.set(id, { json: old.json, value: { ...old.value, state: v.state } });
      return;
    }
    this.#tracked.set(id, { json, value: { ...v, changedAtMs: now } });
  }

  async #tick(): Promise<void> {
    if (this.#ticking || this.#closed) return;
    this.#ticking = true;
    try {
      const keys = new Set<string>();
      const reads = new Map<string, { key: string; node: string; r: number }>();
      let merkle = false;
      for (const c of this.#clients.values()) {
        for (const k of c.watch.keys) keys.add(k);
        for (const r of c.watch.reads ?? []) reads.set(`${r.key}\u0000${r.node}\u0000${r.r}`, r);
        merkle ||= c.watch.merkle === true;
      }
      const nodes = demoNodes(this.#lab);
      const now = Date.now();
      const jobs: Promise<void>[] = [];
      for (const key of keys) for (const n of nodes) jobs.push(readLocal(n, key).then((v) => this.#track(key, n.id, v, now)));
      const coordinated: CoordinatedRead[] = [];
      for (const r of reads.values()) {
        const n = nodes.find((x) => x.id === r.node);
        if (!n) continue;
        jobs.push(
          coordinatedRead(n, r.key, r.r).then(({ status, value }) => {
            coordinated.push({ ...r, status, value, atMs: Date.now() });
          }),
        );
      }
      if (merkle && this.#ticks % MERKLE_EVERY_TICKS === 0) jobs.push(this.#readRoots(nodes));
      this.#ticks++;
      await Promise.all(jobs);
      this.#reads = coordinated;
      if (merkle) this.#merkle = this.#summarise(nodes, keys);
      this.#send();
    } finally {
      this.#ticking = false;
    }
  }

  async #readRoots(nodes: DemoNode[]): Promise<void> {
    await Promise.all(
      nodes.map(async (n) => {
        if (!n.running) {
          this.#rootsByNode.delete(n.id);
          return;
        }
        try {
          const { status, json } = await getJson(`${n.url}/admin/merkle`);
          const roots = (json as { roots?: Record<string, string> }).roots;
          if (status === 200 && roots) this.#rootsByNode.set(n.id, roots);
          else this.#rootsByNode.delete(n.id);
        } catch {
          this.#rootsByNode.delete(n.id);
        }
      }),
    );
  }

  #summarise(nodes: DemoNode[], keys: Set<string>): Record<string, MerkleSummary> {
    const partitions = new Set<number>();
    for (const k of keys) {
      const p = this.placement(k);
      if (p) partitions.add(p.partition);
    }
    const out: Record<string, MerkleSummary> = {};
    for (const n of nodes) {
      const roots = this.#rootsByNode.get(n.id);
      if (!roots) {
        out[n.id] = { root: null, partitions: {} };
        continue;
      }
      const mine: Record<string, string> = {};
      for (const p of [...partitions].sort((a, b) => a - b)) {
        const r = roots[String(p)];
        if (r !== undefined) mine[String(p)] = r;
      }
      out[n.id] = { root: Object.keys(mine).length > 0 ? xorHex(Object.values(mine)) : null, partitions: mine };
    }
    return out;
  }

  #send(): void {
    const now = Date.now();
    const monitor = new Map(this.#lab.monitor.nodes().map((n) => [n.id, n]));
    const nodes = demoNodes(this.#lab).map((n) => ({ id: n.id, process: monitor.get(n.id)?.process ?? (n.running ? 'running' : 'stopped'), health: monitor.get(n.id)?.health ?? 'starting' }));
    const burst = this.burst();
    const autoSync = this.autoSync();
    for (const [ws, c] of this.#clients) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      const values: Record<string, Record<string, ReplicaValue>> = {};
      const placement: LiveSnapshot['placement'] = {};
      for (const k of c.watch.keys) {
        values[k] = this.values(k);
        const p = this.placement(k);
        if (p) (placement as Record<string, { partition: number; preferenceList: string[] }>)[k] = p;
      }
      const wanted = new Set((c.watch.reads ?? []).map((r) => `${r.key}\u0000${r.node}\u0000${r.r}`));
      const reads = this.#reads.filter((r) => wanted.has(`${r.key}\u0000${r.node}\u0000${r.r}`));
      const body = { nodes, values, placement, reads: reads.map(({ atMs: _t, ...r }) => r), merkle: c.watch.merkle ? this.#merkle : null, burst, autoSync };
      const text = stableJson(body);
      if (text === c.lastSent && now - c.lastSentAtMs < HEARTBEAT_MS) continue;
      c.lastSent = text;
      c.lastSentAtMs = now;
      const snapshot: LiveSnapshot = { type: 'snapshot', atMs: now, ...body, reads };
      ws.send(JSON.stringify(snapshot));
    }
  }
}

async function coordinatedRead(n: DemoNode, key: string, r: number): Promise<{ status: number; value: unknown }> {
  if (!n.running) return { status: 0, value: null };
  try {
    const { status, json } = await getJson(`${n.url}${kvPath(key)}?r=${r}&timeout=800`);
    return { status, value: json };
  } catch {
    return { status: 0, value: null };
  }
}

/** `{"watch":{"keys":[…],"reads":[{key,node,r}],"merkle":true}}`, bounded; null when malformed. */
export function parseWatch(v: unknown): LiveWatch | null {
  const w = (v as { watch?: unknown } | null)?.watch as Record<string, unknown> | undefined;
  if (typeof w !== 'object' || w === null) return null;
  const okKey = (k: unknown): k is string => typeof k === 'string' && k.length > 0 && Buffer.byteLength(k) <= KEY_BYTES_MAX;
  const keys = Array.isArray(w.keys) ? w.keys.filter(okKey).slice(0, KEYS_PER_WATCH_MAX) : [];
  const reads = Array.isArray(w.reads)
    ? w.reads
        .filter((r): r is { key: string; node: string; r: number } => {
          const x = r as Record<string, unknown>;
          return okKey(x.key) && typeof x.node === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(x.node) && Number.isInteger(x.r) && (x.r as number) >= 1 && (x.r as number) <= 5;
        })
        .map((r) => ({ key: r.key, node: r.node, r: r.r }))
        .slice(0, READS_PER_WATCH_MAX)
    : [];
  return { keys, reads, merkle: w.merkle === true };
}
