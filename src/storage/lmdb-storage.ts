import { open, type Database, type DatabaseOptions, type RootDatabase } from 'lmdb';
import { copyBytes, StorageIoError, type RangeOptions, type Storage, type WriteOp } from './storage.ts';
import { validateKey, validateOps } from './validate-ops.ts';
import { checkLmdbDataFile } from './lmdb-file-check.ts';
import { compareUtf8 } from './utf8-order.ts';

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
}

const mapSizeBytesDefault = 1 << 30;
const tablesMaxDefault = 64;

type Table = Database<Buffer, Buffer>;

/** One not-yet-committed op as `get` must see it (ST2); `value` undefined is a delete. */
interface Pending {
  readonly seq: number;
  readonly value: Uint8Array | undefined;
}

/**
 * The on-disk engine: one LMDB environment per data dir, one named sub-database per table,
 * keys stored as raw UTF-8 bytes so LMDB's memcmp order is UTF-8 byte order (ST3).
 *
 * Durability (ST1): `overlappingSync: false` makes every commit fsync before lmdb-js reports it,
 * so a resolved write is on disk (with lmdb-js's default overlapping sync, the promise resolves
 * before the flush). Concurrent writes still share commits and fsyncs: lmdb-js queues batches
 * while the writer thread is busy and commits them together (group commit).
 * `eventTurnBatching: false` because every write is an explicit `batch()` anyway, and with event
 * turn batching a failed commit also rejects an internal promise nobody handles, which would crash
 * the process on an I/O error.
 */
export class LmdbStorage implements Storage {
  private readonly tables = new Map<string, Table>();
  /** Tables looked up and found missing, so reads of them don't reopen the DBI every time. */
  private readonly missing = new Set<string>();
  /** table -> key -> ops in flight for that key, oldest first; `get` answers from the newest. */
  private readonly overlay = new Map<string, Map<string, Pending[]>>();
  private readonly inFlight = new Set<Promise<void>>();
  /** Writes waiting for the next commit (commitTurn): those of this turn, or of every turn since the commit in flight began. */
  private turn: { copies: readonly WriteOp[]; dbs: Table[]; resolve: () => void; reject: (e: unknown) => void }[] | null = null;
  /** A commit is in flight (until its fsync is done); the next one waits for it. */
  private committing = false;
  private seq = 0;
  private closed = false;

  private constructor(private readonly env: RootDatabase) {}

  /** Opens (creating if needed) the environment in `options.path`. */
  static open(options: LmdbStorageOptions): LmdbStorage {
    // LMDB crashes (SIGSEGV) on a garbled meta page instead of failing: refuse it first.
    checkLmdbDataFile(options.path);
    const env = open({
      path: options.path,
      mapSize: options.mapSizeBytes ?? mapSizeBytesDefault,
      maxDbs: options.tablesMax ?? tablesMaxDefault,
      overlappingSync: false,
      eventTurnBatching: false,
    });
    return new LmdbStorage(env);
  }

  get(table: string, key: string): Uint8Array | undefined {
    this.assertOpen();
    const pending = this.overlay.get(table)?.get(key);
    if (pending !== undefined) return pending[pending.length - 1]!.value;
    if (!isStorableKey(key)) return undefined;
    return this.table(table, false)?.get(encodeKey(key));
  }

  write(ops: readonly WriteOp[]): Promise<void> {
    let copies: readonly WriteOp[];
    let dbs: Table[];
    const seq = ++this.seq;
    try {
      this.assertOpen();
      validateOps(ops);
      // Copy values: lmdb-js reads large buffers from its writer thread later, and the overlay
      // must not change if the caller reuses its buffer.
      copies = ops.map((op) => (op.type === 'put' ? { ...op, value: copyBytes(op.value) } : op));
      // Creating a table runs a short synchronous LMDB transaction; it happens once per table.
      dbs = copies.map((op) => this.table(op.table, true)!);
    } catch (e) {
      // Invalid ops and use after close are caller bugs; anything else lmdb-js throws is I/O.
      const bug = e instanceof RangeError || (this.closed && e instanceof Error);
      return Promise.reject(bug ? e : new StorageIoError('lmdb: write failed', e));
    }
    this.addPending(seq, copies);
    const done = new Promise<void>((resolve, reject) => {
      // Every write called in one event-loop turn goes into one LMDB transaction: one commit
      // and one fsync for all of them (group commit), and one trip to lmdb-js's writer instead
      // of one per write. A transaction is all or nothing, so each write stays atomic.
      if (this.turn === null) {
        this.turn = [];
        // While a commit is in flight its completion starts the next one (with everything
        // gathered meanwhile); otherwise commit at the end of this turn.
        if (!this.committing) setImmediate(() => this.commitTurn());
      }
      this.turn.push({ copies, dbs, resolve, reject });
    });
    const tracked = done.finally(() => {
      this.dropPending(seq, copies);
      this.inFlight.delete(tracked);
    });
    this.inFlight.add(tracked);
    return tracked;
  }

  /**
   * Commits the writes gathered as one batch. One commit at a time: LMDB has one writer, so a
   * commit started while the previous one is still syncing cannot go faster, and handing LMDB
   * many small transactions cost the main thread far more (lmdb-js `startWriting`; halving the
   * CPU per write, docs/BENCHMARKS.md) than one larger one. Waiting here costs no CPU and
   * gathers more writes per fsync (group commit).
   */
  private commitTurn(): void {
    const turn = this.turn ?? [];
    this.turn = null;
    // (Also after close(): it waits for every write already called to settle.)
    if (turn.length === 0) return;
    this.committing = true;
    const next = (): void => {
      this.committing = false;
      if (this.turn !== null) this.commitTurn();
    };
    let committed: Promise<boolean>;
    try {
      committed = this.env.batch(() => {
        for (const w of turn) {
          w.copies.forEach((op, i) => {
            const db = w.dbs[i]!;
            if (op.type === 'put') void db.put(encodeKey(op.key), op.value as Buffer);
            else void db.remove(encodeKey(op.key));
          });
        }
      });
    } catch (e) {
      for (const w of turn) w.reject(new StorageIoError('lmdb: write failed', e));
      next();
      return;
    }
    committed.then(
      () => {
        next();
        for (const w of turn) w.resolve();
      },
      (e: unknown) => {
        // lmdb-js attaches the real error as a second, already rejected promise; handle it so
        // it cannot surface as an unhandled rejection.
        const detail = (e as { commitError?: Promise<unknown> } | null)?.commitError;
        detail?.catch(() => undefined);
        next();
        for (const w of turn) w.reject(new StorageIoError('lmdb: commit failed', e));
      },
    );
  }

  range(table: string, options: RangeOptions = {}): Iterable<[string, Uint8Array]> {
    this.assertOpen();
    const db = this.table(table, false);
    const { gte, lt, limit } = options;
    if (lt === '' || (limit !== undefined && limit <= 0)) return [];
    // Bounds are plain byte strings; an empty `gte` means "from the start" and LMDB rejects it.
    // Pending deletes can hide durable entries: a limited scan reads that many more to make up.
    const pending = this.pendingIn(table, gte, lt);
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

  /** Keys with writes in flight in `table` within [gte, lt), sorted in storage order (ST3). */
  private pendingIn(table: string, gte: string | undefined, lt: string | undefined): [string, Pending][] {
    const keys = this.overlay.get(table);
    if (keys === undefined) return [];
    const out: [string, Pending][] = [];
    for (const [key, pending] of keys) {
      if (gte !== undefined && compareUtf8(key, gte) < 0) continue;
      if (lt !== undefined && compareUtf8(key, lt) >= 0) continue;
      out.push([key, pending[pending.length - 1]!]);
    }
    return out.sort((a, b) => compareUtf8(a[0], b[0]));
  }

  count(table: string): number {
    this.assertOpen();
    const stats = this.table(table, false)?.getStats() as { entryCount?: number } | undefined;
    return stats?.entryCount ?? 0;
  }

  /** Waits for every write already called to settle, then closes the environment. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
    await this.env.close();
  }

  private table(name: string, create: boolean): Table | undefined {
    const known = this.tables.get(name);
    if (known !== undefined || (!create && this.missing.has(name))) return known;
    const options: DatabaseOptions & { create: boolean } = { encoding: 'binary', keyEncoding: 'binary', create };
    const db = this.env.openDB<Buffer, Buffer>(name, options) as Table | undefined;
    if (db === undefined) {
      this.missing.add(name);
      return undefined;
    }
    this.missing.delete(name);
    this.tables.set(name, db);
    return db;
  }

  private addPending(seq: number, ops: readonly WriteOp[]): void {
    for (const op of ops) {
      let keys = this.overlay.get(op.table);
      if (keys === undefined) this.overlay.set(op.table, (keys = new Map()));
      let pending = keys.get(op.key);
      if (pending === undefined) keys.set(op.key, (pending = []));
      pending.push({ seq, value: op.type === 'put' ? op.value : undefined });
    }
  }

  /** Forgets a settled write's ops: committed ones are now in LMDB, failed ones never will be. */
  private dropPending(seq: number, ops: readonly WriteOp[]): void {
    for (const op of ops) {
      const keys = this.overlay.get(op.table);
      const pending = keys?.get(op.key);
      if (keys === undefined || pending === undefined) continue;
      const i = pending.findIndex((p) => p.seq === seq);
      if (i >= 0) pending.splice(i, 1);
      if (pending.length === 0) keys.delete(op.key);
      if (keys.size === 0) this.overlay.delete(op.table);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('lmdb storage: closed');
  }
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
function* overlayRange(durable: Iterable<[string, Uint8Array]>, pending: readonly [string, Pending][]): Iterable<[string, Uint8Array]> {
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
