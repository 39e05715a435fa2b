import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULTS } from '../../src/node/config.ts';
import { startNode, type RunningNode } from '../../src/server/start-node.ts';
import type { AntiEntropy } from '../../src/node/anti-entropy.ts';

/**
 * Issue #12, target 4 (a node with 1,000,000 keys serves within 10 s of a restart): a clean
 * shutdown saves the key counts and the Merkle trees, so the next start needs no scan of the
 * data; a crash saves nothing and the next start counts and builds from storage. Either way the
 * node must end up with the same counts and the same trees as storage implies.
 */
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const start = (dataDir: string): Promise<RunningNode> =>
  startNode({ host: '127.0.0.1', port: 0, dataDir, config: { ...DEFAULTS, id: 'n1', seeds: [], n: 1, r: 1, w: 1, antiEntropyIntervalMs: 0 } });

const ae = (r: RunningNode): AntiEntropy => r.node.extension('anti-entropy') as AntiEntropy;

/** Writes and returns the new version's context (a delete must carry it to supersede the value). */
async function put(r: RunningNode, key: string, value: string): Promise<string> {
  const res = await fetch(`${r.url}/kv/${key}`, { method: 'PUT', body: value });
  expect(res.status).toBe(200);
  return ((await res.json()) as { context: string }).context;
}

async function waitForTrees(r: RunningNode): Promise<void> {
  const until = Date.now() + 20_000;
  while ((ae(r).status().trees as number) < r.node.replicatedPartitions().length) {
    if (Date.now() > until) throw new Error('trees not built');
    await new Promise((res) => setTimeout(res, 20));
  }
}

describe('clean restart', () => {
  it('[REST1] a clean shutdown saves counts and trees; the next start restores them without a scan, and they match storage', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nosqldb-restart-'));
    dirs.push(dir);
    let r = await start(dir);
    await waitForTrees(r);
    const contexts: string[] = [];
    for (let i = 0; i < 300; i++) contexts.push(await put(r, `k${i}`, `v${i}`));
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${r.url}/kv/k${i}`, { method: 'DELETE', headers: { 'x-context': contexts[i]! } });
      expect(res.status).toBe(200);
    }
    const before = { stats: { ...r.node.stats }, roots: ae(r).roots() };
    expect(before.stats.keys).toBe(280);
    expect(before.stats.tombstones).toBe(20);
    await r.close();

    r = await start(dir);
    try {
      expect(r.node.restoredFromSnapshot).toBe(true);
      expect((ae(r).status().totals as { treesRestored: number }).treesRestored).toBe(r.node.replicatedPartitions().length);
      expect({ keys: r.node.stats.keys, tombstones: r.node.stats.tombstones }).toEqual({ keys: 280, tombstones: 20 });
      expect(ae(r).roots()).toEqual(before.roots);
      expect((ae(r).status().tombstones as { held: number }).held).toBe(20);
      // The restored trees are what storage implies: a full rebuild finds nothing drifted.
      expect((await ae(r).rebuild()).drifted).toEqual([]);
      // And they keep following changes.
      await put(r, 'k0', 'changed');
      expect(ae(r).roots()).not.toEqual(before.roots);
      expect((await ae(r).rebuild()).drifted).toEqual([]);
    } finally {
      await r.close();
    }
  });

  it('[REST2] the saved state is used once: a start after a crash (nothing saved) scans, and counts the same', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nosqldb-restart-'));
    dirs.push(dir);
    let r = await start(dir);
    await waitForTrees(r);
    for (let i = 0; i < 100; i++) await put(r, `k${i}`, `v${i}`);
    const roots = ae(r).roots();
    await r.close();
    // Start and "crash": the saved state was consumed at start and the crash saves nothing new.
    r = await start(dir);
    expect(r.node.restoredFromSnapshot).toBe(true);
    await put(r, 'k100', 'new');
    await r.node.services.storage.close();
    await r.close().catch(() => undefined);

    r = await start(dir);
    try {
      expect(r.node.restoredFromSnapshot).toBe(false);
      expect(r.node.stats.keys).toBe(101);
      await waitForTrees(r);
      expect(ae(r).roots()).not.toEqual(roots);
      expect((await ae(r).rebuild()).drifted).toEqual([]);
    } finally {
      await r.close();
    }
  });
});
