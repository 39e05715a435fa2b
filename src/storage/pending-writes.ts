import { MemoryTable } from './memory-table.ts';
import type { WriteOp } from './storage.ts';

/** One op not yet in LMDB as reads must see it (ST2); `value` undefined is a delete. */
export interface Pending {
  readonly seq: number;
  readonly value: Uint8Array | undefined;
}

/**
 * The LMDB engine's overlay: every op written but not yet applied to LMDB — on its way to the
 * write-ahead log, or durable there and waiting for the next checkpoint. `get` and `range`
 * consult it first, so the engine reads its own writes (ST2, ST3).
 *
 * Ops wait here for up to a checkpoint interval, so a table can hold thousands of keys; a range
 * (a CRDT document's rows, a Merkle segment) must not scan them all, so each table keeps its
 * keys in order like a memory-engine table (memory-table.ts), with the key's ops as its value.
 */
export class PendingWrites {
  readonly #tables = new Map<string, MemoryTable<Pending[]>>();

  add(seq: number, ops: readonly WriteOp[]): void {
    for (const op of ops) {
      let table = this.#tables.get(op.table);
      if (table === undefined) this.#tables.set(op.table, (table = new MemoryTable()));
      const p = { seq, value: op.type === 'put' ? op.value : undefined };
      const pending = table.get(op.key);
      if (pending === undefined) table.set(op.key, [p]);
      else pending.push(p);
    }
  }

  /** Forgets one write's ops: applied ones are now in LMDB, failed ones never will be. */
  drop(seq: number, ops: readonly WriteOp[]): void {
    for (const op of ops) {
      const table = this.#tables.get(op.table);
      const pending = table?.get(op.key);
      if (table === undefined || pending === undefined) continue;
      // Nearly always this key's only pending op (checkpoints apply writes in order).
      if (pending.length === 1) {
        if (pending[0]!.seq === seq) table.delete(op.key);
      } else {
        for (let i = 0; i < pending.length; i++) {
          if (pending[i]!.seq !== seq) continue;
          pending.splice(i, 1);
          break;
        }
      }
      if (table.size === 0) this.#tables.delete(op.table);
    }
  }

  /** The newest op on `key`, if any is pending. */
  newest(table: string, key: string): Pending | undefined {
    const pending = this.#tables.get(table)?.get(key);
    return pending === undefined ? undefined : pending[pending.length - 1];
  }

  /** Each pending key of `table` within [gte, lt) with its newest op, in storage order. */
  inRange(table: string, gte: string | undefined, lt: string | undefined): [string, Pending][] {
    const overlay = this.#tables.get(table);
    if (overlay === undefined) return [];
    const within = overlay.range({
      ...(gte !== undefined ? { gte } : {}),
      ...(lt !== undefined ? { lt } : {}),
    });
    return within.map(([key, pending]) => [key, pending[pending.length - 1]!]);
  }
}
