import type { KvNode } from '../node/kv-node.ts';
import { documentView } from '../core/crdt/index.ts';
import type { CounterAdapter, CounterWorkloadOptions } from './counter-workload.ts';

const encoder = new TextEncoder();

/**
 * The counter workload against the real node: `$inc` through `node.write({kind: 'patch'})`
 * with an Idempotency-Key (what `PATCH /kv/:key` does), reads through a quorum `get`.
 */
export const nodeCounterAdapter: CounterAdapter = {
  async inc(node: KvNode, key, field, by, idempotencyKey, w, timeoutMs) {
    await node.write({
      kind: 'patch',
      key,
      value: encoder.encode(JSON.stringify({ [field]: { $inc: by } })),
      contentType: 'application/json',
      idempotencyKey,
      context: null,
      w,
      timeoutMs,
      hops: 0,
    });
  },
  async read(node: KvNode, key, field, r, timeoutMs) {
    const { record } = await node.get(key, { r, timeoutMs });
    if (!record?.doc) return undefined;
    const v = (documentView(record.doc) as Record<string, unknown>)[field];
    return typeof v === 'number' ? v : undefined;
  },
  // Refused before anything was applied: the request itself was wrong.
  definiteErrors: ['KV_BAD_REQUEST', 'KV_TYPE_MISMATCH', 'KV_PAYLOAD_TOO_LARGE'],
};

/** The counter share used by `nosqldb sim` and the CI seed batches. */
export function nodeCounters(share = 0.2): CounterWorkloadOptions {
  return { adapter: nodeCounterAdapter, share, keys: 2, retryP: 0.7 };
}
