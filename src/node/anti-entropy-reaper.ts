/**
 * Tombstone reaping: deletes must never come back from the dead, and tombstones must not pile
 * up forever. A tombstone is removed only when
 *  1. its grace interval has passed since it was written (so hints and in-flight writes from
 *     before the delete have landed, Cassandra's gc_grace), and
 *  2. every replica in its preference list is known to hold that same tombstone: the first
 *     replica asks the others for their digests of its candidate keys (`tomb-check`), and only
 *     keys whose digest is equal everywhere are reaped.
 * Then it tells every other replica to drop the tombstone (`tomb-reap`, each drops it only if it
 * still holds exactly that version) and drops its own. A replica that was away holds either the
 * old value (digest differs: no reap, anti-entropy first gives it the tombstone) or nothing it
 * could bring back. If a reap races with an exchange and a tombstone reappears somewhere, the
 * next pass reaps it again.
 */
import { isDeleted, type VersionedRecord } from '../core/siblings.ts';
import type { Key, NodeId } from '../core/types.ts';
import type { VersionDigest } from '../core/merkle/merkle-tree.ts';
import type { KvNode } from './kv-node.ts';
import type { PartitionTree } from './anti-entropy-trees.ts';
import { recordDigest } from './record-codec.ts';
import {
  TOMB_KEYS_PER_MESSAGE_MAX,
  type AeEnvelopeReply,
  type TombCheck,
  type TombReap,
} from './anti-entropy-wire.ts';

/** Five minutes: longer than any hint or request stays in flight in a healthy cluster. */
export const TOMBSTONE_GRACE_MS_DEFAULT = 5 * 60_000;

export interface ReapDeps {
  readonly node: KvNode;
  readonly graceMs: number;
  readonly nowMs: number;
  ask(peer: NodeId, partition: number, msg: TombCheck | TombReap): Promise<AeEnvelopeReply>;
}

/** The newest write time among a record's siblings (its tombstones' delete time). */
function writtenAt(record: VersionedRecord): number {
  let t = 0;
  for (const s of record.siblings) t = Math.max(t, s.writtenAtMs);
  return t;
}

/** Digest of what this node holds for `key`, null when absent, '!' when unreadable. */
export function localDigest(node: KvNode, key: Key): VersionDigest | null {
  try {
    const r = node.readLocal(key);
    return r === undefined ? null : recordDigest(r);
  } catch {
    return '!';
  }
}

/**
 * One reaping pass over one partition, run by its first replica with every replica up.
 * Returns how many tombstones this node removed.
 */
export async function reapPartition(
  deps: ReapDeps,
  pt: PartitionTree,
  replicas: readonly NodeId[],
): Promise<number> {
  const { node } = deps;
  const candidates = new Map<Key, VersionDigest>();
  for (const key of pt.tombstones()) {
    if (candidates.size >= TOMB_KEYS_PER_MESSAGE_MAX) break;
    let record: VersionedRecord | undefined;
    try {
      record = node.readLocal(key);
    } catch {
      continue;
    }
    if (record === undefined || !isDeleted(record) || writtenAt(record) + deps.graceMs > deps.nowMs)
      continue;
    candidates.set(key, recordDigest(record));
  }
  if (candidates.size === 0) return 0;
  const others = replicas.filter((r) => r !== node.id);
  const keys = [...candidates.keys()];
  for (const peer of others) {
    const reply = await deps.ask(peer, pt.partition, { type: 'tomb-check', keys });
    if (reply.type !== 'tomb-check-reply' || reply.digests.length !== keys.length) return 0;
    reply.digests.forEach((d, i) => {
      if (d !== candidates.get(keys[i]!)) candidates.delete(keys[i]!);
    });
  }
  if (candidates.size === 0) return 0;
  const entries = [...candidates];
  // Remote replicas first: if one fails, this node still holds the tombstone and spreads it again.
  await Promise.all(
    others.map((peer) => deps.ask(peer, pt.partition, { type: 'tomb-reap', entries })),
  );
  return reapLocal(node, entries);
}

/** Drops each tombstone this node still holds at exactly the given digest; returns how many. */
export async function reapLocal(
  node: KvNode,
  entries: readonly (readonly [Key, VersionDigest])[],
): Promise<number> {
  const removals = entries.map(async ([key, digest]) => {
    try {
      return await node.removeTombstone(key, (r) => recordDigest(r) === digest);
    } catch {
      // Unreadable or unwritable: the tombstone stays, and the next pass tries again.
      return false;
    }
  });
  const done = await Promise.all(removals);
  return done.filter(Boolean).length;
}
