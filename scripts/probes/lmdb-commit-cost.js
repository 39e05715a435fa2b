#!/usr/bin/env node
// CPU of durable LMDB commits as lmdb-storage.ts makes them (overlappingSync off: each commit
// is synced before it resolves), by writes per commit: the fixed cost of a commit and the cost
// of each random 200-byte put into a 10,000-key table (one copied 4 KiB page, most of the time).
// Usage: node scripts/probes/lmdb-commit-cost.js
import { open } from 'lmdb';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'nosqldb-commit-cost-'));
try {
  const env = open({ path: dir, overlappingSync: false, eventTurnBatching: false });
  const table = env.openDB('t', { keyEncoding: 'binary', encoding: 'binary' });
  const key = (i) => Buffer.from(`key-${String(i).padStart(6, '0')}`);
  const value = Buffer.alloc(200, 1);
  await env.batch(() => {
    for (let i = 0; i < 10_000; i++) void table.put(key(i), value);
  });
  let seed = 1;
  const random = () => (seed = (seed * 48271) % 2147483647) % 10_000;
  for (const perCommit of [1, 18, 100]) {
    const commits = Math.round(600 / Math.sqrt(perCommit));
    const startedMs = performance.now();
    const cpu = process.cpuUsage();
    for (let c = 0; c < commits; c++) {
      await env.batch(() => {
        for (let j = 0; j < perCommit; j++) void table.put(key(random()), value);
      });
    }
    const used = process.cpuUsage(cpu);
    const perSecond = commits / ((performance.now() - startedMs) / 1000);
    console.log(
      `${perCommit} puts/commit: ${perSecond.toFixed(0)} commits/s, ` +
        `${((used.user + used.system) / 1000 / commits).toFixed(3)} ms CPU per commit ` +
        `(user ${(used.user / 1000 / commits).toFixed(3)}), ${((used.user + used.system) / commits / perCommit).toFixed(1)} µs per put`,
    );
  }
  await env.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
