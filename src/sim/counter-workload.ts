import type { KvNode } from '../node/kv-node.ts';

/**
 * The port through which the simulator drives `$inc` counters, so that the counter workload
 * and checker (checkers/counters.ts) plug into the node's patch API without the simulator
 * depending on its shape. The lead wires it once `KvNode.patch` exists, e.g.:
 *
 *   inc: (node, key, field, by, idempotencyKey, w, timeoutMs) =>
 *     node.patch({ key, ops: [{ op: '$inc', path: [field], by }], idempotencyKey, w, timeoutMs, ... })
 *
 * Both functions get the node the simulated client talks to and reject with a KvError on
 * failure. `inc` errors are recorded as `info` (may have applied; the client retries with the
 * same idempotency key, on another node, with probability `retryP`) unless the code is one of
 * `definiteErrors`. After the final heal every incremented field is read once with R=N
 * (process `final`), and checkers/counters.ts checks the totals.
 */
export interface CounterAdapter {
  inc(node: KvNode, key: string, field: string, by: number, idempotencyKey: string, w: number, timeoutMs: number): Promise<void>;
  /** The field's value as a quorum read sees it; undefined when the key or field is absent (0). */
  read(node: KvNode, key: string, field: string, r: number, timeoutMs: number): Promise<number | undefined>;
  /** Error codes that guarantee the increment was not applied (e.g. KV_BAD_REQUEST). */
  readonly definiteErrors?: readonly string[];
}

/** How the counter workload behaves inside a run. */
export interface CounterWorkloadOptions {
  readonly adapter: CounterAdapter;
  /** Share of client ops that are counter ops (0..1). */
  readonly share: number;
  /** Counter keys, `ctr0`..; fields `a` and `b`. */
  readonly keys: number;
  /** Probability that a client retries an increment that ended in doubt, with the same key. */
  readonly retryP: number;
}
