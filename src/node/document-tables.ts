/**
 * Where a node keeps the idempotency tables of CRDT documents (issue #5): not inside the
 * document's own row, which every update reads and rewrites, but one storage row per
 * (document, Idempotency-Key). An update then reads and writes the document's row (small: fields,
 * contexts, compensations) and the rows of the keys it carries — one for a keyed patch or a
 * delta — whatever the size of the table. Only transfers of a replica's whole state (read
 * repair, anti-entropy, handoff, hints) read the whole table (`withTable`); reads answer from
 * the row alone (`KvNode.readView`), plus a few rows when replicas are concurrent
 * (document-reads.ts).
 *
 * Layout, in a table of its own beside the records' table:
 *   `<main key>\u0000<idempotency key>` → msgpack(encodeApplications(apps))   one per key
 *   `<main key>`                        → msgpack([rows, oldest newest ms])  the summary
 * Main keys never contain NUL (client keys cannot, and internal prefixes do not), so one
 * document's rows are exactly the range [`<main>\u0000`, `<main>\u0001`).
 *
 * Why rows can be compared and digested without the table (CRDT12, document.ts): the row holds
 * the table's causal context, one dot per application, and a dot travels only with its entry.
 *
 * Bounds (CRDT8): an entry older than the retention window never deduplicates (`applyPatch`
 * prunes it first) and is deleted when a write touches it, or by a sweep of the document's
 * rows. A write sweeps when the document holds more than `keysMax` + 10% rows (the newest
 * `keysMax` unexpired ones stay, ties by key) or holds a row expired for over a tenth of the
 * window. So a document remembers at least its newest `keysMax` keys for the whole window, and
 * sweeping costs O(rows) at most once per `keysMax / 10` new keys or per 2.4 h. Rows of a
 * document that is never written again stay (within the count bound) until it is.
 *
 * Every method works in one synchronous step with the write it feeds: storage reads, ranges
 * included, see rows whose write is not durable yet (storage rules ST2, ST3).
 */
import { Packr } from 'msgpackr';
import { KvError } from '../core/errors.ts';
import type { VersionedRecord } from '../core/siblings.ts';
import {
  decodeTable,
  documentRow,
  encodeApplications,
  idempotencyRetentionMs,
  mergeDocuments,
  newestMs,
} from '../core/crdt/index.ts';
import type { Storage, WriteOp } from '../storage/storage.ts';
import { encodeRecord, sameBytes } from './record-codec.ts';

const packr = new Packr({ useRecords: false, moreTypes: false });

/**
 * How long past the retention window an entry may linger before its document's next write
 * sweeps: sweeping on the first expiry would sweep on every write of a document updated
 * steadily for over a day.
 */
const SWEEP_AFTER_EXPIRY_MS = idempotencyRetentionMs / 10;

/** A document's count row: its number of table rows, and no row is older than `oldestMs`. */
interface Summary {
  readonly count: number;
  readonly oldestMs: number;
}

/** The stored bytes of the table rows an update read (undefined: no row), by idempotency key. */
export type LoadedRows = ReadonlyMap<string, Uint8Array | undefined>;

export class DocumentTables {
  readonly #storage: Storage;
  readonly #table: string;
  readonly #keysMax: number;
  readonly #sweepAbove: number;

  constructor(storage: Storage, table: string, keysMax: number) {
    this.#storage = storage;
    this.#table = table;
    this.#keysMax = Math.max(1, keysMax);
    this.#sweepAbove = this.#keysMax + Math.max(1, Math.ceil(this.#keysMax / 10));
  }

  /** `record` with its document's whole table: the replica's full state, for transfers. */
  withTable(main: string, record: VersionedRecord, rows?: ReadonlyMap<string, Uint8Array>): VersionedRecord {
    if (!record.doc) return record;
    return attach(record, rows ?? this.rows(main));
  }

  /** Every table row of a document as it is now, writes in flight included. */
  rows(main: string): Map<string, Uint8Array> {
    const rows = new Map<string, Uint8Array>();
    for (const [k, bytes] of this.#storage.range(this.#table, rowsRange(main))) {
      rows.set(k.slice(main.length + 1), bytes);
    }
    return rows;
  }

  /**
   * `record` with the rows of `keys` attached (plus any key its document still holds inline,
   * from before tables had rows), and the bytes found, for `store`.
   */
  withRows<R extends VersionedRecord | undefined>(
    main: string,
    record: R,
    keys: Iterable<string>,
  ): { record: R; rows: LoadedRows } {
    const wanted = new Set(keys);
    for (const key of record?.doc?.idempotency.applied.keys() ?? []) wanted.add(key);
    const rows = new Map<string, Uint8Array | undefined>();
    const found = new Map<string, Uint8Array>();
    for (const key of wanted) {
      const bytes = this.#storage.get(this.#table, rowKey(main, key));
      rows.set(key, bytes);
      if (bytes !== undefined) found.set(key, bytes);
    }
    return { record: record?.doc ? (attach(record, found) as R) : record, rows };
  }

  /**
   * Writes `next` — computed from what `withRows` read in this same synchronous step — under
   * `main` in `mainTable`: the record without its table, plus the table rows that changed.
   * Returns the write (resolves when durable), or undefined when nothing would change.
   */
  store(
    mainTable: string,
    main: string,
    storedMain: Uint8Array | undefined,
    loaded: LoadedRows,
    next: VersionedRecord,
    nowMs: number,
  ): Promise<void> | undefined {
    const doc = next.doc;
    const mainBytes = encodeRecord(doc ? { ...next, doc: documentRow(doc) } : next);
    const cutoffMs = nowMs - idempotencyRetentionMs;
    const puts = new Map<string, { bytes: Uint8Array; newest: number }>();
    const dels: string[] = [];
    let added = 0;
    for (const [key, apps] of doc?.idempotency.applied ?? []) {
      const stored = loaded.has(key) ? loaded.get(key) : this.#storage.get(this.#table, rowKey(main, key));
      const newest = newestMs(apps);
      if (newest < cutoffMs) {
        if (stored !== undefined) dels.push(key);
        continue;
      }
      const bytes = packr.pack(encodeApplications(apps));
      if (stored !== undefined && sameBytes(stored, bytes)) continue;
      puts.set(key, { bytes, newest });
      if (stored === undefined) added++;
    }
    const unchanged = puts.size === 0 && dels.length === 0;
    if (unchanged && storedMain !== undefined && sameBytes(storedMain, mainBytes)) return undefined;

    let summary = this.#summary(main);
    if (!unchanged) {
      let oldestMs = summary.oldestMs;
      for (const put of puts.values()) oldestMs = Math.min(oldestMs, put.newest);
      summary = { count: Math.max(0, summary.count + added - dels.length), oldestMs };
      if (summary.count > this.#sweepAbove || summary.oldestMs < cutoffMs - SWEEP_AFTER_EXPIRY_MS) {
        summary = this.#sweep(main, puts, dels, cutoffMs);
      }
    }
    const ops: WriteOp[] = [{ type: 'put', table: mainTable, key: main, value: mainBytes }];
    for (const [key, { bytes }] of puts) ops.push({ type: 'put', table: this.#table, key: rowKey(main, key), value: bytes });
    for (const key of dels) ops.push({ type: 'del', table: this.#table, key: rowKey(main, key) });
    if (!unchanged) {
      ops.push(
        summary.count > 0
          ? { type: 'put', table: this.#table, key: main, value: packr.pack([summary.count, summary.oldestMs]) }
          : { type: 'del', table: this.#table, key: main },
      );
    }
    return this.#storage.write(ops);
  }

  /** Ops that remove a document's whole table (with its record, in the caller's write). */
  removeOps(main: string): WriteOp[] {
    return this.removeRowsOps(main).ops;
  }

  /**
   * Ops that remove the rows of a document that still hold the bytes in `sent` (all rows when
   * undefined), and how many rows would be left: what a delivered hint no longer needs.
   */
  removeRowsOps(main: string, sent?: ReadonlyMap<string, Uint8Array>): { ops: WriteOp[]; left: number } {
    const rows = this.rows(main);
    const ops: WriteOp[] = [];
    for (const [key, bytes] of rows) {
      const was = sent === undefined ? bytes : sent.get(key);
      if (was === undefined || !sameBytes(was, bytes)) continue;
      ops.push({ type: 'del', table: this.#table, key: rowKey(main, key) });
      rows.delete(key);
    }
    if (rows.size === 0) {
      if (this.#storage.get(this.#table, main) !== undefined) ops.push({ type: 'del', table: this.#table, key: main });
    } else if (ops.length > 0) {
      // Fewer rows; the oldest time stays a valid lower bound.
      ops.push({ type: 'put', table: this.#table, key: main, value: packr.pack([rows.size, this.#summary(main).oldestMs]) });
    }
    return { ops, left: rows.size };
  }

  /**
   * How many rows the document has and a lower bound of their newest applications' times (its
   * count row; none: 0 rows). A corrupt one only delays the next sweep, which recounts.
   */
  #summary(main: string): Summary {
    const none: Summary = { count: 0, oldestMs: Infinity };
    const bytes = this.#storage.get(this.#table, main);
    if (bytes === undefined) return none;
    try {
      const [count, oldestMs] = packr.unpack(bytes) as unknown[];
      if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) return none;
      return { count, oldestMs: typeof oldestMs === 'number' ? oldestMs : Infinity };
    } catch {
      return none;
    }
  }

  /**
   * Keeps the newest `keysMax` unexpired rows of the document, counting the rows about to be
   * written (`puts`, which lose their write if they go) and not those about to be deleted
   * (`dels`, which it extends). Returns the rows left: how many, and their oldest newest time.
   */
  #sweep(main: string, puts: Map<string, { bytes: Uint8Array; newest: number }>, dels: string[], cutoffMs: number): Summary {
    const newest = new Map<string, number>();
    for (const [k, bytes] of this.#storage.range(this.#table, rowsRange(main))) newest.set(k.slice(main.length + 1), rowNewestMs(bytes));
    for (const key of dels) newest.delete(key);
    for (const [key, put] of puts) newest.set(key, put.newest);
    const order = [...newest].sort(([ka, a], [kb, b]) => b - a || (ka < kb ? -1 : ka > kb ? 1 : 0));
    let kept = 0;
    let oldestMs = Infinity;
    for (const [key, ms] of order) {
      if (kept < this.#keysMax && ms >= cutoffMs) {
        kept++;
        oldestMs = ms;
        continue;
      }
      const isPut = puts.delete(key);
      if (!isPut || this.#storage.get(this.#table, rowKey(main, key)) !== undefined) dels.push(key);
    }
    return { count: kept, oldestMs };
  }
}

function attach<R extends VersionedRecord>(record: R, rows: ReadonlyMap<string, Uint8Array>): R {
  if (!record.doc || rows.size === 0) return record;
  const entries = [...rows]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, bytes]): [string, unknown] => [key, unpackRow(bytes)]);
  return { ...record, doc: mergeDocuments(record.doc, decodeTable(entries)) };
}

function unpackRow(bytes: Uint8Array): unknown {
  try {
    return packr.unpack(bytes);
  } catch {
    throw new KvError('KV_STORAGE_IO', 'stored idempotency table row is corrupt (not msgpack)');
  }
}

/** A row's newest application time without full validation (a malformed row sorts oldest). */
function rowNewestMs(bytes: Uint8Array): number {
  let newest = -Infinity;
  try {
    const apps: unknown = packr.unpack(bytes);
    for (const app of Array.isArray(apps) ? (apps as unknown[]) : []) {
      const atMs: unknown = Array.isArray(app) ? app[1] : undefined;
      if (typeof atMs === 'number') newest = Math.max(newest, atMs);
    }
  } catch {
    // Malformed: the oldest of all.
  }
  return newest;
}

function rowKey(main: string, key: string): string {
  if (main.includes('\u0000')) throw new KvError('KV_BAD_REQUEST', 'keys of documents cannot contain NUL');
  return `${main}\u0000${key}`;
}

function rowsRange(main: string): { gte: string; lt: string } {
  return { gte: `${main}\u0000`, lt: `${main}\u0001` };
}
