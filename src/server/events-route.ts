import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { WebSocketServer, type WebSocket } from 'ws';
import type { KvNode } from '../node/kv-node.ts';

/**
 * A slow client may hold this much unsent event data before it is cut off: events are for
 * watching, so one stalled browser tab must never grow the node's memory without bound.
 */
export const EVENTS_BUFFERED_BYTES_MAX = 1 << 20;

/** More watchers than the Lab and a few terminals; each one is a listener on the node's hub. */
export const EVENTS_CLIENTS_MAX = 64;

/**
 * `GET /events` (WebSocket): this node's event stream, one JSON object per message
 * (CONTRACT §3). Handled on the HTTP server's `upgrade` event, so it shares the node's port
 * and never touches the request path of the key-value API.
 */
export function registerEventsRoute(app: FastifyInstance, node: KvNode): void {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  const clients = new Set<WebSocket>();

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/events' || clients.size >= EVENTS_CLIENTS_MAX) {
      socket.end(`HTTP/1.1 ${path === '/events' ? '503 Service Unavailable' : '404 Not Found'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      clients.add(ws);
      const unsubscribe = node.events.subscribe((event) => {
        if (ws.readyState !== ws.OPEN) return;
        if (ws.bufferedAmount > EVENTS_BUFFERED_BYTES_MAX) {
          ws.terminate();
          return;
        }
        ws.send(JSON.stringify(event));
      });
      ws.send(JSON.stringify({ type: 'hello', node: node.id, atMs: Date.now() }));
      ws.on('error', () => ws.terminate());
      ws.on('close', () => {
        unsubscribe();
        clients.delete(ws);
      });
    });
  };
  app.server.on('upgrade', onUpgrade);
  // Upgraded sockets are no longer the HTTP server's: close them, or `close()` would wait.
  app.addHook('preClose', async () => {
    app.server.off('upgrade', onUpgrade);
    for (const ws of clients) ws.terminate();
    wss.close();
  });
}
