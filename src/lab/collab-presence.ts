import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import WebSocket, { WebSocketServer } from 'ws';

/**
 * CollabDocs presence (issue 9): who is editing, through which node, and where their cursor
 * is. Ephemeral by design — relayed between browsers over `WS /api/collab/presence` and
 * never written to the database (STYLE 12). Each browser editor sends its own state as JSON;
 * the hub stamps it with the connection id and sends every peer the full roster.
 */

export const PRESENCE_PATH = '/api/collab/presence';
/** Editors connected at once; the demo has two per browser. */
const PRESENCE_CLIENTS_MAX = 64;
/** A presence message is a name, a node, a paragraph and a cursor offset: small. */
const PRESENCE_MESSAGE_BYTES_MAX = 1024;

export interface PresenceEntry {
  readonly id: number;
  readonly editor: string;
  readonly node: string;
  readonly color: string;
  readonly doc: string;
  readonly paragraph: string | null;
  readonly offset: number | null;
  /** Bumped by an editor after each save, so the others read at once instead of at their next poll. */
  readonly rev: number;
  readonly atMs: number;
}

function clean(raw: unknown, id: number): PresenceEntry | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const o = raw as Record<string, unknown>;
  const str = (v: unknown, max: number): string => (typeof v === 'string' ? v.slice(0, max) : '');
  const editor = str(o.editor, 40);
  if (!editor) return null;
  return {
    id,
    editor,
    node: str(o.node, 64),
    color: /^#[0-9a-fA-F]{6}$/.test(str(o.color, 7)) ? str(o.color, 7) : '#888888',
    doc: str(o.doc, 64),
    paragraph: typeof o.paragraph === 'string' ? o.paragraph.slice(0, 200) : null,
    offset: typeof o.offset === 'number' && Number.isInteger(o.offset) && o.offset >= 0 ? o.offset : null,
    rev: typeof o.rev === 'number' && Number.isInteger(o.rev) && o.rev >= 0 ? o.rev : 0,
    atMs: Date.now(),
  };
}

export function attachPresence(app: FastifyInstance): void {
  const wss = new WebSocketServer({ noServer: true, maxPayload: PRESENCE_MESSAGE_BYTES_MAX });
  const clients = new Map<WebSocket, { id: number; entry: PresenceEntry | null }>();
  let nextId = 1;
  const broadcast = (): void => {
    const roster = [...clients.values()].map((c) => c.entry).filter((e): e is PresenceEntry => e !== null);
    for (const [ws, c] of clients) if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'presence', you: c.id, roster }));
  };
  const mine = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (clients.size >= PRESENCE_CLIENTS_MAX) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const c = { id: nextId++, entry: null as PresenceEntry | null };
      clients.set(ws, c);
      ws.on('message', (data) => {
        try {
          const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
          const entry = clean(JSON.parse(text), c.id);
          if (entry) {
            c.entry = entry;
            broadcast();
          }
        } catch {
          // not JSON: ignored
        }
      });
      ws.on('error', () => ws.terminate());
      ws.on('close', () => {
        clients.delete(ws);
        broadcast();
      });
      broadcast();
    });
  };
  // The Lab's event stream answers every other upgrade path with 404, so presence sits in
  // front of the listeners already there and passes everything else on to them unchanged.
  const server = app.server;
  const others = server.listeners('upgrade') as ((req: IncomingMessage, socket: Duplex, head: Buffer) => void)[];
  server.removeAllListeners('upgrade');
  const dispatch = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if ((req.url ?? '').split('?')[0] === PRESENCE_PATH) mine(req, socket, head);
    else for (const l of others) l.call(server, req, socket, head);
  };
  server.on('upgrade', dispatch);
  app.addHook('preClose', async () => {
    for (const ws of clients.keys()) ws.terminate();
    wss.close();
  });
}
