import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/node/config.ts';
import { startNode, type RunningNode } from '../../src/server/start-node.ts';
import { waitFor } from '../helpers/in-process-cluster.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const running: RunningNode[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.close()));
});

async function node(id: string, opts: { seeds?: string[]; adminToken?: string; clusterSecret?: string } = {}): Promise<RunningNode> {
  const r = await startNode({
    host: '127.0.0.1',
    port: 0,
    adminToken: opts.adminToken,
    clusterSecret: opts.clusterSecret,
    config: { ...DEFAULTS, id, seeds: opts.seeds ?? [], gossipIntervalMs: 100, n: 2, r: 1, w: 1, antiEntropyIntervalMs: 0 },
  });
  running.push(r);
  return r;
}

interface Status {
  members: { id: string; state: string }[];
}
const status = async (r: RunningNode): Promise<Status> => (await (await fetch(`${r.url}/admin/status`)).json()) as Status;
const sees = async (r: RunningNode, other: string): Promise<boolean> => (await status(r)).members.some((m) => m.id === other && m.state === 'up');

describe('who may touch a node (CONTRACT §3)', () => {
  it('/admin/* needs the bearer token: 401 without or with a wrong one, 200 with it; /kv and /health stay open', async () => {
    const r = await node('a1', { adminToken: 's3cret' });
    const paths = ['/admin/status', '/admin/ring', '/admin/faults', '/admin/merkle'];
    for (const p of paths) {
      const none = await fetch(r.url + p);
      expect(none.status, p).toBe(401);
      expect(((await none.json()) as { error: { code: string } }).error.code).toBe('KV_UNAUTHORIZED');
      expect((await fetch(r.url + p, { headers: { authorization: 'Bearer wrong' } })).status, p).toBe(401);
      expect((await fetch(r.url + p, { headers: { authorization: 's3cret' } })).status, p).toBe(401);
      expect((await fetch(r.url + p, { headers: { authorization: 'Bearer s3cret' } })).status, p).toBe(200);
    }
    // Mutating admin routes are refused before they act.
    const inject = await fetch(`${r.url}/admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"dropRate":1}' });
    expect(inject.status).toBe(401);
    expect((await fetch(`${r.url}/admin/leave`, { method: 'POST' })).status).toBe(401);
    expect((await fetch(`${r.url}/health`)).status).toBe(200);
    expect((await fetch(`${r.url}/kv/k`, { method: 'PUT', body: 'v' })).status).toBe(200);
  });

  it('regression: a percent-encoded path (/%61dmin/status) cannot reach an admin route without the token', async () => {
    const r = await node('a2', { adminToken: 't' });
    for (const p of ['/%61dmin/status', '/adm%69n/ring', '/%61dmin/faults', '/admin/status/', '/admin//ring']) {
      const res = await r.app.inject({ method: 'GET', url: p });
      expect([401, 404], p).toContain(res.statusCode);
    }
    const leave = await r.app.inject({ method: 'POST', url: '/%61dmin/leave' });
    expect(leave.statusCode).toBe(401);
  });

  it('a peer without the cluster secret is refused; peers with it form a cluster', async () => {
    // Same secret: they see each other up.
    const a = await node('s1', { clusterSecret: 'alpha' });
    const b = await node('s2', { clusterSecret: 'alpha', seeds: [a.url.replace('http://', '')] });
    await waitFor('s1 and s2 up for each other', async () => (await sees(a, 's2')) && (await sees(b, 's1')), 10_000);
    // A different secret: its hello is refused, so it never gets in, nor does it see s1 up.
    const leaks: string[] = [];
    const c = await node('x3', { clusterSecret: 'beta', seeds: [a.url.replace('http://', '')] });
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      if (await sees(a, 'x3')) leaks.push('s1 sees x3 up');
      if (await sees(c, 's1')) leaks.push('x3 sees s1 up');
      await new Promise((res) => setTimeout(res, 200));
    }
    expect(leaks).toEqual([]);
    // And no secret at all is refused too.
    const d = await node('x4', { seeds: [a.url.replace('http://', '')] });
    await new Promise((res) => setTimeout(res, 1000));
    expect(await sees(a, 'x4')).toBe(false);
    expect(await sees(d, 's1')).toBe(false);
    // The cluster itself is unaffected.
    expect(await sees(a, 's2')).toBe(true);
  });

  it('`nosqldb node --host 0.0.0.0` without a token exits 2 with a clear message and binds nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nosqldb-auth-'));
    try {
      const env = { ...process.env };
      for (const k of ['ADMIN_TOKEN', 'NOSQLDB_ADMIN_TOKEN', 'HOST', 'PORT']) delete env[k];
      const child = spawn(process.execPath, [join(root, 'bin/nosqldb.js'), 'node', '--id', 'p1', '--host', '0.0.0.0', '--port', '0', '--data-dir', join(dir, 'p1')], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await new Promise<number | null>((res) => child.once('exit', (c) => res(c)));
      clearTimeout(timer);
      expect(code).toBe(2);
      expect(err).toMatch(/refusing to bind 0\.0\.0\.0 without --admin-token/);
      expect(err).toMatch(/--insecure/);
      expect(out).not.toMatch(/serving:/);
      // It refused before opening anything: not even its data dir.
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
