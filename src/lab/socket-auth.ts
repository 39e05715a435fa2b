/*
 * Browsers cannot set headers on a WebSocket, so the UI carries the admin token as a
 * subprotocol, `nosqldb.bearer.<base64url(token)>` (the way Kubernetes' API server takes a
 * bearer token on its sockets). Other clients may send `Authorization: Bearer <token>` instead.
 */

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { KvError } from '../core/errors.ts';
import { TOKEN_PROTOCOL_PREFIX } from './lab-types.ts';

type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** Whether `presented` is exactly `token`, compared in constant time (digests hide the length too). */
export function tokenMatches(presented: string | undefined, token: string): boolean {
  if (presented === undefined) return false;
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(presented), digest(token));
}

/** The token in an `Authorization: Bearer <token>` header, if that is what it holds. */
export function bearerToken(header: string | undefined): string | undefined {
  return header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
}

/** The token a WebSocket upgrade presents: from `Authorization: Bearer …` or the token subprotocol. */
export function upgradeToken(req: IncomingMessage): string | undefined {
  const bearer = bearerToken(req.headers.authorization);
  if (bearer !== undefined) return bearer;
  const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const carrier = offered.find((p) => p.startsWith(TOKEN_PROTOCOL_PREFIX));
  return carrier === undefined ? undefined : Buffer.from(carrier.slice(TOKEN_PROTOCOL_PREFIX.length), 'base64url').toString('utf8');
}

/**
 * Puts the admin token in front of every WebSocket on the Lab's server (`/api/events`, the
 * demos' sockets): the HTTP `onRequest` hook never sees an upgrade, so without this the event
 * stream would be open to anyone the control API refuses. Call it once every socket route is
 * registered: it takes over the `upgrade` listeners present then and passes only authorised
 * upgrades on to them; the rest get `401 KV_UNAUTHORIZED` and a closed socket.
 */
export function guardUpgrades(server: Server, token: string): void {
  const routes = server.listeners('upgrade') as UpgradeListener[];
  server.removeAllListeners('upgrade');
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (tokenMatches(upgradeToken(req), token)) {
      for (const route of routes) route.call(server, req, socket, head);
      return;
    }
    const body = JSON.stringify(new KvError('KV_UNAUTHORIZED', 'the Lab sockets need the admin token: Authorization: Bearer <token>, or the subprotocol nosqldb.bearer.<base64url token>').toJSON());
    socket.end(`HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  });
}
