/**
 * Micro-benchmark (issue #12): the CPU one quorum read costs the cluster, without HTTP. Three
 * real nodes in this process (as write-cost.ts), 10,000 keys of 100 bytes written first, then
 * `node.get` with R=2 coordinated by each node in turn, 64 in flight. Also times `getLocal`
 * (one node's own copy, no quorum) as a floor for the coordinator's part.
 *
 *   npx tsx test/bench/read-cost.ts                   # 5 rounds of 50,000 reads
 *   READ_BENCH_ROUNDS=3 READ_BENCH_PORT=30440 npx tsx test/bench/read-cost.ts
 *
 * Ports 30420-30422 / 30430-30432 by default (READ_BENCH_PORT: HTTP base; peers at base + 10).
 */
import { timed, withThreeNodes } from './three-nodes.ts';

const ROUNDS = Number(process.env.READ_BENCH_ROUNDS ?? 5);
const PER_ROUND = 50_000;
const IN_FLIGHT = 64;
const KEYS = 10_000;
const PORT = Number(process.env.READ_BENCH_PORT ?? 30420);

const value = new Uint8Array(100).fill(120);
const key = (i: number): string => `bench/${(i * 7919) % KEYS}`;

withThreeNodes('readbench', PORT, async (nodes) => {
  const fill = (i: number): Promise<unknown> =>
    nodes[i % 3]!.node.write({
      kind: 'put',
      key: key(i),
      value,
      contentType: 'application/octet-stream',
      idempotencyKey: null,
      context: null,
      w: 3,
      timeoutMs: 30_000,
      hops: 0,
    });
  const quorumRead = (i: number): Promise<unknown> =>
    nodes[i % 3]!.node.get(key(i), { r: 2, timeoutMs: 30_000 });
  const localRead = (i: number): Promise<unknown> =>
    Promise.resolve(nodes[i % 3]!.node.getLocal(key(i)));
  await timed(KEYS, IN_FLIGHT, fill);
  await timed(PER_ROUND, IN_FLIGHT, quorumRead); // warm-up, unmeasured
  for (let r = 0; r < ROUNDS; r++) {
    const q = await timed(PER_ROUND, IN_FLIGHT, quorumRead);
    const l = await timed(PER_ROUND, IN_FLIGHT, localRead);
    console.log(
      `round ${r + 1}: quorum ${Math.round(q.perS)} reads/s, ${q.cpuUs.toFixed(1)} µs CPU per read (three nodes); ` +
        `local ${l.cpuUs.toFixed(2)} µs`,
    );
  }
});
