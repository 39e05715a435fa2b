import { open, type Database, type DatabaseOptions, type RootDatabase } from 'lmdb';
import { StorageIoError, type RangeOptions, type Storage, type WriteOp } from './storage.ts';
import { validateKey, validateOps } from './validate-ops.ts';
import { checkLmdbDataFile } from './lmdb-file-check.ts';
import { makeDir } from './make-dir.ts';
import { compareUtf8 } from './utf8-order.ts';
import { PendingWrites, type Pending } from './pending-writes.ts';
import {
  comparePositions,
  walHeaderBytes,
  WriteAheadLog,
  type WalEntry,
  type WalPosition,
  type WalRecord,
} from './write-ahead-log.ts';
import { decodeWriteOps, encodeWriteOps } from './write-op-codec.ts';
import { join } from 'node:path';

/** Options of the LMDB engine. */
export interface LmdbStorageOptions {
  /** The data directory; one LMDB environment lives in it. */
  readonly path: string;
  /**
   * Address space mapped at open, in bytes. Only a starting point: lmdb-js grows the map when a
   * transaction needs more pages, so this bounds nothing. 1 GiB holds ~1,000,000 keys of 100 B
   * without a remap and costs no disk (the file grows with the data).
   */
  readonly mapSizeBytes?: number;
  /** Named sub-databases (tables) the environment can hold; LMDB fixes this at open. */
  readonly tablesMax?: number;
  /** How long logged writes may wait for a checkpoint (default 50 ms; tests stretch it). */
  readonly checkpointIntervalMs?: number;
}

const mapSizeBytesDefault = 1 << 30;
const tablesMaxDefault = 64;

type Table = Database<Buffer, Buffer>;
/** Every table, the engine's own included: keys and values are raw bytes. */
const tableOptions = { encoding: 'binary', keyEncoding: 'binary' } as const;

/** The sub-database holding the engine's own bookkeeping: the log position applied to LMDB. */
const walTableName = '\u0000wal';
const appliedKey = Buffer.from('applied');
/**
 * A checkpoint starts this long after the first write it will carry (by default)… Short, because
 * queueing a checkpoint's puts holds the main thread (0.9–7 ms for ~2,500 ops every 200 ms, in
 * the cluster at 12,000 writes/s) and writes that arrive meanwhile wait: paced at half the
 * maximum, 50 ms instead of 200 gave write p95 5.6–7.6 ms against 7.9–11.8 and p99 10.1–15.0
 * against 14.6–27.1, with the same flat-out throughput (docs/BENCHMARKS.md, 2026-12-06).
 */
const checkpointIntervalMsDefault = 50;
/** …or as soon as this many ops wait for one. */
const checkpointOpsMax = 8192;
/** After a failed checkpoint (disk full, I/O error), the next try waits this long. */
const checkpointRetryMs = 1000;
/**
 * Writes are refused (StorageIoError) while this many bytes of log records wait for LMDB: they are
 * held in memory (the overlay) until a checkpoint succeeds, so this bounds that memory when LMDB
 * cannot take them (a full disk), and it bounds the log a restart must replay.
 */
const backlogBytesMax = 64 * 1024 * 1024;

/** A write durable in the log, waiting for a checkpoint to apply it to LMDB (`copies`: its ops, values viewing the log record). */
interface Unapplied {
  readonly seq: number;
  readonly copies: readonly WriteOp[];
  readonly end: WalPosition;
  readonly bytes: number;
}

/**
 * The on-disk engine: one LMDB environment per data dir, one named sub-database per table,
 * keys stored as raw UTF-8 bytes so LMDB's memcmp order is UTF-8 byte order (ST3), and a
 * write-ahead log in `<dir>/wal` (write-ahead-log.ts) that makes writes durable.
 *
 * A write (ST1) is appended to the log and resolves once the log's `fdatasync` covers it; many
 * writes share each append and sync (group commit). Until then, and afterwards until a
 * checkpoint applies it to LMDB, its ops live in the overlay (pending-writes.ts), which `get`
 * and `range` read first (ST2, ST3). A checkpoint applies every logged write in one durable LMDB
 * transaction, every 50 ms or 8,192 ops, and records the log position it reached in that same
 * transaction; log segments before it are then deleted. (Committing each event-loop turn's
 * writes to LMDB, as the engine did before, wrote a page per random put and synced twice, ~2 ms
 * that every write waited for; a checkpoint's puts share pages and syncs, and nobody waits for
 * it: docs/BENCHMARKS.md.) At open, the log records after the applied
 * position go back into the overlay (replay) and a checkpoint starts, so a crash loses nothing
 * acknowledged, and a node whose disk is full can still start and serve what it holds.
 *
 * `overlappingSync: false` makes every LMDB commit fsync before lmdb-js reports it, so a
 * checkpoint's log segments are deleted only once LMDB holds their ops on disk.
 * `eventTurnBatching: false` because every write is an explicit `batch()` anyway, and with event
 * turn batching a failed commit also rejects an internal promise nobody handles, which would crash
 * the process on an I/O error.
 */
export class LmdbStorage implements Storage {
  private readonly tables = new Map<string, Table>();
  /** Tables looked up and found missing, so reads of them don't reopen the DBI every time. */
  private readonly missing = new Set<string>();
  private readonly pending = new PendingWrites();
  /**
   * Writes called and not settled, which `close` waits for: a count and the waiters, not a Set of
   * promises (a collection every write adds to and removes from makes V8 promote every write's
   * state: src/node/churn-table.ts).
   */
  private inFlight = 0;
  private whenIdle: (() => void)[] = [];
  /** Writes durable in the log and not yet in LMDB, in log order. */
  private unapplied: Unapplied[] = [];
  private unappliedOps = 0;
  /** Value bytes of writes not yet in LMDB (in flight to the log or waiting for a checkpoint). */
  private backlogBytes = 0;
  private checkpointTimer: NodeJS.Timeout | null = null;
  /** The checkpoint in flight; one at a time. */
  private checkpointing: Promise<void> | null = null;
  private seq = 0;
  private closed = false;

  private constructor(
    private readonly env: RootDatabase,
    private readonly walTable: Database<Buffer, Buffer>,
    private readonly log: WriteAheadLog,
    private readonly checkpointIntervalMs: number,
  ) {}

  /** Opens (creating if needed) the environment in `options.path`, replaying its log. */
  static open(options: LmdbStorageOptions): LmdbStorage {
    // Made here, not by lmdb-js, whose recursive mkdir never returns for some paths (make-dir.ts).
    makeDir(options.path);
    // LMDB crashes (SIGSEGV) on a garbled meta page instead of failing: refuse it first.
    checkLmdbDataFile(options.path);
    const env = open({
      path: options.path,
      mapSize: options.mapSizeBytes ?? mapSizeBytesDefault,
      maxDbs: options.tablesMax ?? tablesMaxDefault,
      overlappingSync: false,
      eventTurnBatching: false,
      // The path is always a directory; lmdb-js would take one with a dot in its name for a file.
      noSubdir: false,
    });
    let log: WriteAheadLog | undefined;
    try {
      const walOptions: DatabaseOptions & { create: boolean } = { ...tableOptions, create: true };
      const walTable = env.openDB<Buffer, Buffer>(walTableName, walOptions);
      const appliedBytes = walTable.get(appliedKey);
      const applied =
        appliedBytes === undefined ? { segment: 0, offset: 0 } : decodePosition(appliedBytes);
      const opened = WriteAheadLog.open(join(options.path, 'wal'), applied.segment);
      log = opened.log;
      const storage = new LmdbStorage(
        env,
        walTable,
        log,
        options.checkpointIntervalMs ?? checkpointIntervalMsDefault,
      );
      storage.replay(opened.records.filter((r) => comparePositions(r.end, applied) > 0));
      return storage;
    } catch (e) {
      log?.close();
      void env.close();
      throw e;
    }
  }

  /**
   * Takes the log records LMDB does not have yet back into the overlay, as writes waiting for a
   * checkpoint, and starts one. Applying them to LMDB here instead would make starting depend on
   * LMDB having room for them: a node whose disk filled up could then not start at all, where
   * this way it starts, serves what it holds and refuses writes until space returns.
   */
  private replay(records: readonly WalRecord[]): void {
    for (const r of records) {
      const copies = decodeWriteOps(r.payload);
      const seq = ++this.seq;
      const bytes = walHeaderBytes + r.payload.length;
      this.pending.add(seq, copies);
      this.backlogBytes += bytes;
      this.awaitCheckpoint({ seq, copies, end: r.end, bytes });
    }
    // Nothing to apply: every segment found is in LMDB already; the log writes to a newer one.
    if (records.length === 0) this.log.release({ segment: Number.MAX_SAFE_INTEGER, offset: 0 });
    else this.startCheckpoint();
  }

  get(table: string, key: string): Uint8Array | undefined {
    this.assertOpen();
    const pending = this.pending.newest(table, key);
    if (pending !== undefined) return pending.value;
    if (!isStorableKey(key)) return undefined;
    const db = this.table(table, false);
    if (db === undefined) return undefined;
    // getBinaryFast answers in a buffer lmdb-js reuses for its next read, whose `length` is the
    // value's; the caller keeps a copy from Node's buffer pool. lmdb-js's own copy (`get`) gives
    // every value a buffer of its own, 1-2 µs more per read (measured), and every write and
    // quorum read does one on each replica.
    const view = db.getBinaryFast(encodeKey(key));
    return view === undefined ? undefined : Buffer.from(view.subarray(0, view.length));
  }

  write(ops: readonly WriteOp[]): Promise<void> {
    let copies: readonly WriteOp[];
    let record: Buffer;
    const seq = ++this.seq;
    try {
      this.assertOpen();
      validateOps(ops);
      for (let i = 0; i < ops.length; i++)
        if (ops[i]!.table === walTableName) throw new RangeError('storage: reserved table name');
      if (this.backlogBytes > backlogBytesMax) {
        return Promise.reject(
          new StorageIoError('lmdb: too many writes wait for LMDB (is the disk full?)', undefined),
        );
      }
      // The log record is the engine's one copy of the values (the overlay holds views into it),
      // so neither changes if the caller reuses its buffers.
      ({ bytes: record, ops: copies } = encodeWriteOps(ops, walHeaderBytes));
    } catch (e) {
      // Invalid ops and use after close are caller bugs; anything else is I/O.
      const bug = e instanceof RangeError || (this.closed && e instanceof Error);
      return Promise.reject(bug ? e : new StorageIoError('lmdb: write failed', e));
    }
    this.pending.add(seq, copies);
    this.backlogBytes += record.length;
    // One log record per write: it is replayed whole or not at all, so each write stays atomic.
    return new Promise((resolve, reject) => {
      this.inFlight++;
      this.log.appendEntry(new LoggedWrite(this, seq, copies, record, resolve, reject));
    });
  }

  /** The log made a write durable (told by its LoggedWrite): it waits in the overlay for a checkpoint. */
  onLogged(w: Unapplied): void {
    this.settled();
    this.awaitCheckpoint(w);
    this.scheduleCheckpoint();
  }

  /** A write in the log (in overlay and backlog already): the next checkpoint takes it. */
  private awaitCheckpoint(w: Unapplied): void {
    this.unapplied.push(w);
    this.unappliedOps += w.copies.length;
  }

  /** The log failed a write (told by its LoggedWrite): it leaves the overlay, and never reaches LMDB. */
  onLogFailed(seq: number, copies: readonly WriteOp[], bytes: number): void {
    this.settled();
    this.pending.drop(seq, copies);
    this.backlogBytes -= bytes;
  }

  /** One write settled; when none is left, wake whoever waits (close). */
  private settled(): void {
    if (--this.inFlight > 0) return;
    const waiters = this.whenIdle;
    this.whenIdle = [];
    for (const wake of waiters) wake();
  }

  /** Starts a checkpoint now if enough ops wait, else arms the timer for one. */
  private scheduleCheckpoint(): void {
    if (this.checkpointing !== null || this.unapplied.length === 0 || this.closed) return;
    if (this.unappliedOps >= checkpointOpsMax) this.startCheckpoint();
    else if (this.checkpointTimer === null) this.armCheckpointTimer(this.checkpointIntervalMs);
  }

  private armCheckpointTimer(ms: number): void {
    this.checkpointTimer = setTimeout(() => {
      this.checkpointTimer = null;
      this.startCheckpoint();
    }, ms);
    this.checkpointTimer.unref();
  }

  private startCheckpoint(): void {
    if (this.checkpointing !== null || this.unapplied.length === 0) return;
    if (this.checkpointTimer !== null) clearTimeout(this.checkpointTimer);
    this.checkpointTimer = null;
    this.checkpointing = this.checkpoint().then(
      () => {
        this.checkpointing = null;
        this.scheduleCheckpoint();
      },
      () => {
        // The writes stay durable in the log and visible in the overlay; try again later.
        this.checkpointing = null;
        if (!this.closed && this.checkpointTimer === null)
          this.armCheckpointTimer(checkpointRetryMs);
      },
    );
  }

  /**
   * Applies every logged write to LMDB in one durable transaction, with the log position it
   * reaches; then the writes leave the overlay and the log segments before that position go.
   * Only one runs at a time: LMDB has one writer, and a bigger transaction shares more pages.
   * On failure the writes are put back for the next one, and it rejects.
   */
  private async checkpoint(): Promise<void> {
    const batch = this.unapplied;
    this.unapplied = [];
    this.unappliedOps = 0;
    const end = batch.at(-1)?.end;
    if (end === undefined) return;
    try {
      // Creating a table runs a short synchronous LMDB transaction, once per table; before the batch.
      // (Plain loops: a checkpoint carries every write of the last interval.)
      let lastName: string | undefined;
      for (const w of batch) {
        for (const op of w.copies) {
          if (op.table !== lastName) this.table((lastName = op.table), true);
        }
      }
      await this.env.batch(() => {
        let name: string | undefined;
        let db: Table | undefined;
        for (const w of batch) {
          for (const op of w.copies) {
            if (op.table !== name) db = this.tables.get((name = op.table));
            applyOp(db!, op);
          }
        }
        void this.walTable.put(appliedKey, encodePosition(end));
      });
    } catch (e) {
      // lmdb-js attaches the real error as a second, already rejected promise; handle it so it
      // cannot surface as an unhandled rejection.
      (e as { commitError?: Promise<unknown> } | null)?.commitError?.catch(() => undefined);
      this.unapplied = batch.concat(this.unapplied);
      this.unappliedOps += batch.reduce((n, w) => n + w.copies.length, 0);
      throw e;
    }
    for (const w of batch) {
      this.pending.drop(w.seq, w.copies);
      this.backlogBytes -= w.bytes;
    }
    this.log.release(end);
  }

  range(table: string, options: RangeOptions = {}): Iterable<[string, Uint8Array]> {
    this.assertOpen();
    const db = this.table(table, false);
    const { gte, lt, limit } = options;
    if (lt === '' || (limit !== undefined && limit <= 0)) return [];
    // Bounds are plain byte strings; an empty `gte` means "from the start" and LMDB rejects it.
    // Pending deletes can hide durable entries: a limited scan reads that many more to make up.
    const pending = this.pending.inRange(table, gte, lt);
    const durable =
      db === undefined
        ? []
        : db
            .getRange({
              ...(gte !== undefined && gte !== '' ? { start: encodeKey(gte) } : {}),
              ...(lt !== undefined ? { end: encodeKey(lt) } : {}),
              ...(limit !== undefined ? { limit: limit + pending.length } : {}),
            })
            .map(({ key, value }): [string, Uint8Array] => [key.toString('utf8'), value]);
    return pending.length === 0 ? durable : take(overlayRange(durable, pending), limit);
  }

  count(table: string): number {
    this.assertOpen();
    const db = this.table(table, false);
    const stats = db?.getStats() as { entryCount?: number } | undefined;
    let n = stats?.entryCount ?? 0;
    // Writes not yet in LMDB: a pending put of a new key adds one, a pending del of a stored one removes one.
    for (const [key, p] of this.pending.inRange(table, undefined, undefined)) {
      const stored = db !== undefined && db.doesExist(encodeKey(key));
      if (p.value !== undefined && !stored) n++;
      else if (p.value === undefined && stored) n--;
    }
    return n;
  }

  /**
   * Waits for every write already called to settle, applies the log to LMDB and deletes it (so
   * the next open replays nothing), then closes the environment. If that last checkpoint fails,
   * the log stays and the next open replays it.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.inFlight > 0) await new Promise<void>((resolve) => this.whenIdle.push(resolve));
    if (this.checkpointTimer !== null) clearTimeout(this.checkpointTimer);
    this.checkpointTimer = null;
    await this.checkpointing;
    const applied = await this.checkpoint().then(
      () => true,
      () => false,
    );
    this.log.close();
    if (applied) this.log.removeAll();
    await this.env.close();
  }

  private table(name: string, create: boolean): Table | undefined {
    const known = this.tables.get(name);
    if (known !== undefined || (!create && this.missing.has(name))) return known;
    const options: DatabaseOptions & { create: boolean } = { ...tableOptions, create };
    const db = this.env.openDB<Buffer, Buffer>(name, options) as Table | undefined;
    if (db === undefined) {
      this.missing.add(name);
      return undefined;
    }
    this.missing.delete(name);
    this.tables.set(name, db);
    return db;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('lmdb storage: closed');
  }
}

function applyOp(db: Table, op: WriteOp): void {
  if (op.type === 'put') void db.put(encodeKey(op.key), op.value as Buffer);
  else void db.remove(encodeKey(op.key));
}

function encodePosition(p: WalPosition): Buffer {
  const out = Buffer.allocUnsafe(16);
  out.writeDoubleLE(p.segment, 0);
  out.writeDoubleLE(p.offset, 8);
  return out;
}

function decodePosition(bytes: Uint8Array): WalPosition {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length !== 16) throw new RangeError('lmdb: malformed applied log position');
  return { segment: b.readDoubleLE(0), offset: b.readDoubleLE(8) };
}

function encodeKey(key: string): Buffer {
  return Buffer.from(key, 'utf8');
}

function isStorableKey(key: string): boolean {
  try {
    validateKey(key);
    return true;
  } catch {
    return false;
  }
}

/**
 * Merges durable entries with the newest pending op of each key in flight (ST2 for ranges: a
 * scan sees every write already called, like `get`). Both inputs are in storage order.
 */
function* overlayRange(
  durable: Iterable<[string, Uint8Array]>,
  pending: readonly [string, Pending][],
): Iterable<[string, Uint8Array]> {
  let i = 0;
  for (const entry of durable) {
    while (i < pending.length && compareUtf8(pending[i]![0], entry[0]) < 0) {
      const [key, p] = pending[i++]!;
      if (p.value !== undefined) yield [key, p.value];
    }
    if (i < pending.length && pending[i]![0] === entry[0]) {
      const p = pending[i++]![1];
      if (p.value !== undefined) yield [entry[0], p.value];
      continue;
    }
    yield entry;
  }
  for (; i < pending.length; i++) {
    const [key, p] = pending[i]!;
    if (p.value !== undefined) yield [key, p.value];
  }
}

function* take<T>(items: Iterable<T>, limit: number | undefined): Iterable<T> {
  if (limit === undefined) return yield* items;
  let n = 0;
  for (const item of items) {
    yield item;
    if (++n >= limit) return;
  }
}

/**
 * One write on its way through the log: the log's entry (write-ahead-log.ts) and the promise
 * `write` returned, in one object, so a write costs one promise and no closures beyond it.
 */
class LoggedWrite implements WalEntry {
  constructor(
    private readonly storage: LmdbStorage,
    private readonly seq: number,
    private readonly copies: readonly WriteOp[],
    readonly record: Buffer,
    private readonly resolve: () => void,
    private readonly reject: (e: unknown) => void,
  ) {}

  logged(end: WalPosition): void {
    this.storage.onLogged({ seq: this.seq, copies: this.copies, end, bytes: this.record.length });
    this.resolve();
  }

  failed(error: unknown): void {
    this.storage.onLogFailed(this.seq, this.copies, this.record.length);
    this.reject(new StorageIoError('lmdb: write-ahead log append failed', error));
  }
}
