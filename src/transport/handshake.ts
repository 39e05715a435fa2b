import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isNodeId, type NodeId } from '../core/types.ts';

/**
 * The peer connection handshake (docs/PROTOCOL.md, "Peer connections").
 * Without a cluster secret the connecting side's first frame is `hello`. With one, the
 * accepting side first sends a `challenge` nonce and the hello carries
 * `proof = HMAC-SHA256(secret, nonce ‖ utf8(from))`, binding the proof to this connection and
 * to the claimed id, so a recorded hello cannot be replayed on another connection.
 */

/**
 * Protocol version spoken on peer connections. 3: `get`, `get-r`, `put` and `put-r` travel in
 * fixed binary layouts (src/node/peer-wire.ts); 2: records as their stored bytes.
 */
export const PEER_PROTOCOL = 3;

/** Bytes of the random nonce a challenge carries. */
export const NONCE_BYTES = 32;

/** First frame from the accepting side when a cluster secret is configured. */
export interface Challenge {
  protocol: typeof PEER_PROTOCOL;
  nonce: Uint8Array;
}

/** First frame (after any challenge) from the connecting side. */
export interface Hello {
  protocol: typeof PEER_PROTOCOL;
  from: NodeId;
  proof?: Uint8Array;
}

export function makeChallenge(): Challenge {
  return { protocol: PEER_PROTOCOL, nonce: randomBytes(NONCE_BYTES) };
}

export function helloProof(secret: string, nonce: Uint8Array, from: NodeId): Buffer {
  return createHmac('sha256', secret).update(nonce).update(from, 'utf8').digest();
}

/** Parse a challenge frame; null if it is not one. */
export function parseChallenge(value: unknown): Challenge | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  if (v['protocol'] !== PEER_PROTOCOL || !(v['nonce'] instanceof Uint8Array)) return null;
  if (v['nonce'].length !== NONCE_BYTES) return null;
  return { protocol: PEER_PROTOCOL, nonce: v['nonce'] };
}

/**
 * Check a hello frame. Returns the peer's id, or a reason to refuse it. `nonce` is the
 * challenge we sent, present exactly when we have a secret.
 */
export function checkHello(
  value: unknown,
  secret: string | undefined,
  nonce: Uint8Array | null,
): { ok: true; from: NodeId } | { ok: false; reason: string } {
  if (typeof value !== 'object' || value === null) return { ok: false, reason: 'hello is not an object' };
  const v = value as Record<string, unknown>;
  if (v['protocol'] !== PEER_PROTOCOL) return { ok: false, reason: `unsupported protocol ${String(v['protocol'])}` };
  const from = v['from'];
  if (!isNodeId(from)) return { ok: false, reason: 'hello has no valid node id' };
  if (secret === undefined || nonce === null) return { ok: true, from };
  const proof = v['proof'];
  if (!(proof instanceof Uint8Array)) return { ok: false, reason: 'hello has no proof of the cluster secret' };
  const expected = helloProof(secret, nonce, from);
  if (proof.length !== expected.length || !timingSafeEqual(proof, expected)) {
    return { ok: false, reason: 'wrong cluster secret' };
  }
  return { ok: true, from };
}
