import type { NodeId } from '../core/types.ts';
import { KvError } from '../core/errors.ts';
import type { VersionedRecord } from '../core/siblings.ts';
import { syncRecords } from '../core/siblings.ts';
import type { Storage } from '../storage/storage.ts';
import { decodeRecord, encodeRecord } from './record-codec.ts';
import { HINTS_TABLE } from './storage-layout.ts';

/**
 * Hinted handoff (Dynamo §4.6): a write meant for a replica that is down is stored on a
 * fallback node, in this table, under the name of the node it was meant for. Hints are
 * durable (they survive a restart of the node holding them), bounded per target, and removed
 * only once the target acknowledged them.
 *
 * Layout: `<target>/<data key>` → record. Target first, so delivery scans one target's range.
 */
export class HintStore {
  readonly #storage: Storage;
  readonly #perTargetMax: number;
  readonly #counts = new Map<NodeId, number>();
  dropped = 0;
  delivered = 0;

  constructor(storage: Storage, perTargetMax: number) {
    this.#storage = storage;
    this.#perTargetMax = perTargetMax;
    for (const [k] of storage.range(HINTS_TABLE)) {
      const target = k.slice(0, k.indexOf('/'));
      this.#counts.set(target, (this.#counts.get(target) ?? 0) + 1);
    }
  }

  /** Hints waiting, per target and in all. */
  pending(): { total: number; byTarget: Record<string, number> } {
    const byTarget: Record<string, number> = {};
    let total = 0;
    for (const [t, n] of this.#counts) {
      if (n <= 0) continue;
      Object.defineProperty(byTarget, t, { value: n, enumerable: true });
      total += n;
    }
    return { total, byTarget };
  }

  targets(): NodeId[] {
    return [...this.#counts].filter(([, n]) => n > 0).map(([t]) => t);
  }

  read(target: NodeId, dataKey: string): VersionedRecord | undefined {
    const b = this.#storage.get(HINTS_TABLE, `${target}/${dataKey}`);
    return b ? decodeRecord(b) : undefined;
  }

  /**
   * Merges a record into the hint for (target, key). Refuses with KV_OVERLOADED when the target
   * already has the maximum number of hints: the write then does not count towards the quorum,
   * so nothing is acknowledged that is not stored (the `hintsDropped` metric counts refusals).
   */
  store(target: NodeId, dataKey: string, record: VersionedRecord): Promise<void> {
    const k = `${target}/${dataKey}`;
    const existing = this.#storage.get(HINTS_TABLE, k);
    if (!existing) {
      const n = this.#counts.get(target) ?? 0;
      if (n >= this.#perTargetMax) {
        this.dropped++;
        return Promise.reject(new KvError('KV_OVERLOADED', `hint bound reached for ${target}`, { target, max: this.#perTargetMax }));
      }
      this.#counts.set(target, n + 1);
    }
    const merged = existing ? syncRecords(decodeRecord(existing), record)! : record;
    return this.#storage.write([{ type: 'put', table: HINTS_TABLE, key: k, value: encodeRecord(merged) }]);
  }

  /** Up to `limit` hints for one target, with their stored bytes (to detect later changes). */
  batch(target: NodeId, limit: number): { dataKey: string; bytes: Uint8Array }[] {
    const out: { dataKey: string; bytes: Uint8Array }[] = [];
    for (const [k, bytes] of this.#storage.range(HINTS_TABLE, { gte: `${target}/`, lt: `${target}0`, limit })) {
      out.push({ dataKey: k.slice(target.length + 1), bytes });
    }
    return out;
  }

  /** Removes delivered hints, except those that changed while in flight (sent again later). */
  async removeDelivered(target: NodeId, sent: readonly { dataKey: string; bytes: Uint8Array }[]): Promise<number> {
    const ops = [];
    for (const s of sent) {
      const k = `${target}/${s.dataKey}`;
      const now = this.#storage.get(HINTS_TABLE, k);
      if (now && Buffer.compare(Buffer.from(now), Buffer.from(s.bytes)) === 0) ops.push({ type: 'del' as const, table: HINTS_TABLE, key: k });
    }
    if (ops.length === 0) return 0;
    this.#counts.set(target, Math.max(0, (this.#counts.get(target) ?? 0) - ops.length));
    this.delivered += ops.length;
    await this.#storage.write(ops);
    return ops.length;
  }
}
