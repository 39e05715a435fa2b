import type { NodeId, PartitionIndex } from '../core/types.ts';
import type { Storage } from '../storage/storage.ts';
import type { PeerMessage } from './peer-messages.ts';
import type { WireRecord } from './record-codec.ts';
import type { VersionedRecord } from '../core/siblings.ts';
import { recordToWire } from './record-codec.ts';
import { DATA_TABLE, dataRange, keyOfDataKey } from './storage-layout.ts';

/**
 * Ownership handoff (Dynamo §4.9, Riak's handoff): when the ring changes, a node that is no
 * longer a replica of a partition streams that partition's records to the nodes that became
 * replicas, in acknowledged batches, and deletes each batch locally once the new replicas
 * hold it durably. Until a partition's transfer completes, the node advertises it (gossip), so
 * coordinators still read from it: the old owner answers for what it has not handed over yet.
 *
 * Progress (keys and bytes sent, % done) is visible in `/admin/status` and as events.
 */

export interface HandoffTask {
  readonly partition: PartitionIndex;
  targets: NodeId[];
  keysTotal: number;
  keysSent: number;
  bytesSent: number;
  readonly startedAtMs: number;
}

export interface HandoffHost {
  readonly storage: Storage;
  now(): number;
  /** Request/reply to a peer (rejects on time-out or unreachable). */
  request(to: NodeId, make: (id: number) => PeerMessage, timeoutMs: number): Promise<PeerMessage>;
  isUp(id: NodeId): boolean;
  /** Removes a local key if its stored bytes are still `bytes` (nothing newer arrived). */
  removeIfUnchanged(key: string, bytes: Uint8Array): Promise<boolean>;
  /** The full record stored under a data key as `bytes` (a document with its whole table). */
  fullRecord(dataKey: string, bytes: Uint8Array): VersionedRecord;
  emit(type: string, fields: Record<string, unknown>): void;
  sleep(ms: number): Promise<void>;
  /** The handoff list changed: advertise it (gossip). */
  advertise(partitions: PartitionIndex[]): void;
  /** All partitions handed off: a leaving node may now mark itself left. */
  drained(): void;
  readonly batchSize: number;
  readonly timeoutMs: number;
}

/** Completed transfers kept for the status report. */
const HISTORY_MAX = 64;

export class PartitionHandoff {
  readonly #host: HandoffHost;
  readonly #tasks = new Map<PartitionIndex, HandoffTask>();
  readonly #done: (HandoffTask & { finishedAtMs: number })[] = [];
  #running = false;
  #closed = false;
  totals = { partitions: 0, keys: 0, bytes: 0 };

  constructor(host: HandoffHost) {
    this.#host = host;
  }

  /** Keys not yet sent of the partitions being handed off now. */
  keysPending(): number {
    let n = 0;
    for (const t of this.#tasks.values()) n += Math.max(0, t.keysTotal - t.keysSent);
    return n;
  }

  /** Partitions still being handed off (what coordinators must also read from). */
  pending(): PartitionIndex[] {
    return [...this.#tasks.keys()].sort((a, b) => a - b);
  }

  /**
   * Makes the task list match the ring: `lost` maps each partition this node no longer
   * replicates (and still holds data for) to the nodes it must go to.
   */
  plan(lost: ReadonlyMap<PartitionIndex, NodeId[]>, exactTargets: boolean): void {
    let changed = false;
    for (const p of [...this.#tasks.keys()]) {
      if (!lost.has(p)) {
        this.#tasks.delete(p);
        changed = true;
      }
    }
    for (const [p, targets] of lost) {
      const t = this.#tasks.get(p);
      if (t) {
        // A periodic re-check does not know the old ring: it keeps the targets it planned.
        if (exactTargets) t.targets = targets;
      } else {
        if (isEmpty(this.#host.storage, p)) continue;
        let keys = 0;
        for (const _ of this.#host.storage.range(DATA_TABLE, dataRange(p))) keys++;
        this.#tasks.set(p, {
          partition: p,
          targets,
          keysTotal: keys,
          keysSent: 0,
          bytesSent: 0,
          startedAtMs: this.#host.now(),
        });
        this.#host.emit('handoff-started', { partition: p, targets, keys });
        changed = true;
      }
    }
    if (changed) this.#host.advertise(this.pending());
    this.#run().catch(() => undefined);
  }

  close(): void {
    this.#closed = true;
  }

  status(): Record<string, unknown> {
    const active = [...this.#tasks.values()].map((t) => ({
      partition: t.partition,
      targets: t.targets,
      keysSent: t.keysSent,
      keysTotal: t.keysTotal,
      bytesSent: t.bytesSent,
      percent:
        t.keysTotal === 0 ? 100 : Math.min(100, Math.round((100 * t.keysSent) / t.keysTotal)),
      startedAtMs: t.startedAtMs,
    }));
    return {
      active: active.length > 0,
      partitions: active,
      completed: this.#done.slice(-16),
      totals: this.totals,
    };
  }

  /** One partition at a time, one batch in flight: handoff never starves client traffic. */
  async #run(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      while (!this.#closed) {
        const task = [...this.#tasks.values()].find((t) =>
          t.targets.every((n) => this.#host.isUp(n)),
        );
        if (!task) break;
        const finished = await this.#step(task);
        if (finished) {
          this.#tasks.delete(task.partition);
          const record = { ...task, finishedAtMs: this.#host.now() };
          this.#done.push(record);
          if (this.#done.length > HISTORY_MAX) this.#done.shift();
          this.totals.partitions++;
          this.#host.emit('handoff-done', {
            partition: task.partition,
            targets: task.targets,
            keys: task.keysSent,
            bytes: task.bytesSent,
            durationMs: record.finishedAtMs - task.startedAtMs,
          });
          this.#host.advertise(this.pending());
          if (this.#tasks.size === 0) this.#host.drained();
        }
      }
    } finally {
      this.#running = false;
    }
  }

  /** Sends one batch; true when the partition is empty here. */
  async #step(task: HandoffTask): Promise<boolean> {
    const batch: { key: string; bytes: Uint8Array; wire: WireRecord }[] = [];
    for (const [k, bytes] of this.#host.storage.range(DATA_TABLE, {
      ...dataRange(task.partition),
      limit: this.#host.batchSize,
    })) {
      try {
        batch.push({ key: keyOfDataKey(k), bytes, wire: recordToWire(this.#host.fullRecord(k, bytes)) });
      } catch {
        // A corrupt record cannot be handed over; it is reported by reads and left behind.
      }
    }
    if (batch.length === 0) return true;
    const entries = batch.map((b): [string, WireRecord] => [b.key, b.wire]);
    try {
      for (const target of task.targets) {
        const res = await this.#host.request(
          target,
          (id) => ({ t: 'batch', id, entries }),
          this.#host.timeoutMs,
        );
        if (res.t !== 'batch-r' || res.err) throw new Error(`handoff batch refused by ${target}`);
      }
    } catch {
      // A target went away: try again later (the task stays, the data stays).
      await this.#host.sleep(500);
      return false;
    }
    let removed = 0;
    try {
      for (const b of batch) if (await this.#host.removeIfUnchanged(b.key, b.bytes)) removed++;
    } catch {
      // The disk refused the delete (full, I/O error): the keys stay and go again later.
      await this.#host.sleep(500);
      return false;
    }
    const bytes = batch.reduce((n, b) => n + b.bytes.byteLength, 0);
    task.keysSent += batch.length;
    task.bytesSent += bytes * task.targets.length;
    task.keysTotal = Math.max(task.keysTotal, task.keysSent);
    this.totals.keys += batch.length;
    this.totals.bytes += bytes * task.targets.length;
    this.#host.emit('handoff-progress', {
      partition: task.partition,
      targets: task.targets,
      keysSent: task.keysSent,
      keysTotal: task.keysTotal,
      bytesSent: task.bytesSent,
      percent: Math.min(100, Math.round((100 * task.keysSent) / task.keysTotal)),
    });
    // Keys that changed while in flight stay and go in a later batch; if nothing could be
    // removed the partition keeps changing under us: pause briefly instead of spinning.
    if (removed === 0) await this.#host.sleep(200);
    return false;
  }
}

function isEmpty(storage: Storage, p: PartitionIndex): boolean {
  for (const _ of storage.range(DATA_TABLE, { ...dataRange(p), limit: 1 })) return false;
  return true;
}
