import { createServer, type Server, type Socket } from 'node:net';
import { isNodeId, type NodeId, type PeerAddress } from '../core/types.ts';
import { checkFrameBytes, encodeFrame, FrameDecoder, FrameError, FRAME_HEADER_BYTES, MAX_FRAME_BYTES_DEFAULT, type BinaryPayloadDecoder } from './frame-codec.ts';
import { checkHello, makeChallenge } from './handshake.ts';
import { PeerLink } from './peer-link.ts';
import type { Transport } from './transport.ts';
import type { TransportEvent } from './transport-event.ts';

/** Options of a TcpTransport; every bound has a default suited to a LAN cluster. */
export interface TcpTransportOptions<M> {
  readonly self: NodeId;
  readonly host: string;
  /** 0 picks an ephemeral port; `listen()` returns the one bound. */
  readonly port: number;
  /** Turns a decoded value into a message, or throws; every inbound message passes it. */
  readonly validate: (value: unknown) => M;
  /**
   * Fixed binary layouts for some messages (frame-codec.ts BINARY_PAYLOAD_MARK): `encode` returns
   * a whole frame, or null to send the message as msgpack; `decode` reads such a payload back.
   */
  readonly binary?: { readonly encode: (message: M) => Buffer | null; readonly decode: BinaryPayloadDecoder };
  /** When set, peers must prove they know it (HMAC challenge) or are refused. */
  readonly clusterSecret?: string;
  readonly maxFrameBytes?: number;
  /** Bound on connecting plus handshaking, both ways, so a silent peer cannot hold a slot. */
  readonly connectTimeoutMs?: number;
  readonly reconnectDelayMsMin?: number;
  readonly reconnectDelayMsMax?: number;
  /** Frames queued per peer while connecting or under backpressure; past it `send` is false. */
  readonly queueMessagesMax?: number;
  readonly queueBytesMax?: number;
  /** Bound on accepted connections, so a flood of dials cannot exhaust file descriptors. */
  readonly inboundConnectionsMax?: number;
  readonly onEvent?: (event: TransportEvent) => void;
}

/** 2 s is far above a LAN round trip yet short enough to notice a black-holed peer quickly. */
const CONNECT_TIMEOUT_MS_DEFAULT = 2_000;
const RECONNECT_DELAY_MS_MIN_DEFAULT = 100;
/** Caps how long a recovered peer may wait to be redialled (and the failure-detector lag it adds). */
const RECONNECT_DELAY_MS_MAX_DEFAULT = 5_000;
/** About a second of replicated writes to one peer at the target rate; more is a stuck peer. */
const QUEUE_MESSAGES_MAX_DEFAULT = 50_000;
/** Keeps a few large frames queueable without letting one slow peer take the heap. */
const QUEUE_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;
/** Far more than any cluster's size times a few reconnects in flight. */
const INBOUND_CONNECTIONS_MAX_DEFAULT = 1024;

interface InboundConnection {
  readonly socket: Socket;
  readonly remote: string;
  readonly decoder: FrameDecoder;
  /** The challenge nonce we sent, when we have a secret. */
  readonly nonce: Uint8Array | null;
  from: NodeId | null;
  timer: NodeJS.Timeout | null;
  closeReason: string;
}

/**
 * The production transport: length-prefixed msgpack frames over TCP (frame-codec.ts), one
 * outbound connection per peer (peer-link.ts), so a pair of nodes uses two connections and a
 * node replies over its own. Inbound connections only carry messages after the handshake
 * (handshake.ts). A misbehaving connection is closed alone; nothing inbound throws out of here.
 */
export class TcpTransport<M> implements Transport<M> {
  readonly self: NodeId;
  private readonly options: TcpTransportOptions<M>;
  private readonly maxFrameBytes: number;
  private readonly connectTimeoutMs: number;
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly inbound = new Set<InboundConnection>();
  private readonly inboundById = new Map<NodeId, InboundConnection>();
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  private handler: ((from: NodeId, message: M) => void) | null = null;
  private closing: Promise<void> | null = null;

  constructor(options: TcpTransportOptions<M>) {
    this.self = options.self;
    this.options = options;
    this.maxFrameBytes = options.maxFrameBytes ?? MAX_FRAME_BYTES_DEFAULT;
    this.connectTimeoutMs = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS_DEFAULT;
    this.server = createServer((socket) => this.accept(socket));
    this.server.maxConnections = options.inboundConnectionsMax ?? INBOUND_CONNECTIONS_MAX_DEFAULT;
  }

  /** Start accepting peers; resolves with the address actually bound. */
  listen(): Promise<PeerAddress> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        const bound = this.server.address();
        if (bound === null || typeof bound === 'string') return reject(new Error('server has no TCP address'));
        resolve({ host: this.options.host, port: bound.port });
      });
    });
  }

  setPeer(id: NodeId, address: PeerAddress): void {
    if (this.closing) return;
    const existing = this.links.get(id);
    if (existing && existing.address.host === address.host && existing.address.port === address.port) return;
    existing?.close();
    const o = this.options;
    this.links.set(
      id,
      new PeerLink({
        self: this.self,
        peer: id,
        address: { host: address.host, port: address.port },
        clusterSecret: o.clusterSecret,
        connectTimeoutMs: this.connectTimeoutMs,
        reconnectDelayMsMin: o.reconnectDelayMsMin ?? RECONNECT_DELAY_MS_MIN_DEFAULT,
        reconnectDelayMsMax: o.reconnectDelayMsMax ?? RECONNECT_DELAY_MS_MAX_DEFAULT,
        queueMessagesMax: o.queueMessagesMax ?? QUEUE_MESSAGES_MAX_DEFAULT,
        queueBytesMax: o.queueBytesMax ?? QUEUE_BYTES_MAX_DEFAULT,
        emit: (e) => this.emit(e),
        track: (s) => this.track(s),
      }),
    );
  }

  removePeer(id: NodeId): void {
    this.links.get(id)?.close();
    this.links.delete(id);
  }

  send(to: NodeId, message: M): boolean {
    const link = this.links.get(to);
    if (link === undefined || !link.reachable || !link.hasRoom(0)) return false;
    let frame: Buffer;
    try {
      const binary = this.options.binary?.encode(message) ?? null;
      if (binary !== null) checkFrameBytes(binary.length - FRAME_HEADER_BYTES, this.maxFrameBytes);
      frame = binary ?? encodeFrame(message, this.maxFrameBytes);
    } catch (e) {
      this.emit({ type: 'unsendable', peer: to, reason: e instanceof Error ? e.message : String(e) });
      return false;
    }
    return link.enqueue(frame);
  }

  onMessage(handler: (from: NodeId, message: M) => void): void {
    this.handler = handler;
  }

  isReachable(id: NodeId): boolean {
    return this.links.get(id)?.reachable ?? false;
  }

  /** Close the server and every connection, clear timers; resolves once all sockets closed. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    for (const link of this.links.values()) link.close();
    this.links.clear();
    for (const conn of this.inbound) this.drop(conn, 'transport closed');
    const closed = [...this.sockets].map((s) => new Promise<void>((resolve) => s.once('close', () => resolve())));
    for (const s of this.sockets) s.destroy();
    const serverClosed = new Promise<void>((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
    });
    await Promise.all([...closed, serverClosed]);
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private emit(event: TransportEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // A logging hook must not break the transport.
    }
  }

  private accept(socket: Socket): void {
    if (this.closing) return void socket.destroy();
    this.track(socket);
    socket.setNoDelay(true);
    const secret = this.options.clusterSecret;
    const challenge = secret === undefined ? null : makeChallenge();
    const conn: InboundConnection = {
      socket,
      remote: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`,
      decoder: new FrameDecoder(
        this.options.binary === undefined ? { maxFrameBytes: this.maxFrameBytes } : { maxFrameBytes: this.maxFrameBytes, decodeBinary: this.options.binary.decode },
      ),
      nonce: challenge?.nonce ?? null,
      from: null,
      timer: null,
      closeReason: 'connection closed',
    };
    this.inbound.add(conn);
    conn.timer = setTimeout(() => this.refuse(conn, 'handshake timeout'), this.connectTimeoutMs);
    if (challenge !== null) socket.write(encodeFrame(challenge));
    socket.on('data', (chunk: Buffer) => this.receive(conn, chunk));
    socket.on('error', (err) => {
      conn.closeReason = err.message;
    });
    socket.on('close', () => {
      if (conn.timer !== null) clearTimeout(conn.timer);
      this.inbound.delete(conn);
      if (conn.from === null) return;
      if (this.inboundById.get(conn.from) === conn) this.inboundById.delete(conn.from);
      this.emit({ type: 'disconnected', peer: conn.from, direction: 'inbound', remote: conn.remote, reason: conn.closeReason });
    });
  }

  private receive(conn: InboundConnection, chunk: Buffer): void {
    let values: unknown[];
    try {
      values = conn.decoder.push(chunk);
    } catch (e) {
      const reason = e instanceof FrameError ? e.message : String(e);
      this.emit({ type: 'bad-frame', peer: conn.from, remote: conn.remote, reason });
      return this.drop(conn, `bad frame: ${reason}`);
    }
    for (const value of values) {
      if (conn.socket.destroyed || this.closing) return;
      const from = conn.from;
      if (from === null) {
        this.handshake(conn, value);
        continue;
      }
      let message: M;
      try {
        message = this.options.validate(value);
      } catch (e) {
        const reason = `invalid message: ${e instanceof Error ? e.message : String(e)}`;
        this.emit({ type: 'bad-frame', peer: from, remote: conn.remote, reason });
        return this.drop(conn, reason);
      }
      try {
        this.handler?.(from, message);
      } catch (e) {
        this.emit({ type: 'handler-error', peer: from, reason: e instanceof Error ? e.message : String(e) });
      }
    }
  }

  private handshake(conn: InboundConnection, value: unknown): void {
    const result = checkHello(value, this.options.clusterSecret, conn.nonce);
    if (!result.ok) {
      const from = (value as { from?: unknown } | null)?.from;
      return this.refuse(conn, result.reason, isNodeId(from) ? from : null);
    }
    if (conn.timer !== null) clearTimeout(conn.timer);
    conn.timer = null;
    conn.from = result.from;
    // A newer connection from the same peer means the old one is dead (e.g. the peer restarted
    // and our side never saw a FIN); close it rather than hold a half-open socket.
    const previous = this.inboundById.get(result.from);
    if (previous !== undefined) this.drop(previous, 'replaced by a newer connection');
    this.inboundById.set(result.from, conn);
    this.emit({ type: 'connected', peer: result.from, direction: 'inbound', remote: conn.remote });
  }

  /** `claimed` is the id a failed hello named, for the log; it is not authenticated. */
  private refuse(conn: InboundConnection, reason: string, claimed: NodeId | null = null): void {
    this.emit({ type: 'refused', peer: claimed, remote: conn.remote, reason });
    this.drop(conn, `refused: ${reason}`);
  }

  private drop(conn: InboundConnection, reason: string): void {
    conn.closeReason = reason;
    if (conn.timer !== null) clearTimeout(conn.timer);
    conn.timer = null;
    conn.socket.destroy();
  }
}
