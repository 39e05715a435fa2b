import type { PartitionIndex } from '../core/types.ts';
import type { RangeOptions } from '../storage/storage.ts';

/**
 * How the node lays its state out in the storage port's tables.
 * Data keys are `<partition as 4 hex digits>/<user key>`, so one partition is one contiguous
 * range: handoff, Merkle rebuilds and listings scan a partition without touching others.
 */
export const DATA_TABLE = 'data';
export const META_TABLE = 'meta';
export const HINTS_TABLE = 'hints';
/** CRDT documents' idempotency tables, one row per (data key, Idempotency-Key): document-tables.ts. */
export const DOC_TABLES_TABLE = 'doc-tables';
/** The same for documents held in hints, per (hint key, Idempotency-Key). */
export const HINT_TABLES_TABLE = 'hint-tables';
export const VIEW_META_KEY = 'cluster-view';

export function dataKey(partition: PartitionIndex, key: string): string {
  return `${partitionPrefix(partition)}/${key}`;
}

export function keyOfDataKey(k: string): string {
  return k.slice(5);
}

export function partitionPrefix(partition: PartitionIndex): string {
  return partition.toString(16).padStart(4, '0');
}

/** The range of one partition's keys that start with `prefix`. */
export function dataRange(partition: PartitionIndex, prefix = ''): RangeOptions {
  const p = partitionPrefix(partition);
  // '0' is the character after '/', so `p/`..`p0` is the whole partition.
  return { gte: `${p}/${prefix}`, lt: `${p}0` };
}
