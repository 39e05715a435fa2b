import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster, waitForCluster } from '../../src/cluster/local-cluster.ts';
import { holdPort, releasePort } from '../helpers/hold-port.ts';

/**
 * A local cluster whose node cannot start (its port is taken) says so at once: `nosqldb cluster`
 * and `nosqldb bench --start` used to wait the whole minute for a cluster that could not form.
 * Ports 30471-30472 (HTTP) and 31471-31472 (peer) belong to this suite.
 */
const BASE = 30471;
const ids = ['n1', 'n2'];
const urls = ids.map((_, i) => `http://127.0.0.1:${BASE + i}`);

let dir: string | undefined;
let cluster: LocalCluster | undefined;
let holder: Server | undefined;
afterEach(async () => {
  await cluster?.stop(2000);
  if (holder) await releasePort(holder);
  if (dir) rmSync(dir, { recursive: true, force: true });
  cluster = holder = dir = undefined;
});

describe('a local cluster that cannot form', () => {
  it('ends the wait as soon as a node process exits on its own, naming the node and how it ended', async () => {
    holder = await holdPort(BASE);
    dir = mkdtempSync(join(tmpdir(), 'nosqldb-formfail-'));
    const lines: string[] = [];
    cluster = new LocalCluster({
      dataDir: dir,
      onOutput: (id, line) => lines.push(`[${id}] ${line}`),
    });
    cluster.start(ids.map((id, i) => ({ id, port: BASE + i })));
    // A deadline far past the test's own time-out: only the exited node can end this wait in time.
    const c = cluster;
    await expect(
      waitForCluster(urls, ids, 600_000, undefined, () => c.exitedNode()),
    ).rejects.toThrow('cluster cannot form: node n1 (exit code 1) while starting');
    expect(lines.some((l) => l.startsWith('[n1]') && l.includes('EADDRINUSE'))).toBe(true);
    expect(cluster.nodes().find((n) => n.id === 'n2')?.state).not.toBe('exited');
  }, 30_000);

  it('does not count a node this process stopped or killed as one that exited on its own', async () => {
    dir = mkdtempSync(join(tmpdir(), 'nosqldb-formfail-'));
    cluster = new LocalCluster({ dataDir: dir, onOutput: () => undefined });
    cluster.start(ids.map((id, i) => ({ id, port: BASE + i })));
    await waitForCluster(urls, ids, 30_000, undefined, () => cluster!.exitedNode());
    cluster.kill('n1');
    await cluster.stopNode('n2');
    expect(cluster.exitedNode()).toBeUndefined();
  }, 40_000);
});
