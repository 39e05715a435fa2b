import { closeSync, fdatasyncSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { makeDir } from './make-dir.ts';

/**
 * The write-ahead log of the LMDB engine: what makes a write durable, cheaply.
 *
 * Why: a durable LMDB commit writes every page its puts touched (a 4 KiB page per random put)
 * and syncs twice, ~2 ms on this disk, and a replicated write waits for one on the coordinator
 * and then one on a replica. Appending the same ops to a log is one sequential `write` and one
 * `fdatasync` (0.3–0.5 ms) per group of writes; LMDB is then updated in large, infrequent
 * transactions ("checkpoints", lmdb-storage.ts) where many puts share each page and each sync.
 * Measured (docs/BENCHMARKS.md): 60,000 durable writes/s from 64 writers in one process against
 * 19,000, and in the 3-node benchmark 15% less CPU per write, p50 and p99 halved at 1,200/s.
 *
 * Layout: numbered segment files `<16 digits>.wal` in one directory. A segment is a sequence of
 * records `[u32 payload length][u32 crc32(segment number, payload)][payload]`, little-endian.
 * Mixing the segment number into the checksum means bytes left over from another segment never
 * read as a valid record. Reading a segment stops at its first record that is short or fails its
 * checksum: that is where the last write before a crash tore, or where a failed append left
 * garbage. After a failed append the log moves on to a new segment, so nothing acknowledged ever
 * lies behind such garbage.
 *
 * A position `(segment, offset)` names the end of a record; positions are totally ordered and
 * records become durable in position order (one group in flight at a time). The engine stores
 * the position it has applied to LMDB inside the same LMDB transaction, so replaying a segment
 * twice (a crash between a checkpoint and a segment's deletion) skips what LMDB already has.
 */

/** The end of a record in the log; compares as (segment, offset). */
export interface WalPosition {
  readonly segment: number;
  readonly offset: number;
}

/** A record read back from the log at open. */
export interface WalRecord {
  readonly end: WalPosition;
  readonly payload: Buffer;
}

/** Bytes in front of each record's payload: its length and checksum. */
export const walHeaderBytes = 8;
const headerBytes = walHeaderBytes;
const spareName = 'spare.wal-segment';
const segmentNamePattern = /^(\d{16})\.wal$/;
/**
 * A segment takes appends until it holds this much; then the log moves to the next. Small, so a
 * node soon appends only to reused segments, whose syncs need not write the inode (docs/LIMITS.md).
 */
const segmentBytesMax = 1024 * 1024;

export function comparePositions(a: WalPosition, b: WalPosition): number {
  return a.segment !== b.segment ? a.segment - b.segment : a.offset - b.offset;
}

const segmentName = (segment: number): string => `${String(segment).padStart(16, '0')}.wal`;

/** The CRC-32 of a segment's number: where the checksums of its records start. */
function segmentSeed(segment: number): number {
  const bytes = Buffer.allocUnsafe(4);
  bytes.writeUInt32LE(segment >>> 0);
  return crc32(bytes);
}

/** The segments in `dir`, oldest first. */
function listSegments(dir: string): number[] {
  return readdirSync(dir)
    .map((name) => segmentNamePattern.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** Every intact record of one segment, in order, up to the first torn or foreign one. */
function readSegment(dir: string, segment: number): WalRecord[] {
  const bytes = readFileSync(join(dir, segmentName(segment)));
  const seed = segmentSeed(segment);
  const records: WalRecord[] = [];
  let offset = 0;
  while (offset + headerBytes <= bytes.length) {
    const length = bytes.readUInt32LE(offset);
    const end = offset + headerBytes + length;
    if (length === 0 || end > bytes.length) break;
    const payload = bytes.subarray(offset + headerBytes, end);
    if (crc32(payload, seed) !== bytes.readUInt32LE(offset + 4)) break;
    records.push({ end: { segment, offset: end }, payload });
    offset = end;
  }
  return records;
}

/**
 * One record waiting to be made durable, told how it went: `logged` with its end position once
 * the group's `fdatasync` covers it, or `failed`. The storage engine's own per-write object is
 * the entry (no promise and closures per write here; every write on every replica appends one).
 */
export interface WalEntry {
  readonly record: Buffer;
  logged(end: WalPosition): void;
  failed(error: unknown): void;
}

/**
 * Appends records with group commit, synchronously at the end of each event-loop turn: every
 * record appended during the turn goes into one `write` and one `fdatasync` (Redis's
 * `appendfsync always` works the same way), then each `append` resolves, in order.
 *
 * Why block the event loop for the sync (~0.3–0.5 ms here) rather than sync on libuv's thread
 * pool: handing the sync to a thread and back wakes two sleeping threads per group, and on this
 * VM a wake-up costs 70–140 µs of CPU (scripts/probes/loopback-wakeup.js). Measured with
 * `nosqldb bench --start --workload write --prefill --rate 1200`, alternated with the thread-pool
 * version: p50 10 ms against 12–18 ms, p99 40–54 ms against 55–90 ms, 10% less CPU per write
 * (docs/BENCHMARKS.md). Requests that arrive meanwhile wait in the kernel for the next turn.
 */
export class WriteAheadLog {
  #queue: WalEntry[] = [];
  #fd: number;
  #segment: number;
  #offset = 0;
  /** Set after a failed append: the next group starts a new segment. */
  #rollPending = false;
  /** Segments that are no longer appended to, oldest first. */
  readonly #closedSegments: number[];
  /** A released segment kept for reuse: its blocks are allocated, so syncs need no metadata. */
  #spare: string | null = null;
  #closed = false;

  private constructor(
    private readonly dir: string,
    segment: number,
    fd: number,
    closedSegments: number[],
  ) {
    this.#segment = segment;
    this.#fd = fd;
    this.#closedSegments = closedSegments;
  }

  /**
   * Opens the log in `dir` (creating it): returns the records of every segment found, in order,
   * and a log that appends to a new segment numbered above all of them and above `segmentFloor`
   * (the segment of the position the caller has applied, whose file may already be gone).
   */
  static open(dir: string, segmentFloor: number): { log: WriteAheadLog; records: WalRecord[] } {
    makeDir(dir);
    const segments = listSegments(dir);
    const records = segments.flatMap((s) => readSegment(dir, s));
    const segment = Math.max(segmentFloor, segments.at(-1) ?? 0) + 1;
    const fd = openSegment(dir, segment, null);
    return { log: new WriteAheadLog(dir, segment, fd, segments), records };
  }

  /**
   * Queues one record: `record` is its payload after `walHeaderBytes` bytes left free for the
   * header (so the payload is not copied again). Resolves with its end position once durable.
   */
  append(record: Buffer): Promise<WalPosition> {
    return new Promise((resolve, reject) => this.appendEntry({ record, logged: resolve, failed: reject }));
  }

  /** `append`, telling `entry` instead of settling a promise (the engine's hot path). */
  appendEntry(entry: WalEntry): void {
    const record = entry.record;
    if (this.#closed) return entry.failed(new Error('write-ahead log: closed'));
    if (record.length <= headerBytes) return entry.failed(new RangeError('write-ahead log: empty record'));
    record.writeUInt32LE(record.length - headerBytes, 0);
    // (The checksum needs the segment, known only when the group is written: filled in then.)
    this.#queue.push(entry);
    if (this.#queue.length === 1) setImmediate(() => this.#flush());
  }

  /**
   * Deletes (or keeps as the spare) every closed segment before `applied.segment`: all of their
   * records are at or before `applied`, which the caller has made durable elsewhere.
   */
  release(applied: WalPosition): void {
    while (this.#closedSegments.length > 0 && this.#closedSegments[0]! < applied.segment) {
      const path = join(this.dir, segmentName(this.#closedSegments.shift()!));
      try {
        if (this.#spare === null) {
          renameSync(path, join(this.dir, spareName));
          this.#spare = join(this.dir, spareName);
        } else unlinkSync(path);
      } catch {
        // Already gone, or the disk refuses: replay skips applied records either way.
      }
    }
  }

  /** Writes what is queued, then closes the file. Later appends reject. */
  close(): void {
    if (this.#closed) return;
    this.#flush();
    this.#closed = true;
    closeSync(this.#fd);
  }

  /** Deletes every segment and the spare (after close, once the caller applied all of them). */
  removeAll(): void {
    for (const segment of listSegments(this.dir)) unlinkSync(join(this.dir, segmentName(segment)));
    rmSync(join(this.dir, spareName), { force: true });
  }

  #flush(): void {
    const group = this.#queue;
    this.#queue = [];
    if (group.length === 0) return;
    const ends: number[] = [];
    let segment = this.#segment;
    try {
      if (this.#rollPending || this.#offset >= segmentBytesMax) this.#roll();
      segment = this.#segment;
      const seed = segmentSeed(segment);
      let end = this.#offset;
      for (const q of group) {
        q.record.writeUInt32LE(crc32(q.record.subarray(headerBytes), seed), 4);
        end += q.record.length;
        ends.push(end);
      }
      const bytes = group.length === 1 ? group[0]!.record : Buffer.concat(group.map((q) => q.record), end - this.#offset);
      for (let written = 0; written < bytes.length; ) {
        written += writeSync(this.#fd, bytes, written, bytes.length - written, this.#offset + written);
      }
      fdatasyncSync(this.#fd);
      this.#offset = end;
    } catch (e) {
      // Whatever part of the group reached the file is garbage now: never append behind it.
      this.#rollPending = true;
      for (const q of group) q.failed(e);
      return;
    }
    for (let i = 0; i < group.length; i++) group[i]!.logged({ segment, offset: ends[i]! });
  }

  /** Closes the current segment and opens the next (the spare, if there is one). */
  #roll(): void {
    const next = this.#segment + 1;
    const spare = this.#spare;
    this.#spare = null;
    const fd = openSegment(this.dir, next, spare);
    closeSync(this.#fd);
    this.#closedSegments.push(this.#segment);
    this.#segment = next;
    this.#fd = fd;
    this.#offset = 0;
    this.#rollPending = false;
  }
}

/**
 * Opens segment `segment` for writing: the spare file renamed (its old records fail the new
 * segment's checksums) or a new one. The directory is synced, because the name must be durable
 * before anything written to the file is acknowledged.
 */
function openSegment(dir: string, segment: number, spare: string | null): number {
  const path = join(dir, segmentName(segment));
  if (spare !== null) renameSync(spare, path);
  const fd = openSync(path, spare !== null ? 'r+' : 'w');
  try {
    const dirFd = openSync(dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return fd;
}
