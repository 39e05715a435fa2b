/**
 * After an exchange found the differing keys: ship this replica's records to the peer (`batch`,
 * merged there with the version-vector rules) and fetch the peer's (`fetch`, merged here with
 * `mergeLocal`), a page at a time with one page in flight, so repair traffic stays bounded and
 * interleaves with client requests instead of flooding the link (Riak AAE's lesson).
 */
import { Packr } from 'msgpackr';
import { KvError } from '../core/errors.ts';
import type { Key, NodeId } from '../core/types.ts';
import type { VersionedRecord } from '../core/siblings.ts';
import type { KvNode, NodeServices } from './kv-node.ts';
import { BATCH_ENTRIES_MAX, errorFromWire, type PeerMessage } from './peer-messages.ts';
import { recordFromWire, recordToWire, type WireRecord } from './record-codec.ts';

/** Records per push or fetch page: a few hundred small records, one round trip. */
export const REPAIR_KEYS_PER_PAGE = 200;
/**
 * Value bytes per page (estimated): 4 MiB stays well under the 16 MiB frame bound even with
 * siblings, and short enough that a page does not hold the link for long.
 */
export const REPAIR_PAGE_BYTES_MAX = 4 * 1024 * 1024;

// The transport's encoding options (frame-codec.ts), used only to count bytes.
const meterPackr = new Packr({ useRecords: false, copyBuffers: true });
/** Bytes one peer message costs on the wire: its MessagePack payload plus the 4-byte frame header. */
export function frameBytes(m: unknown): number {
  try {
    return meterPackr.pack(m).length + 4;
  } catch {
    return 0;
  }
}

/** A cheap upper-ish estimate of a record's size on the wire, to cut pages before packing. */
export function recordBytesEstimate(r: VersionedRecord): number {
  let n = 64 + Object.keys(r.context).length * 16;
  for (const s of r.siblings) n += 96 + s.value.byteLength + s.contentType.length;
  // Documents are small CRDT states plus their idempotency table (~64 bytes a key); count
  // them generously rather than encode them twice.
  if (r.doc !== undefined) n += 4096 + 64 * r.doc.idempotency.applied.size;
  return n;
}

export interface RepairMeter {
  bytesSent: number;
  bytesReceived: number;
}

async function ask(
  services: NodeServices,
  peer: NodeId,
  m: PeerMessage,
  timeoutMs: number,
  meter: RepairMeter,
): Promise<PeerMessage> {
  meter.bytesSent += frameBytes(m);
  const res = await services.request(peer, (id) => ({ ...m, id }), timeoutMs);
  meter.bytesReceived += frameBytes(res);
  return res;
}

/** Sends this node's current records of `keys` to `peer`; returns how many records were sent. */
export async function pushRecords(
  node: KvNode,
  peer: NodeId,
  keys: readonly Key[],
  timeoutMs: number,
  meter: RepairMeter,
): Promise<number> {
  let sent = 0;
  let at = 0;
  while (at < keys.length) {
    const entries: [string, WireRecord][] = [];
    let bytes = 0;
    while (at < keys.length && entries.length < Math.min(REPAIR_KEYS_PER_PAGE, BATCH_ENTRIES_MAX)) {
      const key = keys[at]!;
      const record = node.readLocal(key);
      if (record !== undefined) {
        const size = recordBytesEstimate(record);
        if (entries.length > 0 && bytes + size > REPAIR_PAGE_BYTES_MAX) break;
        bytes += size;
        entries.push([key, recordToWire(record)]);
      }
      at++;
    }
    if (entries.length === 0) continue;
    const res = await ask(node.services, peer, { t: 'batch', id: 0, entries }, timeoutMs, meter);
    if (res.t !== 'batch-r')
      throw new KvError('KV_INTERNAL', `expected batch-r from ${peer}, got ${res.t}`);
    if (res.err) throw errorFromWire(res.err);
    sent += entries.length;
  }
  return sent;
}

/** Fetches `peer`'s records of `keys` and merges them here; returns how many were merged. */
export async function fetchRecords(
  node: KvNode,
  peer: NodeId,
  keys: readonly Key[],
  timeoutMs: number,
  meter: RepairMeter,
): Promise<number> {
  let fetched = 0;
  let at = 0;
  while (at < keys.length) {
    const page = keys.slice(at, at + Math.min(REPAIR_KEYS_PER_PAGE, BATCH_ENTRIES_MAX));
    const res = await ask(node.services, peer, { t: 'fetch', id: 0, keys: page }, timeoutMs, meter);
    if (res.t !== 'fetch-r')
      throw new KvError('KV_INTERNAL', `expected fetch-r from ${peer}, got ${res.t}`);
    if (res.err) throw errorFromWire(res.err);
    if (!Array.isArray(res.entries)) throw new KvError('KV_BAD_REQUEST', 'malformed fetch-r');
    // The responder answers in request order and may stop early at its byte bound: keys before
    // the last one returned that are missing are absent there; the rest are asked for again.
    const position = new Map(page.map((k, i) => [k, i]));
    let last = -1;
    const merges: Promise<void>[] = [];
    try {
      for (const entry of res.entries) {
        const [key, wire] = Array.isArray(entry) ? (entry as unknown[]) : [];
        const i = typeof key === 'string' ? position.get(key) : undefined;
        if (i === undefined || i <= last)
          throw new KvError('KV_BAD_REQUEST', 'fetch-r names a key out of order or not asked for');
        last = i;
        merges.push(node.services.mergeLocal(key as string, recordFromWire(wire)));
      }
    } catch (e) {
      // The merges already started still settle; a failure among them must not go unhandled.
      void Promise.allSettled(merges);
      throw e;
    }
    await Promise.all(merges);
    fetched += merges.length;
    at += res.entries.length === 0 ? page.length : last + 1;
  }
  return fetched;
}

/** The responder side of `fetch`: this node's records of the asked keys, in order, bounded. */
export function answerFetch(node: KvNode, keys: readonly unknown[]): [string, WireRecord][] {
  const entries: [string, WireRecord][] = [];
  let bytes = 0;
  for (const key of keys) {
    if (typeof key !== 'string') throw new KvError('KV_BAD_REQUEST', 'fetch key is not a string');
    const record = node.readLocal(key);
    if (record === undefined) continue;
    const size = recordBytesEstimate(record);
    if (entries.length > 0 && bytes + size > REPAIR_PAGE_BYTES_MAX) break;
    bytes += size;
    entries.push([key, recordToWire(record)]);
  }
  return entries;
}
