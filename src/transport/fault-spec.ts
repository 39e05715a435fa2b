import { KvError } from '../core/errors.ts';
import { isNodeId, type NodeId } from '../core/types.ts';

/**
 * Network faults injected on one node's peer traffic, both directions (`POST /admin/faults`).
 * `isolate`: peers whose messages vanish; `delayMs`: per-peer added latency; `dropRate`: the
 * chance, 0..1, that any one message is lost; `dropRateByPeer`: the same for one link only
 * (overrides `dropRate` for that peer).
 */
export interface FaultSpec {
  isolate?: NodeId[];
  delayMs?: Record<NodeId, number>;
  dropRate?: number;
  dropRateByPeer?: Record<NodeId, number>;
}

/** A minute is far longer than any request time-out; a longer delay is a typo, not a test. */
export const FAULT_DELAY_MS_MAX = 60_000;

/** More peers than any cluster this project runs; bounds the work a request can cause. */
export const FAULT_PEERS_MAX = 1024;

const FIELDS: ReadonlySet<string> = new Set(['isolate', 'delayMs', 'dropRate', 'dropRateByPeer']);

function bad(message: string, details: Record<string, unknown> = {}): KvError {
  return new KvError('KV_BAD_REQUEST', `invalid fault spec: ${message}`, details);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Validate a FaultSpec from untrusted JSON; throws KvError('KV_BAD_REQUEST') if malformed. */
export function parseFaultSpec(value: unknown): FaultSpec {
  if (!isPlainObject(value)) throw bad('expected an object');
  for (const key of Object.keys(value)) {
    if (!FIELDS.has(key)) throw bad(`unknown field ${JSON.stringify(key)}`, { field: key });
  }
  const spec: FaultSpec = {};
  const { isolate, delayMs, dropRate, dropRateByPeer } = value;
  if (isolate !== undefined) {
    if (!Array.isArray(isolate)) throw bad('isolate must be an array of node ids');
    if (isolate.length > FAULT_PEERS_MAX) throw bad(`isolate lists more than ${FAULT_PEERS_MAX} nodes`);
    for (const id of isolate) {
      if (!isNodeId(id)) throw bad('isolate holds an invalid node id', { value: id });
    }
    spec.isolate = [...new Set(isolate as NodeId[])];
  }
  if (delayMs !== undefined) {
    if (!isPlainObject(delayMs)) throw bad('delayMs must be an object of node id to milliseconds');
    const entries = Object.entries(delayMs);
    if (entries.length > FAULT_PEERS_MAX) throw bad(`delayMs names more than ${FAULT_PEERS_MAX} nodes`);
    for (const [id, ms] of entries) {
      if (!isNodeId(id)) throw bad('delayMs names an invalid node id', { value: id });
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > FAULT_DELAY_MS_MAX) {
        throw bad(`delayMs of ${id} must be a number of ms in [0, ${FAULT_DELAY_MS_MAX}]`, { node: id });
      }
    }
    spec.delayMs = Object.fromEntries(entries) as Record<NodeId, number>;
  }
  if (dropRate !== undefined) {
    if (typeof dropRate !== 'number' || !(dropRate >= 0 && dropRate <= 1)) {
      throw bad('dropRate must be a number in [0, 1]');
    }
    spec.dropRate = dropRate;
  }
  if (dropRateByPeer !== undefined) {
    if (!isPlainObject(dropRateByPeer)) throw bad('dropRateByPeer must be an object of node id to a rate in [0, 1]');
    const entries = Object.entries(dropRateByPeer);
    if (entries.length > FAULT_PEERS_MAX) throw bad(`dropRateByPeer names more than ${FAULT_PEERS_MAX} nodes`);
    for (const [id, rate] of entries) {
      if (!isNodeId(id)) throw bad('dropRateByPeer names an invalid node id', { value: id });
      if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) throw bad(`dropRateByPeer of ${id} must be in [0, 1]`, { node: id });
    }
    spec.dropRateByPeer = Object.fromEntries(entries) as Record<NodeId, number>;
  }
  return spec;
}
