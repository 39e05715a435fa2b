import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { KvError } from '../core/errors.ts';

/**
 * Bounds on the HTTP side of a node: how many requests it works on at once and how long a
 * client may take to send one. Every field has a default suited to one node on a LAN.
 */
export interface HttpLimits {
  /** Requests admitted at once; past it, `503 KV_OVERLOADED` at once instead of queueing. */
  readonly inFlightMax: number;
  /** What `Retry-After` tells a refused client, in seconds. */
  readonly retryAfterS: number;
  /** A client must finish sending its headers within this (slowloris). */
  readonly headersTimeoutMs: number;
  /** ...and its whole request, body included, within this. */
  readonly requestTimeoutMs: number;
  /** A socket with no traffic at all is closed after this. */
  readonly connectionTimeoutMs: number;
  /** An idle keep-alive connection between requests is closed after this. */
  readonly keepAliveTimeoutMs: number;
  /** How often Node checks the header and request time-outs of open connections. */
  readonly connectionsCheckingIntervalMs: number;
}

export const HTTP_LIMITS_DEFAULT: HttpLimits = {
  // A quorum write waits on two replicas (~1 ms each on a LAN); 512 in flight is far above what
  // two cores serve per millisecond, yet each costs at most a value (1 MiB) of buffered body, so
  // the body buffers of admitted requests stay under ~512 MiB even in the worst case and
  // typically a few MiB.
  inFlightMax: 512,
  // One second: a node refuses only while saturated, which passes in well under that.
  retryAfterS: 1,
  // Headers are a few hundred bytes; 10 s is generous for any honest client.
  headersTimeoutMs: 10_000,
  // A 1 MiB value at 100 KiB/s still arrives in time.
  requestTimeoutMs: 30_000,
  connectionTimeoutMs: 60_000,
  // Above the 60 s idle timeout of common load balancers, so they close first (no reset race).
  keepAliveTimeoutMs: 72_000,
  // Node's default is 30 s, which would let a slow client overstay its time-out by that much.
  connectionsCheckingIntervalMs: 1_000,
};

/** Routes that must answer even when the node is saturated: probes and operators. */
const EXEMPT_PATHS: ReadonlySet<string> = new Set(['/health', '/admin/status']);

/** The admission bound, shared by Fastify's routes and the hot path (kv-fast-path.ts). */
export interface Admission {
  /** Admits the request behind `res` (counted until its response closes); false = refuse it. */
  enter(res: ServerResponse): boolean;
  /** The refusal: `503 KV_OVERLOADED` with `Retry-After`. */
  readonly refusal: { readonly status: 503; readonly headers: Readonly<Record<string, string>>; readonly body: string };
  counts(): { inFlight: number; refused: number };
}

/**
 * Admission control (issue 14, "Overload"): at most `inFlightMax` requests are admitted at once;
 * the next gets a fast `503 KV_OVERLOADED` with `Retry-After` before its body is even read, so
 * memory grows with the bound, not with the flood. `/health` and `/admin/status` bypass the
 * bound so probes and operators see the node while it sheds load.
 */
export function registerOverloadGuard(app: FastifyInstance, limits: Pick<HttpLimits, 'inFlightMax' | 'retryAfterS'>): Admission {
  if (!Number.isInteger(limits.inFlightMax) || limits.inFlightMax < 1) throw new RangeError('inFlightMax must be a positive integer');
  let inFlight = 0;
  let refused = 0;
  const release = (): void => {
    inFlight--;
  };
  const admission: Admission = {
    enter(res) {
      if (inFlight >= limits.inFlightMax) {
        refused++;
        return false;
      }
      inFlight++;
      // 'close' fires exactly once per response, whether it finished or the client went away.
      res.once('close', release);
      return true;
    },
    refusal: {
      status: 503,
      headers: { 'Retry-After': String(limits.retryAfterS), 'Content-Type': 'application/json' },
      body: JSON.stringify(
        new KvError('KV_OVERLOADED', `node is overloaded (${limits.inFlightMax} requests in flight); retry after ${limits.retryAfterS} s`, {
          inFlightMax: limits.inFlightMax,
        }).toJSON(),
      ),
    },
    counts: () => ({ inFlight, refused }),
  };
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?', 1)[0]!;
    if (EXEMPT_PATHS.has(path) || admission.enter(reply.raw)) return;
    // Node discards the unread body itself, so a refusal costs no buffering.
    const { status, headers, body } = admission.refusal;
    return reply.code(status).headers(headers).send(body);
  });
  return admission;
}

/**
 * Answers a request Node could not even parse (bad request line or headers, headers over
 * 16 KiB) with the node's JSON error shape, then closes the connection: its framing is lost.
 * A client that was too slow (header or request time-out) is simply cut off.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  if (err.code !== 'ERR_HTTP_REQUEST_TIMEOUT' && socket.writable) {
    const reason = err.code === 'HPE_HEADER_OVERFLOW' ? 'request headers larger than 16 KiB' : 'malformed HTTP request';
    const body = JSON.stringify(new KvError('KV_BAD_REQUEST', reason, { cause: err.code ?? 'unknown' }).toJSON());
    socket.write(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}
