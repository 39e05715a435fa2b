/**
 * Micro-benchmark (issue #5): what one keyed `$inc` costs as a document's idempotency table
 * grows. Three real nodes in this process (LMDB in a temp dir, TCP between them, anti-entropy
 * off), updates coordinated through `node.write` with 8 in flight; the CPU of this process is
 * the cost of the coordinator and both replicas together.
 *
 *   npx tsx test/bench/doc-update-cost.ts            # table of 10,000 keys (the default bound)
 *   DOC_BENCH_KEYS=2000 DOC_BENCH_AFTER=500 npx tsx test/bench/doc-update-cost.ts
 *
 * Prints, per band of table sizes, wall ms and CPU ms per update; then the cost of a replayed
 * retry (duplicate) and of quorum reads of the full-table document and of a small one. Ports
 * 30300-30302 / 30310-30312, or from DOC_BENCH_PORT (HTTP base; peers at base + 10).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningNode } from '../../src/server/start-node.ts';
import { startThreeNodes } from './three-nodes.ts';

const KEYS = Number(process.env.DOC_BENCH_KEYS ?? 10_000);
/** Updates past the bound: 1,500 include a sweep of the oldest keys (at 11,000). */
const AFTER = Number(process.env.DOC_BENCH_AFTER ?? 1500);
const IN_FLIGHT = 8;
const BAND = 200;
const PORT = Number(process.env.DOC_BENCH_PORT ?? 30300);

const encoder = new TextEncoder();
const dir = mkdtempSync(join(tmpdir(), 'nosqldb-docbench-'));
const nodes: RunningNode[] = [];

function patch(node: RunningNode, key: string, by: number, doc = 'bench/likes'): Promise<unknown> {
  return node.node.write({
    kind: 'patch',
    key: doc,
    value: encoder.encode(JSON.stringify({ likes: { $inc: by } })),
    contentType: 'application/json',
    idempotencyKey: key,
    context: null,
    w: 2,
    timeoutMs: 30_000,
    hops: 0,
  });
}

/** Runs updates [from, to) with IN_FLIGHT in flight; returns wall and CPU ms per update. */
async function band(from: number, to: number): Promise<{ wallMs: number; cpuMs: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let next = from;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < to) await patch(nodes[0]!, `k-${next++}`, 1);
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  const n = to - from;
  return { wallMs: (performance.now() - t0) / n, cpuMs: (cpu.user + cpu.system) / 1000 / n };
}

async function main(): Promise<void> {
  await startThreeNodes(nodes, dir, PORT, { gossipIntervalMs: 200, antiEntropyIntervalMs: 0 });
  const rows: string[] = [];
  const report = (label: string, r: { wallMs: number; cpuMs: number }): void => {
    const line = `${label.padEnd(28)} wall ${r.wallMs.toFixed(2).padStart(7)} ms/update   cpu ${r.cpuMs.toFixed(2).padStart(7)} ms/update`;
    rows.push(line);
    console.log(line);
  };
  const marks = [0, Math.floor(KEYS / 10), Math.floor(KEYS / 2), KEYS - BAND];
  let done = 0;
  for (const mark of marks) {
    if (mark > done) await band(done, mark); // fill, unmeasured
    report(`table ${mark}..${mark + BAND}`, await band(mark, mark + BAND));
    done = mark + BAND;
  }
  report(`table at bound (+${AFTER})`, await band(done, done + AFTER));
  done += AFTER;

  // Replayed retries of recent keys: answered as duplicates.
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const dups = 50;
  for (let i = 0; i < dups; i++) await patch(nodes[i % 3]!, `k-${done - 1 - i}`, 1);
  const cpu = process.cpuUsage(cpu0);
  report('replayed retry (duplicate)', { wallMs: (performance.now() - t0) / dups, cpuMs: (cpu.user + cpu.system) / 1000 / dups });

  /** Quorum reads (`r=2`, through each node in turn) of `doc`; returns the last `likes`. */
  const reads = async (label: string, doc: string): Promise<unknown> => {
    const cpu1 = process.cpuUsage();
    const t1 = performance.now();
    const n = 20;
    let value: unknown;
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${nodes[i % 3]!.url}/kv/${doc}?r=2`);
      value = ((await res.json()) as { likes?: unknown }).likes;
    }
    const cpu2 = process.cpuUsage(cpu1);
    report(label, { wallMs: (performance.now() - t1) / n, cpuMs: (cpu2.user + cpu2.system) / 1000 / n });
    return value;
  };
  const value = await reads('quorum read r=2', 'bench/likes');
  for (let i = 0; i < 10; i++) await patch(nodes[0]!, `small-${i}`, 1, 'bench/small');
  await reads('quorum read r=2, small doc', 'bench/small');

  // Reads while updates go through every node: replicas are often concurrent for a moment, and
  // then a read is answered from full states (tables included). Wall ms per read: mean and max.
  let writing = true;
  let extra = 0;
  const writers = Array.from({ length: IN_FLIGHT }, async (_, w) => {
    while (writing) await patch(nodes[w % 3]!, `busy-${extra++}`, 1);
  });
  const times: number[] = [];
  for (let i = 0; i < 40; i++) {
    const t = performance.now();
    await (await fetch(`${nodes[i % 3]!.url}/kv/bench/likes?r=2`)).arrayBuffer();
    times.push(performance.now() - t);
  }
  writing = false;
  await Promise.all(writers);
  const line = `${'quorum read r=2, busy'.padEnd(28)} wall ${(times.reduce((a, b) => a + b, 0) / times.length).toFixed(2).padStart(7)} ms/read mean, ${Math.max(...times).toFixed(2)} max (${extra} updates meanwhile)`;
  rows.push(line);
  console.log(line);
  const settled = await (await fetch(`${nodes[0]!.url}/kv/bench/likes?r=3`)).json();
  if ((settled as { likes?: unknown }).likes !== done + extra) {
    console.log(`after the busy reads: ${JSON.stringify(settled)} (expected likes ${done + extra})`);
    process.exitCode = 1;
  }
  console.log(`final value ${String(value)} (expected ${done})`);
  if (value !== done) process.exitCode = 1;
}

try {
  await main();
} finally {
  await Promise.all(nodes.map((n) => n.close()));
  rmSync(dir, { recursive: true, force: true });
}
