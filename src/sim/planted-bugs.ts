import type { NodeId } from '../core/types.ts';
import { isDeleted } from '../core/siblings.ts';
import type { PeerMessage } from '../node/peer-messages.ts';
import { decodeRecord } from '../node/record-codec.ts';
import { DATA_TABLE } from '../node/storage-layout.ts';
import type { Storage } from '../storage/storage.ts';
import type { Transport } from '../transport/transport.ts';

/**
 * Deliberate bugs, planted by wrapping a node's ports (never by editing the node), to show that
 * each checker catches what it is meant to catch (test/sim/checkers-catch-bugs.test.ts) and to
 * demonstrate a failure: `nosqldb sim --plant ack-before-durable`.
 */
export interface PlantedBug {
  readonly name: string;
  /** What the bug does, and which checker should report it. */
  readonly description: string;
  wrapStorage?(storage: Storage, node: NodeId): Storage;
  wrapTransport?(transport: Transport<PeerMessage>, node: NodeId): Transport<PeerMessage>;
}

function storageWith(inner: Storage, write: Storage['write']): Storage {
  return {
    get: (t, k) => inner.get(t, k),
    write,
    range: (t, o) => inner.range(t, o),
    count: (t) => inner.count(t),
    close: () => inner.close(),
  };
}

function transportWith(inner: Transport<PeerMessage>, send: Transport<PeerMessage>['send']): Transport<PeerMessage> {
  return {
    self: inner.self,
    setPeer: (id, a) => inner.setPeer(id, a),
    removePeer: (id) => inner.removePeer(id),
    send,
    onMessage: (h) => inner.onMessage(h),
    isReachable: (id) => inner.isReachable(id),
    close: () => inner.close(),
  };
}

export const PLANTED_BUGS: readonly PlantedBug[] = [
  {
    name: 'ack-before-durable',
    description: 'storage acknowledges writes before they are synced, so a crash loses acknowledged writes (lost-write)',
    wrapStorage: (s) =>
      storageWith(s, (ops) => {
        s.write(ops).catch(() => undefined);
        return Promise.resolve();
      }),
  },
  {
    name: 'drop-tombstones',
    description: 'a replica skips storing a delete over a live value but acknowledges it (resurrection)',
    wrapStorage: (s) =>
      storageWith(s, (ops) => {
        const kept = ops.filter((op) => {
          if (op.type !== 'put' || op.table !== DATA_TABLE) return true;
          const before = s.get(op.table, op.key);
          return !(before && !isDeleted(decodeRecord(before)) && isDeleted(decodeRecord(op.value)));
        });
        return kept.length === 0 ? Promise.resolve() : s.write(kept);
      }),
  },
  {
    name: 'blind-forward',
    description: 'forwarded writes lose their client context, so a write concurrent with nothing keeps what it overwrote (false-sibling)',
    wrapTransport: (t) => transportWith(t, (to, m) => t.send(to, m.t === 'fwd' ? { ...m, req: { ...m.req, context: null } } : m)),
  },
  {
    name: 'no-read-repair',
    description: 'read repair messages are never sent, so a replica that missed a write stays behind (divergence)',
    wrapTransport: (t) => transportWith(t, (to, m) => (m.t === 'put' && !m.ack ? true : t.send(to, m))),
  },
  {
    name: 'forget-on-read',
    description: 'replicas answer remote reads with "not found" (stale-read for R+W>N)',
    wrapTransport: (t) => transportWith(t, (to, m) => t.send(to, m.t === 'get-r' && !m.err ? { ...m, rec: null } : m)),
  },
];

export function plantedBug(name: string): PlantedBug {
  const b = PLANTED_BUGS.find((x) => x.name === name);
  if (!b) throw new Error(`unknown planted bug "${name}" (one of: ${PLANTED_BUGS.map((x) => x.name).join(', ')})`);
  return b;
}
