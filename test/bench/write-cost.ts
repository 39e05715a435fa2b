/**
 * Micro-benchmark (issue #12): the CPU one plain write costs the cluster, without HTTP. Three real
 * nodes in this process (LMDB in a temp dir, TCP between them, anti-entropy on its default
 * schedule), PUTs of 100-byte values over 10,000 keys coordinated through `node.write` by each
 * node in turn, 64 in flight, W=2. The CPU of this process is the cost of the coordinator and
 * both replicas together.
 *
 *   npx tsx test/bench/write-cost.ts                  # 5 rounds of 20,000 writes
 *   WRITE_BENCH_ROUNDS=3 WRITE_BENCH_PORT=30400 npx tsx test/bench/write-cost.ts
 *
 * Ports 30320-30322 / 30330-30332 by default (WRITE_BENCH_PORT: HTTP base; peers at base + 10).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningNode } from '../../src/server/start-node.ts';
import { startThreeNodes } from './three-nodes.ts';

const ROUNDS = Number(process.env.WRITE_BENCH_ROUNDS ?? 5);
const PER_ROUND = 20_000;
const IN_FLIGHT = 64;
const KEYS = 10_000;
const PORT = Number(process.env.WRITE_BENCH_PORT ?? 30320);

const dir = mkdtempSync(join(tmpdir(), 'nosqldb-writebench-'));
const nodes: RunningNode[] = [];
const value = new Uint8Array(100).fill(120);

async function round(): Promise<{ perS: number; cpuUs: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < PER_ROUND) {
        const i = next++;
        await nodes[i % 3]!.node.write({
          kind: 'put',
          key: `bench/${(i * 7919) % KEYS}`,
          value,
          contentType: 'application/octet-stream',
          idempotencyKey: null,
          context: null,
          w: 2,
          timeoutMs: 30_000,
          hops: 0,
        });
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return {
    perS: PER_ROUND / ((performance.now() - t0) / 1000),
    cpuUs: (cpu.user + cpu.system) / PER_ROUND,
  };
}

async function main(): Promise<void> {
  await startThreeNodes(nodes, dir, PORT);
  await round(); // fills every key once, unmeasured
  for (let r = 0; r < ROUNDS; r++) {
    const { perS, cpuUs } = await round();
    console.log(
      `round ${r + 1}: ${Math.round(perS)} writes/s, ${cpuUs.toFixed(1)} µs CPU per write (three nodes)`,
    );
  }
}

main()
  .finally(async () => {
    for (const n of nodes) await n.close();
    rmSync(dir, { recursive: true, force: true });
  })
  .catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
