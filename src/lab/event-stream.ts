import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import WebSocket, { WebSocketServer } from 'ws';
import type { LabEvent } from './lab-types.ts';

/** Events kept for a newly connected browser and for the export of a run. */
export const EVENT_BACKLOG_MAX = 2000;
/** Events a new browser is sent on connect, so its log is not empty. */
const EVENT_REPLAY_MAX = 200;
/** How often a lost node stream is retried: a restarted node is watched again within this. */
const RECONNECT_MS = 500;
/** A browser that falls this far behind is cut off (it reconnects and gets the backlog). */
const BUFFERED_BYTES_MAX = 1 << 20;
const BROWSERS_MAX = 64;
const EVENT_BYTES_MAX = 64 * 1024;

interface Watch {
  url: string;
  socket: WebSocket | null;
  timer: NodeJS.Timeout | null;
  connected: boolean;
}

/**
 * The merged event stream: every node's `GET /events`, reconnected after kills and restarts,
 * plus the Lab's own events (`node: "lab"`), served to browsers on `WS /api/events`.
 */
export class EventStream {
  readonly #backlog: LabEvent[] = [];
  readonly #watches = new Map<string, Watch>();
  readonly #browsers = new Set<WebSocket>();
  readonly #listeners = new Set<(e: LabEvent) => void>();
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  #closed = false;

  /** Every event so far, oldest first (bounded). */
  events(): readonly LabEvent[] {
    return this.#backlog;
  }

  subscribe(fn: (e: LabEvent) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Publishes one event to the backlog, the Lab's listeners and every browser. */
  publish(event: LabEvent): void {
    if (this.#closed) return;
    this.#backlog.push(event);
    if (this.#backlog.length > EVENT_BACKLOG_MAX) this.#backlog.splice(0, this.#backlog.length - EVENT_BACKLOG_MAX);
    for (const fn of this.#listeners) {
      try {
        fn(event);
      } catch {
        // A failing listener must not stop the stream.
      }
    }
    const text = JSON.stringify(event);
    for (const ws of this.#browsers) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      if (ws.bufferedAmount > BUFFERED_BYTES_MAX) ws.terminate();
      else ws.send(text);
    }
  }

  /** The Lab's own event. */
  lab(type: string, fields: Record<string, unknown> = {}): void {
    const now = Date.now();
    this.publish({ ...fields, type, node: 'lab', atMs: now, receivedAtMs: now });
  }

  /** Follows a node's event stream until `unwatch`, reconnecting whenever it drops. */
  watch(id: string, url: string): void {
    if (this.#watches.has(id) || this.#closed) return;
    const w: Watch = { url, socket: null, timer: null, connected: false };
    this.#watches.set(id, w);
    this.#connect(id, w);
  }

  unwatch(id: string): void {
    const w = this.#watches.get(id);
    if (!w) return;
    this.#watches.delete(id);
    if (w.timer) clearTimeout(w.timer);
    w.socket?.terminate();
  }

  /** Whether the Lab currently receives a node's events. */
  isConnected(id: string): boolean {
    return this.#watches.get(id)?.connected ?? false;
  }

  #connect(id: string, w: Watch): void {
    w.timer = null;
    if (this.#closed || this.#watches.get(id) !== w) return;
    const socket = new WebSocket(`${w.url.replace(/^http/, 'ws')}/events`, { handshakeTimeout: 2000, maxPayload: EVENT_BYTES_MAX });
    w.socket = socket;
    socket.on('open', () => {
      w.connected = true;
    });
    socket.on('message', (data) => {
      const event = parseNodeEvent(data, id);
      if (event && event.type !== 'hello') this.publish(event);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      w.connected = false;
      if (this.#closed || this.#watches.get(id) !== w) return;
      w.timer = setTimeout(() => this.#connect(id, w), RECONNECT_MS);
    });
  }

  /** Serves `WS /api/events` on the Lab's HTTP server. */
  attach(app: FastifyInstance): void {
    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
      const path = (req.url ?? '').split('?')[0] ?? '';
      if (path.startsWith('/api/demo/')) return; // the demos' own sockets (demo-live.ts)
      if (path !== '/api/events' || this.#browsers.size >= BROWSERS_MAX) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => {
        this.#browsers.add(ws);
        for (const e of this.#backlog.slice(-EVENT_REPLAY_MAX)) ws.send(JSON.stringify(e));
        ws.on('error', () => ws.terminate());
        ws.on('close', () => this.#browsers.delete(ws));
      });
    };
    app.server.on('upgrade', onUpgrade);
    app.addHook('preClose', async () => {
      app.server.off('upgrade', onUpgrade);
      this.close();
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const id of [...this.#watches.keys()]) this.unwatch(id);
    for (const ws of this.#browsers) ws.terminate();
    this.#wss.close();
  }
}

function parseNodeEvent(data: WebSocket.RawData, id: string): LabEvent | null {
  try {
    const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
    const v = JSON.parse(text) as Record<string, unknown>;
    if (typeof v !== 'object' || v === null || typeof v.type !== 'string') return null;
    // `atMs` is the node's clock (skewed if a skew is injected); `receivedAtMs` the Lab's, which a replay orders by.
    const receivedAtMs = Date.now();
    return { ...v, type: v.type, node: typeof v.node === 'string' ? v.node : id, atMs: typeof v.atMs === 'number' ? v.atMs : receivedAtMs, receivedAtMs };
  } catch {
    return null;
  }
}
