import { connect, type Socket } from 'node:net';
import type { NodeId, PeerAddress } from '../core/types.ts';
import { encodeFrame, FrameDecoder } from './frame-codec.ts';
import { helloProof, parseChallenge, PEER_PROTOCOL, type Hello } from './handshake.ts';
import type { TransportEvent } from './transport-event.ts';

/** Bound on the challenge frame a server may send us; it is ~40 bytes, anything big is hostile. */
const CHALLENGE_FRAME_BYTES_MAX = 1024;

/** Backoff exponent cap, so `2 ** attempt` stays a finite number however long a peer is gone. */
const BACKOFF_ATTEMPTS_MAX = 30;

/** Settings a PeerLink takes from its TcpTransport. */
export interface PeerLinkOptions {
  readonly self: NodeId;
  readonly peer: NodeId;
  readonly address: PeerAddress;
  readonly clusterSecret: string | undefined;
  readonly connectTimeoutMs: number;
  readonly reconnectDelayMsMin: number;
  readonly reconnectDelayMsMax: number;
  readonly queueMessagesMax: number;
  readonly queueBytesMax: number;
  readonly emit: (event: TransportEvent) => void;
  /** Called with every socket opened, so the transport can wait for them all on close. */
  readonly track: (socket: Socket) => void;
}

type LinkState = 'connecting' | 'open' | 'backoff' | 'closed';

/**
 * The one outbound connection from this node to one peer: everything we send that peer goes
 * through it (replies included), so per-pair order is TCP order. Frames queue while connecting
 * or while the socket pushes back, and go out in one write per event-loop turn.
 */
export class PeerLink {
  private state: LinkState = 'connecting';
  private socket: Socket | null = null;
  private readonly queue: Buffer[] = [];
  private queueBytes = 0;
  /** The socket returned false from write; wait for 'drain'. */
  private blocked = false;
  private flushHandle: NodeJS.Immediate | null = null;
  private timer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private openedAtMs: number | null = null;

  constructor(private readonly options: PeerLinkOptions) {
    this.connect();
  }

  get address(): PeerAddress {
    return this.options.address;
  }

  /** Connecting or connected; false while backing off after a failure, or once closed. */
  get reachable(): boolean {
    return this.state === 'connecting' || this.state === 'open';
  }

  /** Whether one more frame of this size fits the queue bounds. */
  hasRoom(frameBytes: number): boolean {
    const o = this.options;
    return this.queue.length < o.queueMessagesMax && this.queueBytes + frameBytes <= o.queueBytesMax;
  }

  /** Queue one encoded frame; false if unreachable or the queue is full. */
  enqueue(frame: Buffer): boolean {
    if (!this.reachable || !this.hasRoom(frame.length)) return false;
    this.queue.push(frame);
    this.queueBytes += frame.length;
    this.scheduleFlush();
    return true;
  }

  close(): void {
    this.state = 'closed';
    this.clearTimers();
    this.dropQueue();
    const socket = this.socket;
    this.socket = null;
    socket?.destroy();
  }

  /**
   * Flush on `setImmediate`, not `queueMicrotask`: the check phase runs once per loop turn after
   * all I/O callbacks of the poll phase, so frames produced while handling many sockets' data
   * (a coordinator fanning out many requests) leave in one write. The added latency is at most
   * the rest of one loop turn.
   */
  private scheduleFlush(): void {
    if (this.state !== 'open' || this.blocked || this.flushHandle !== null) return;
    this.flushHandle = setImmediate(() => {
      this.flushHandle = null;
      this.flush();
    });
  }

  private flush(): void {
    const socket = this.socket;
    if (this.state !== 'open' || this.blocked || socket === null || this.queue.length === 0) return;
    const data = this.queue.length === 1 ? this.queue[0]! : Buffer.concat(this.queue, this.queueBytes);
    this.queue.length = 0;
    this.queueBytes = 0;
    if (!socket.write(data)) {
      this.blocked = true;
      socket.once('drain', () => {
        this.blocked = false;
        if (socket === this.socket) this.flush();
      });
    }
  }

  private connect(): void {
    const { address, clusterSecret, connectTimeoutMs } = this.options;
    this.state = 'connecting';
    const socket = connect({ host: address.host, port: address.port });
    socket.setNoDelay(true);
    this.socket = socket;
    this.options.track(socket);
    this.timer = setTimeout(() => this.fail(socket, 'connect timeout'), connectTimeoutMs);
    const decoder = new FrameDecoder({ maxFrameBytes: CHALLENGE_FRAME_BYTES_MAX });
    socket.once('connect', () => {
      if (clusterSecret === undefined) this.opened(socket, undefined);
    });
    socket.on('data', (chunk: Buffer) => {
      // The accepting side only ever sends a challenge, and only when we hold a secret.
      if (this.state !== 'connecting' || clusterSecret === undefined) return this.fail(socket, 'unexpected data');
      let values: unknown[];
      try {
        values = decoder.push(chunk);
      } catch {
        return this.fail(socket, 'bad challenge frame');
      }
      if (values.length === 0) return;
      const challenge = parseChallenge(values[0]);
      if (challenge === null || values.length > 1) return this.fail(socket, 'bad challenge');
      this.opened(socket, helloProof(clusterSecret, challenge.nonce, this.options.self));
    });
    socket.on('error', (err) => this.fail(socket, err.message));
    socket.on('close', () => this.fail(socket, 'connection closed'));
  }

  private opened(socket: Socket, proof: Buffer | undefined): void {
    if (socket !== this.socket) return;
    this.clearTimers();
    const hello: Hello = { protocol: PEER_PROTOCOL, from: this.options.self };
    if (proof !== undefined) hello.proof = proof;
    socket.write(encodeFrame(hello));
    this.state = 'open';
    this.openedAtMs = Date.now();
    const remote = `${this.options.address.host}:${this.options.address.port}`;
    this.options.emit({ type: 'connected', peer: this.options.peer, direction: 'outbound', remote });
    this.scheduleFlush();
  }

  /** The socket failed or closed: drop what was queued (delivery is at most once) and back off. */
  private fail(socket: Socket, reason: string): void {
    if (socket !== this.socket) return; // an old socket's late events
    this.socket = null;
    socket.destroy();
    this.clearTimers();
    this.dropQueue();
    this.blocked = false;
    if (this.state === 'closed') return;
    const remote = `${this.options.address.host}:${this.options.address.port}`;
    this.options.emit({ type: 'disconnected', peer: this.options.peer, direction: 'outbound', remote, reason });
    this.backoff();
  }

  /**
   * Exponential backoff with "equal jitter" (half fixed, half random), so peers that lost the
   * same node do not all redial it in the same millisecond. A connection that stayed up for
   * reconnectDelayMsMax counts as healthy and resets the exponent; one that is accepted and
   * then dropped at once (e.g. refused for a wrong secret) keeps growing it.
   */
  private backoff(): void {
    const { reconnectDelayMsMin, reconnectDelayMsMax } = this.options;
    if (this.openedAtMs !== null && Date.now() - this.openedAtMs >= reconnectDelayMsMax) this.attempt = 0;
    this.openedAtMs = null;
    const ceilingMs = Math.min(reconnectDelayMsMax, reconnectDelayMsMin * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, BACKOFF_ATTEMPTS_MAX);
    const delayMs = ceilingMs / 2 + Math.random() * (ceilingMs / 2);
    this.state = 'backoff';
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delayMs);
  }

  private clearTimers(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.flushHandle !== null) clearImmediate(this.flushHandle);
    this.flushHandle = null;
  }

  private dropQueue(): void {
    this.queue.length = 0;
    this.queueBytes = 0;
  }
}
