import type { WriteOp } from './storage.ts';

/**
 * One `write` call's ops as one write-ahead-log record (write-ahead-log.ts): a record is
 * checksummed as a whole, so a write is replayed all or not at all (ST1).
 *
 * `[u32 op count]` then per op `[u8 1 put | 2 del][u16 table bytes][table][u16 key bytes][key]`,
 * and for a put `[u32 value bytes][value]`; little-endian, strings UTF-8. Keys are at most
 * `keyBytesMax` bytes and table names are the engine's own, so u16 lengths suffice (checked).
 */

const opPut = 1;
const opDel = 2;

/**
 * Encodes `ops` after `reserve` unused bytes (room for the log's record header, so the record
 * needs no second copy). Also returns the ops with their values as views into the encoding: the
 * engine keeps those until the ops are in LMDB, and the encoding is its only copy of them.
 */
export function encodeWriteOps(ops: readonly WriteOp[], reserve = 0): { bytes: Buffer; ops: WriteOp[] } {
  let size = reserve + 4;
  const tableBytes: number[] = [];
  const keyBytes: number[] = [];
  for (const op of ops) {
    const t = Buffer.byteLength(op.table, 'utf8');
    const k = Buffer.byteLength(op.key, 'utf8');
    if (t > 0xffff || k > 0xffff) throw new RangeError('storage: table name or key too long for the log');
    tableBytes.push(t);
    keyBytes.push(k);
    size += 1 + 2 + t + 2 + k + (op.type === 'put' ? 4 + op.value.length : 0);
  }
  const out = Buffer.allocUnsafe(size);
  const views: WriteOp[] = [];
  let at = out.writeUInt32LE(ops.length, reserve);
  ops.forEach((op, i) => {
    at = out.writeUInt8(op.type === 'put' ? opPut : opDel, at);
    at = out.writeUInt16LE(tableBytes[i]!, at);
    at += out.write(op.table, at, 'utf8');
    at = out.writeUInt16LE(keyBytes[i]!, at);
    at += out.write(op.key, at, 'utf8');
    if (op.type === 'put') {
      at = out.writeUInt32LE(op.value.length, at);
      out.set(op.value, at);
      views.push({ type: 'put', table: op.table, key: op.key, value: out.subarray(at, at + op.value.length) });
      at += op.value.length;
    } else views.push(op);
  });
  return { bytes: out, ops: views };
}

/** The ops of one record; values are views into `bytes`. Throws on anything malformed. */
export function decodeWriteOps(bytes: Buffer): WriteOp[] {
  const need = (at: number, n: number): void => {
    if (at + n > bytes.length) throw new RangeError('write-ahead log: truncated record');
  };
  need(0, 4);
  const count = bytes.readUInt32LE(0);
  let at = 4;
  const ops: WriteOp[] = [];
  for (let i = 0; i < count; i++) {
    need(at, 3);
    const type = bytes.readUInt8(at);
    const t = bytes.readUInt16LE(at + 1);
    at += 3;
    need(at, t + 2);
    const table = bytes.toString('utf8', at, at + t);
    const k = bytes.readUInt16LE(at + t);
    at += t + 2;
    need(at, k);
    const key = bytes.toString('utf8', at, at + k);
    at += k;
    if (type === opPut) {
      need(at, 4);
      const n = bytes.readUInt32LE(at);
      at += 4;
      need(at, n);
      ops.push({ type: 'put', table, key, value: bytes.subarray(at, at + n) });
      at += n;
    } else if (type === opDel) {
      ops.push({ type: 'del', table, key });
    } else {
      throw new RangeError(`write-ahead log: unknown op type ${type}`);
    }
  }
  if (at !== bytes.length) throw new RangeError('write-ahead log: trailing bytes in record');
  return ops;
}
