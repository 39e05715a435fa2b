import { keyBytesMax, type WriteOp } from './storage.ts';

/**
 * Rejects ops no engine can store faithfully, before any of them is applied: a batch is all or
 * nothing (ST1), and LMDB would otherwise fail one op mid-batch. These are caller bugs, not I/O
 * failures, so they throw plain `RangeError`s.
 */
export function validateOps(ops: readonly WriteOp[]): void {
  for (const op of ops) {
    if (op.table.length === 0) throw new RangeError('storage: empty table name');
    validateKey(op.key);
    if (op.type === 'put' && !(op.value instanceof Uint8Array)) {
      throw new RangeError(`storage: value for key ${JSON.stringify(op.key)} is not a Uint8Array`);
    }
  }
}

/** Keys are well-formed, non-empty UTF-8 of at most `keyBytesMax` bytes. */
export function validateKey(key: string): void {
  if (key.length === 0) throw new RangeError('storage: empty key');
  if (!isWellFormed(key)) throw new RangeError('storage: key is not well-formed Unicode');
  // UTF-16 length bounds the UTF-8 length from below and 3x from above; measure only when needed.
  if (key.length * 3 > keyBytesMax && Buffer.byteLength(key, 'utf8') > keyBytesMax) {
    throw new RangeError(`storage: key longer than ${keyBytesMax} bytes`);
  }
}

/**
 * No lone surrogate: `String.prototype.isWellFormed` (Node 20), which TypeScript's lib here does
 * not declare. Shared with the peer wire (peer-wire.ts), which refuses the same texts.
 */
export function isWellFormed(text: string): boolean {
  return (text as string & { isWellFormed(): boolean }).isWellFormed();
}
