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
 * (Plain loops and byte stores: every write on every replica encodes one record.)
 */
export function encodeWriteOps(
  ops: readonly WriteOp[],
  reserve = 0,
): { bytes: Buffer; ops: WriteOp[] } {
  let size = reserve + 4;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    const t = utf8Length(op.table);
    const k = utf8Length(op.key);
    if (t > 0xffff || k > 0xffff)
      throw new RangeError('storage: table name or key too long for the log');
    size += 1 + 2 + t + 2 + k + (op.type === 'put' ? 4 + op.value.length : 0);
  }
  const out = Buffer.allocUnsafe(size);
  const views: WriteOp[] = [];
  let at = out.writeUInt32LE(ops.length, reserve);
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    out[at++] = op.type === 'put' ? opPut : opDel;
    at = writeText(out, at, op.table);
    at = writeText(out, at, op.key);
    if (op.type === 'put') {
      const n = op.value.length;
      at = out.writeUInt32LE(n, at);
      out.set(op.value, at);
      views.push({ type: 'put', table: op.table, key: op.key, value: out.subarray(at, at + n) });
      at += n;
    } else views.push(op);
  }
  return { bytes: out, ops: views };
}

/** UTF-8 length: the string's own length when it is ASCII (keys nearly always are). */
function utf8Length(text: string): number {
  for (let i = 0; i < text.length; i++)
    if (text.charCodeAt(i) >= 0x80) return Buffer.byteLength(text, 'utf8');
  return text.length;
}

/** `[u16 length][UTF-8 bytes]` at `at`; returns the end. */
function writeText(out: Buffer, at: number, text: string): number {
  const start = at + 2;
  let end = start;
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) {
      ascii = false;
      break;
    }
    out[end++] = c;
  }
  if (!ascii) end = start + out.write(text, start, 'utf8');
  out.writeUInt16LE(end - start, at);
  return end;
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
