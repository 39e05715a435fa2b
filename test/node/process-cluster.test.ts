import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { BIN, LocalCluster, waitForCluster } from '../../src/cluster/local-cluster.ts';
import { nodeExecArgv } from '../../src/cluster/node-exec-argv.ts';
import { waitFor } from '../helpers/in-process-cluster.ts';

/**
 * Real separate node processes, real LMDB on disk, real TCP between them: what a user runs.
 * Ports 30001-30003 (HTTP) and 31001-31003 (peer) belong to this suite: below the ephemeral
 * range (32768-60999), so no outbound connection can take them first.
 */
const BASE = 30001;
const ids = ['n1', 'n2', 'n3'];
let dir: string;
let cluster: LocalCluster;
const url = (i: number) => `http://127.0.0.1:${BASE + i}`;
const logs: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nosqldb-proc-'));
  cluster = new LocalCluster({ dataDir: dir, nodeArgs: ['--anti-entropy-interval-ms', '0'], onOutput: (id, l) => logs.push(`[${id}] ${l}`) });
  cluster.start(ids.map((id, i) => ({ id, port: BASE + i })));
  await waitForCluster([0, 1, 2].map(url), ids, 30_000);
}, 40_000);

afterAll(async () => {
  await cluster?.stop(2000);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function putJson(i: number, key: string, value: unknown, q = ''): Promise<Response> {
  return fetch(`${url(i)}/kv/${key}${q}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) });
}

async function restartAll(): Promise<void> {
  for (const id of ids) cluster.restart(id);
  await waitForCluster([0, 1, 2].map(url), ids, 30_000);
}

describe('separate processes, LMDB, TCP', () => {
  it('[DUR1] every write acknowledged with W=2 survives kill -9 of all three nodes', async () => {
    const acked: string[] = [];
    // Writes in flight when the kill lands may or may not survive; acknowledged ones must.
    let stop = false;
    const writers = [0, 1, 2].map(async (i) => {
      for (let k = 0; !stop; k++) {
        const key = `dur/${i}/${k}`;
        try {
          const res = await putJson(i, key, { i, k });
          if (res.status === 200) acked.push(key);
        } catch {
          return;
        }
      }
    });
    await waitFor('300 acknowledged writes', () => acked.length >= 300, 30_000);
    for (const id of ids) cluster.kill(id);
    stop = true;
    await Promise.all(writers);
    await restartAll();
    const missing: string[] = [];
    for (const key of acked) {
      const res = await fetch(`${url(0)}/kv/${key}`);
      if (res.status !== 200) missing.push(key);
    }
    expect(missing).toEqual([]);
    expect(acked.length).toBeGreaterThanOrEqual(300);
  }, 90_000);

  it('[Q1] one node down: R=2/W=2 succeed; two down: fast 503 KV_QUORUM_NOT_MET; R=1/W=1 still succeed', async () => {
    cluster.kill('n3');
    await waitFor('n3 seen down', async () => {
      const s = (await (await fetch(`${url(0)}/admin/status`)).json()) as { members: { id: string; state: string }[] };
      return s.members.find((m) => m.id === 'n3')?.state === 'down';
    });
    for (let k = 0; k < 20; k++) {
      expect((await putJson(k % 2, `q/${k}`, k)).status).toBe(200);
      expect((await fetch(`${url((k + 1) % 2)}/kv/q/${k}`)).status).toBe(200);
    }
    cluster.kill('n2');
    await waitFor('n2 seen down', async () => {
      const s = (await (await fetch(`${url(0)}/admin/status`)).json()) as { members: { id: string; state: string }[] };
      return s.members.find((m) => m.id === 'n2')?.state === 'down';
    });
    const started = Date.now();
    const w = await putJson(0, 'q/0', 'x', '?timeout=20000');
    expect(w.status).toBe(503);
    const err = ((await w.json()) as { error: { code: string; details: { answered: number; required: number } } }).error;
    expect(err.code).toBe('KV_QUORUM_NOT_MET');
    expect(err.details.answered).toBe(1);
    expect(err.details.required).toBe(2);
    const r = await fetch(`${url(0)}/kv/q/1?timeout=20000`);
    expect(r.status).toBe(503);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('KV_QUORUM_NOT_MET');
    // Fast: the failure came from knowing the replicas are gone, not from waiting out the 20 s
    // time-out the requests asked for.
    expect(Date.now() - started).toBeLessThan(15_000);
    expect((await putJson(0, 'q/one', 'y', '?w=1')).status).toBe(200);
    expect((await fetch(`${url(0)}/kv/q/one?r=1`)).status).toBe(200);
    cluster.restart('n2');
    cluster.restart('n3');
    await waitForCluster([0, 1, 2].map(url), ids, 30_000);
  }, 90_000);

  it('[TR1] garbage bytes on the peer port close that connection and nothing else', async () => {
    await new Promise<void>((resolve) => {
      const s = connect(BASE + 1000, '127.0.0.1', () => {
        s.write(Buffer.from('GET / HTTP/1.1\r\n\r\n\xff\xff\xff\xff garbage'));
      });
      s.on('close', () => resolve());
      s.on('error', () => resolve());
    });
    expect((await putJson(1, 'after-garbage', 1)).status).toBe(200);
    expect((await fetch(`${url(0)}/kv/after-garbage?r=3`)).status).toBe(200);
  }, 30_000);

  it('[GC1] the launched nodes run with single-threaded GC, before any flag NOSQLDB_NODE_EXEC_ARGV adds', () => {
    const running = cluster.nodes().filter((n) => n.state === 'running' && n.pid !== null);
    expect(running.map((n) => n.id).sort()).toEqual(ids);
    for (const n of running) {
      // The node's own command line (NUL-separated): the flag must reach V8 at start (node-exec-argv.ts).
      const argv = readFileSync(`/proc/${n.pid}/cmdline`, 'utf8').split('\0');
      const script = argv.indexOf(BIN);
      expect(script).toBeGreaterThan(0);
      expect(argv.slice(1, script)).toContain('--single-threaded-gc');
    }
    const flags = nodeExecArgv({ NOSQLDB_NODE_EXEC_ARGV: ' --cpu-prof  --no-single-threaded-gc ' });
    expect(flags).toEqual(['--single-threaded-gc', '--cpu-prof', '--no-single-threaded-gc']);
  });
});
