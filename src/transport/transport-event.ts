import type { NodeId } from '../core/types.ts';

/** Which way a connection goes: we dialled the peer (outbound) or it dialled us (inbound). */
export type ConnectionDirection = 'inbound' | 'outbound';

/**
 * What a transport reports for logs and metrics. Nothing here is needed for correctness; a
 * transport works the same with no listener. `remote` is the socket's `host:port`, useful
 * before a connection has said who it is.
 */
export type TransportEvent =
  | { type: 'connected'; peer: NodeId; direction: ConnectionDirection; remote: string }
  | { type: 'disconnected'; peer: NodeId; direction: ConnectionDirection; remote: string; reason: string }
  /** A connection failed the handshake (bad hello, wrong cluster secret) and was closed. */
  | { type: 'refused'; peer: NodeId | null; remote: string; reason: string }
  /** A connection sent garbage or a message failing validation, and was closed. */
  | { type: 'bad-frame'; peer: NodeId | null; remote: string; reason: string }
  /** The message handler threw; the connection stays open (the bug is not the peer's). */
  | { type: 'handler-error'; peer: NodeId; reason: string }
  /** An outbound message could not be encoded (e.g. over maxFrameBytes) and was not sent. */
  | { type: 'unsendable'; peer: NodeId; reason: string };
