import type { NodeId } from '../core/types.ts';
import { KvError } from '../core/errors.ts';
import type { VersionedRecord } from '../core/siblings.ts';
import { syncRecords } from '../core/siblings.ts';
import type { Storage, WriteOp } from '../storage/storage.ts';
import { DEFAULTS } from './config.ts';
import { decodeRecord, encodeRecord, sameBytes } from './record-codec.ts';
import { DocumentTables } from './document-tables.ts';
import { HINTS_TABLE, HINT_TABLES_TABLE } from './storage-layout.ts';

/** A hint as delivered: its stored bytes and the full record they stand for. */
export interface HintEntry {
  readonly dataKey: string;
  readonly bytes: Uint8Array;
  readonly record: VersionedRecord;
  /** A document's table rows as sent. */
  readonly rows: ReadonlyMap<string, Uint8Array>;
}

/** Bytes of idempotency table rows in one delivery batch, at most (one hint always goes). */
const BATCH_TABLE_BYTES_MAX = 4 * 1024 * 1024;

/**
 * Hinted handoff (Dynamo §4.6): a write meant for a replica that is down is stored on a
 * fallback node, in this table, under the name of the node it was meant for. Hints are
 * durable (they survive a restart of the node holding them), bounded per target, and removed
 * only once the target acknowledged them.
 *
 * Layout: `<target>/<data key>` → record. Target first, so delivery scans one target's range.
 * A document's idempotency table lives in rows of its own, as in the data table
 * (document-tables.ts), so adding a delta to the hint of a hot document stays cheap however
 * many keys the hint has gathered.
 */
export class HintStore {
  readonly #storage: Storage;
  readonly #perTargetMax: number;
  readonly #counts = new Map<NodeId, number>();
  readonly #tables: DocumentTables;
  readonly #now: () => number;
  dropped = 0;
  delivered = 0;

  constructor(
    storage: Storage,
    perTargetMax: number,
    documents: { keysMax: number; now: () => number } = { keysMax: DEFAULTS.idempotencyKeysMax, now: () => Date.now() },
  ) {
    this.#storage = storage;
    this.#perTargetMax = perTargetMax;
    this.#tables = new DocumentTables(storage, HINT_TABLES_TABLE, documents.keysMax);
    this.#now = documents.now;
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
    const k = `${target}/${dataKey}`;
    const b = this.#storage.get(HINTS_TABLE, k);
    return b ? this.#tables.withTable(k, decodeRecord(b)) : undefined;
  }

  /** `read` without a document's idempotency table (its row only): for a read's answer, never to store. */
  readView(target: NodeId, dataKey: string): VersionedRecord | undefined {
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
    if (record.doc) {
      const stored = existing ? decodeRecord(existing) : undefined;
      const { record: local, rows } = this.#tables.withRows(k, stored, record.doc.idempotency.applied.keys());
      const write = this.#tables.store(HINTS_TABLE, k, existing, rows, syncRecords(local, record)!, this.#now());
      // Nothing new: rewrite the same bytes, so the promise waits for any earlier write in flight.
      if (write !== undefined || existing === undefined) return write ?? Promise.resolve();
      return this.#storage.write([{ type: 'put', table: HINTS_TABLE, key: k, value: existing }]);
    }
    const merged = existing ? syncRecords(decodeRecord(existing), record)! : record;
    return this.#storage.write([{ type: 'put', table: HINTS_TABLE, key: k, value: encodeRecord(merged) }]);
  }

  /**
   * Up to `limit` hints for one target (fewer when documents' tables are large), with their
   * stored bytes and full records (to send them, and to detect later changes).
   */
  batch(target: NodeId, limit: number): HintEntry[] {
    const out: HintEntry[] = [];
    let tableBytes = 0;
    for (const [k, bytes] of this.#storage.range(HINTS_TABLE, { gte: `${target}/`, lt: `${target}0`, limit })) {
      const stored = decodeRecord(bytes);
      const rows = stored.doc ? this.#tables.rows(k) : new Map<string, Uint8Array>();
      let size = 0;
      for (const row of rows.values()) size += row.byteLength;
      if (out.length > 0 && tableBytes + size > BATCH_TABLE_BYTES_MAX) break;
      tableBytes += size;
      out.push({ dataKey: k.slice(target.length + 1), bytes, record: this.#tables.withTable(k, stored, rows), rows });
    }
    return out;
  }

  /** Removes delivered hints, except those that changed while in flight (sent again later). */
  async removeDelivered(target: NodeId, sent: readonly HintEntry[]): Promise<number> {
    const ops: WriteOp[] = [];
    let removed = 0;
    for (const s of sent) {
      const k = `${target}/${s.dataKey}`;
      const now = this.#storage.get(HINTS_TABLE, k);
      if (!now) continue;
      const same = sameBytes(now, s.bytes);
      // A document's delivered table rows go even when the hint changed meanwhile (the target
      // holds them now), so a hot document's hint is not sent whole again and again.
      const rows = s.record.doc ? this.#tables.removeRowsOps(k, s.rows) : { ops: [], left: 0 };
      ops.push(...rows.ops);
      if (!same || rows.left > 0) continue;
      ops.push({ type: 'del', table: HINTS_TABLE, key: k });
      removed++;
    }
    if (ops.length === 0) return 0;
    this.#counts.set(target, Math.max(0, (this.#counts.get(target) ?? 0) - removed));
    this.delivered += removed;
    await this.#storage.write(ops);
    return removed;
  }
}

