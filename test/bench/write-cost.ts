/**
 * Micro-benchmark (issue #12): the CPU one plain write costs the cluster, without HTTP. Three real
 * nodes in this process (LMDB in a temp dir, TCP between them, anti-entropy on its default
 * schedule), PUTs of 100-byte values over 10,000 keys coordinated through `node.write` by each
 * node in turn, 64 in flight, W=2, each with the context of the key's last write (as the load
 * generator sends X-Context, so records keep one version). The CPU of this process is the cost of
 * the coordinator and both replicas together.
 *
 *   npx tsx test/bench/write-cost.ts                  # 5 rounds of 20,000 writes
 *   WRITE_BENCH_ROUNDS=3 WRITE_BENCH_PORT=30400 npx tsx test/bench/write-cost.ts
 *
 * Ports 30320-30322 / 30330-30332 by default (WRITE_BENCH_PORT: HTTP base; peers at base + 10).
 */
import { encodeContext } from '../../src/core/context.ts';
import { timed, withThreeNodes } from './three-nodes.ts';

const ROUNDS = Number(process.env.WRITE_BENCH_ROUNDS ?? 5);
const PER_ROUND = 20_000;
const IN_FLIGHT = 64;
const KEYS = 10_000;
const PORT = Number(process.env.WRITE_BENCH_PORT ?? 30320);

const value = new Uint8Array(100).fill(120);
/** Each key's context from its last write, sent with the next as `nosqldb bench` does. */
const contexts = new Map<string, string>();

withThreeNodes('writebench', PORT, async (nodes) => {
  const write = async (i: number): Promise<void> => {
    const key = `bench/${(i * 7919) % KEYS}`;
    const { record } = await nodes[i % 3]!.node.write({
      kind: 'put',
      key,
      value,
      contentType: 'application/octet-stream',
      idempotencyKey: null,
      context: contexts.get(key) ?? null,
      w: 2,
      timeoutMs: 30_000,
      hops: 0,
    });
    contexts.set(key, encodeContext(record.context));
  };
  await timed(PER_ROUND, IN_FLIGHT, write); // fills every key once, unmeasured
  for (let r = 0; r < ROUNDS; r++) {
    const { perS, cpuUs } = await timed(PER_ROUND, IN_FLIGHT, write);
    console.log(
      `round ${r + 1}: ${Math.round(perS)} writes/s, ${cpuUs.toFixed(1)} µs CPU per write (three nodes)`,
    );
  }
});
