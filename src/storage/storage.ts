/**
 * The storage port: a small ordered byte store with named tables. Two engines implement it
 * (LMDB on disk, memory for tests and the simulator) and both pass test/storage/contract.ts.
 *
 * Rules every engine keeps (docs/SPEC.md, ST-*):
 * - ST1 `write` applies its ops atomically; its promise resolves only once they are durable
 *   (for LMDB: in its write-ahead log, synced). Callers acknowledge nothing before that.
 * - ST2 `get` sees every op of every `write` already called, even before it is durable
 *   (read-your-writes inside the process), so coordinators never act on stale local state.
 * - ST3 `range` yields keys in ascending UTF-8 byte order within [gte, lt), at most `limit`.
 *   Like `get` it sees every write already called, durable or not, so a scan (a Merkle tree
 *   build, a handoff) never misses a change that is still being committed.
 * - ST4 values are returned as they were written, byte for byte.
 */

export type WriteOp =
  | { readonly type: 'put'; readonly table: string; readonly key: string; readonly value: Uint8Array }
  | { readonly type: 'del'; readonly table: string; readonly key: string };

export interface RangeOptions {
  /** Inclusive lower bound. */
  readonly gte?: string;
  /** Exclusive upper bound. */
  readonly lt?: string;
  readonly limit?: number;
}

export interface Storage {
  get(table: string, key: string): Uint8Array | undefined;
  write(ops: readonly WriteOp[]): Promise<void>;
  range(table: string, options?: RangeOptions): Iterable<[string, Uint8Array]>;
  /** Number of entries in a table, counting every write already called (like `get`). */
  count(table: string): number;
  close(): Promise<void>;
}

/**
 * The longest key an engine accepts, in UTF-8 bytes. LMDB's limit with its default 4 KiB pages;
 * the memory engine enforces the same bound so the simulator rejects exactly what disk would.
 * Client keys are at most 512 bytes (CONTRACT §3), which leaves room for internal prefixes.
 */
export const keyBytesMax = 1978;

/**
 * A write that the engine could not make durable (disk full, I/O error, map full). Its ops were
 * not applied and are no longer visible to `get`. Maps to `KV_STORAGE_IO` (HTTP 507).
 */
export class StorageIoError extends Error {
  readonly code = 'KV_STORAGE_IO';

  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'StorageIoError';
  }
}
