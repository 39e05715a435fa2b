import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { VirtualNetwork, type VirtualHost } from './netns.ts';

/**
 * Three database nodes on three separate network hosts (Linux network namespaces on a bridge),
 * each on its own address and all on the same port, the client in the root namespace. It
 * writes, cuts one host's link, keeps writing with W=2, restores the link, and checks that the
 * cluster converges and that no acknowledged write was lost. `npm run test:multihost`; needs
 * root (CI runs as root) and skips, saying why, where namespaces cannot be made.
 *
 * The nodes bind 0.0.0.0 and advertise their host's address (`--advertise-host`), as they do in
 * containers; they talk with a cluster secret and an admin token, as a deployment would.
 */
const probe = VirtualNetwork.probe();
if (!probe.ok) console.log(`multihost: SKIPPED — ${probe.reason}`);

const PORT = 7001; // every host has its own network stack, so all three use the same port
const TOKEN = 'multihost-admin-token';
const SECRET = 'multihost-cluster-secret';
const ids = ['n1', 'n2', 'n3'] as const;
const repo = resolve(import.meta.dirname, '../..');

let net: VirtualNetwork | undefined;
let dataDir: string | undefined;
const procs = new Map<string, ChildProcess>();
const output: string[] = [];
const t0 = Date.now();
const log = (line: string): void => console.log(`multihost +${((Date.now() - t0) / 1000).toFixed(1)}s ${line}`);

const host = (i: number): VirtualHost => net!.hosts[i]!;
const url = (i: number): string => `http://${host(i).address}:${PORT}`;
const auth = { authorization: `Bearer ${TOKEN}` };

/** Stops every node (TERM, then KILL) and removes the network and the data: never throws. */
async function teardown(): Promise<void> {
  await Promise.all(
    [...procs.values()].map(
      (p) =>
        new Promise<void>((done) => {
          if (p.exitCode !== null || p.signalCode !== null) return done();
          const kill = setTimeout(() => p.kill('SIGKILL'), 3000);
          p.once('exit', () => {
            clearTimeout(kill);
            done();
          });
          p.kill('SIGTERM');
        }),
    ),
  );
  procs.clear();
  net?.destroy();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}

// Should the test process end without running afterAll, still take the network down.
// (After a SIGKILL the nodes exit as their stdin closes, and the next run sweeps the network.)
const emergency = (): void => {
  for (const p of procs.values()) p.kill('SIGKILL');
  net?.destroy();
};
process.once('exit', emergency);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    emergency();
    process.exit(130);
  });
}

function startNode(i: number): void {
  const id = ids[i]!;
  const seeds = ids.map((_, j) => j).filter((j) => j !== i).map((j) => `${host(j).address}:${PORT}`);
  const args = [
    ...net!.execPrefix(host(i)),
    process.execPath,
    join(repo, 'bin/nosqldb.js'),
    'node',
    '--id', id,
    '--host', '0.0.0.0',
    '--advertise-host', host(i).address,
    '--port', String(PORT),
    '--seeds', seeds.join(','),
    '--data-dir', join(dataDir!, id),
    '--admin-token', TOKEN,
    '--cluster-secret', SECRET,
    '--anti-entropy-interval-ms', '2000',
  ];
  // `ip netns exec` execs the program in place: the pid is the node's own.
  const p = spawn(args[0]!, args.slice(1), { cwd: repo, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NOSQLDB_EXIT_WITH_PARENT: '1' } });
  for (const stream of [p.stdout, p.stderr]) stream?.on('data', (b: Buffer) => output.push(...b.toString().trimEnd().split('\n').map((l) => `[${id}] ${l}`)));
  p.on('exit', (code, signal) => output.push(`[${id}] exited ${code ?? signal}`));
  procs.set(id, p);
}

async function request(method: string, target: string, init: { body?: unknown; headers?: Record<string, string> } = {}): Promise<Response> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  return fetch(target, {
    method,
    headers,
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    signal: AbortSignal.timeout(5000),
  });
}

/** Member states as node `i` sees them, or null when it does not answer. */
async function members(i: number): Promise<Record<string, string> | null> {
  try {
    const res = await request('GET', `${url(i)}/admin/status`, { headers: auth });
    if (!res.ok) return null;
    const body = (await res.json()) as { members: { id: string; state: string }[] };
    return Object.fromEntries(body.members.map((m) => [m.id, m.state]));
  } catch {
    return null;
  }
}

async function until<T>(what: string, deadlineMs: number, probeOnce: () => Promise<T | null | false>): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await probeOnce().catch(() => null);
    if (v !== null && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

type Expected = { deleted: false; value: unknown } | { deleted: true };
const expected = new Map<string, Expected>();
let attempted = 0;

/** A blind write; an acknowledged one (200) is recorded as what the key must hold. */
async function write(coordinator: number, key: string, value: unknown): Promise<boolean> {
  attempted++;
  try {
    const res = await request('PUT', `${url(coordinator)}/kv/${key}?w=2`, { body: value });
    if (res.status !== 200) return false;
    expected.set(key, { deleted: false, value });
    return true;
  } catch {
    return false;
  }
}

/** Read (r=2) for the context, then overwrite or delete with it: the new version supersedes. */
async function update(coordinator: number, key: string, next: { value: unknown } | 'delete'): Promise<boolean> {
  attempted++;
  try {
    const read = await request('GET', `${url(coordinator)}/kv/${key}?r=2`);
    const context = read.headers.get('x-context');
    if (read.status !== 200 || !context) return false;
    const res =
      next === 'delete'
        ? await request('DELETE', `${url(coordinator)}/kv/${key}?w=2`, { headers: { 'x-context': context } })
        : await request('PUT', `${url(coordinator)}/kv/${key}?w=2`, { body: next.value, headers: { 'x-context': context } });
    if (res.status !== 200) return false;
    expected.set(key, next === 'delete' ? { deleted: true } : { deleted: false, value: next.value });
    return true;
  } catch {
    return false;
  }
}

/** Whether a response shows exactly the expected state (value, or gone). */
async function matches(res: Response, want: Expected): Promise<boolean> {
  if (want.deleted) return res.status === 404;
  if (res.status !== 200) return false;
  return JSON.stringify(await res.json()) === JSON.stringify(want.value);
}

/** Keys whose copy on node `i` (`?local=true`: no quorum, no repair) is not the expected one. */
async function divergentOn(i: number): Promise<string[]> {
  const bad: string[] = [];
  for (const [key, want] of expected) {
    try {
      if (!(await matches(await request('GET', `${url(i)}/kv/${key}?local=true`), want))) bad.push(key);
    } catch {
      bad.push(key);
    }
  }
  return bad;
}

describe.skipIf(!probe.ok)('multi-host: three nodes on three network hosts', () => {
  beforeAll(async () => {
    net = VirtualNetwork.create(3);
    dataDir = mkdtempSync(join(tmpdir(), 'nosqldb-multihost-'));
    log(`network ${net.subnet}: client ${net.clientAddress} (root namespace), ` + net.hosts.map((h, i) => `${ids[i]} ${h.address} (netns ${h.namespace})`).join(', '));
    for (let i = 0; i < 3; i++) startNode(i);
    await until('every node to serve /health', 45_000, async () => {
      for (let i = 0; i < 3; i++) if ((await request('GET', `${url(i)}/health`)).status !== 200) return false;
      return true;
    });
    log('every node serves /health');
    await until('the three nodes to see each other up, on one ring', 60_000, async () => {
      const rings = new Set<unknown>();
      for (let i = 0; i < 3; i++) {
        const res = await request('GET', `${url(i)}/admin/status`, { headers: auth });
        if (!res.ok) return false;
        const s = (await res.json()) as { ringVersion: unknown; members: { id: string; state: string; partitions: number }[] };
        if (s.ringVersion === null || !ids.every((id) => s.members.some((m) => m.id === id && m.state === 'up' && m.partitions > 0))) return false;
        rings.add(s.ringVersion);
      }
      return rings.size === 1;
    });
    log(`cluster formed: ${ids.map((id, i) => `${id}=${url(i)}`).join(' ')}`);
  }, 90_000);

  afterAll(async () => {
    await teardown();
    const left = net?.leftovers() ?? [];
    if (left.length > 0) console.log(`multihost: LEFT BEHIND ${left.join(', ')}`);
    expect(left).toEqual([]);
  }, 30_000);

  it('cut one host, keep writing with W=2, restore: converges, no acknowledged write lost', async () => {
    try {
      // 1. Healthy cluster: writes through every host.
      for (let k = 0; k < 45; k++) expect(await write(k % 3, `mh/a/${k}`, { k, phase: 'before' })).toBe(true);
      const advertised = (await (await request('GET', `${url(0)}/health`)).json()) as { peer: { host: string } };
      expect(advertised.peer.host).toBe(host(0).address);
      log(`wrote 45 keys through ${ids.join(', ')}; n1 advertises peer ${advertised.peer.host}`);

      // 2. Cut n3's link at the switch. Writes go on through n1 and n2 at once, W=2.
      const cutAt = Date.now();
      net!.cut(host(2));
      log(`CUT: link of n3 (${host(2).address}) down at switch port ${host(2).switchPort}`);
      let acked = 0;
      for (let k = 0; k < 30; k++) if (await write(k % 2, `mh/b/${k}`, { k, phase: 'cut-early' })) acked++;
      log(`during the cut, before detection: ${acked}/30 writes acknowledged with W=2`);
      const seen = await until('n1 and n2 to see n3 not up', 30_000, async () => {
        const [a, b] = [await members(0), await members(1)];
        return a && b && a.n3 !== 'up' && b.n3 !== 'up' ? `n1 sees n3 ${a.n3}, n2 sees n3 ${b.n3}` : null;
      });
      log(`${seen} after ${Date.now() - cutAt} ms`);
      acked = 0;
      for (let k = 0; k < 30; k++) if (await write(k % 2, `mh/c/${k}`, { k, phase: 'cut-late' })) acked++;
      let changed = 0;
      for (let k = 0; k < 15; k++) if (await update(k % 2, `mh/a/${k}`, { value: { k, phase: 'overwritten-during-cut' } })) changed++;
      for (let k = 15; k < 20; k++) if (await update(k % 2, `mh/a/${k}`, 'delete')) changed++;
      log(`during the cut, after detection: ${acked}/30 new writes, ${changed}/20 overwrites+deletes acknowledged`);
      expect(acked).toBe(30);
      expect(changed).toBe(20);
      expect(procs.get('n3')?.exitCode, 'n3 kept running behind the cut').toBeNull();

      // 3. Restore the link; measure convergence with no client reads first (hints, anti-entropy).
      net!.restore(host(2));
      const restoredAt = Date.now();
      log(`RESTORED: link of n3 (${host(2).address}) up after ${restoredAt - cutAt} ms cut`);
      await until('n1 and n2 to see n3 up again', 30_000, async () => {
        const [a, b] = [await members(0), await members(1)];
        return a?.n3 === 'up' && b?.n3 === 'up';
      });
      log(`n1 and n2 see n3 up again after ${Date.now() - restoredAt} ms`);
      let background: number | null = null;
      try {
        await until('n3 to catch up by itself (hinted handoff, anti-entropy)', 30_000, async () => (await divergentOn(2)).length === 0);
        background = Date.now() - restoredAt;
        log(`CONVERGED by itself: n3 holds all ${expected.size} keys as expected ${background} ms after the restore`);
      } catch {
        log(`n3 still lacked ${(await divergentOn(2)).length} of ${expected.size} keys 30 s after the restore; repairing by reads`);
      }

      // 4. Every acknowledged key reads back with r=3 through every coordinator (reads repair),
      //    and every replica then holds it locally: no acknowledged write lost.
      await until('every key to read back as acknowledged with r=3', 30_000, async () => {
        let k = 0;
        for (const [key, want] of expected) {
          const res = await request('GET', `${url(k++ % 3)}/kv/${key}?r=3`);
          if (!(await matches(res, want))) return false;
        }
        return true;
      });
      const divergent = await until('every replica to hold every key locally', 30_000, async () => {
        const all = [...(await divergentOn(0)), ...(await divergentOn(1)), ...(await divergentOn(2))];
        return all.length === 0 ? all : null;
      });
      expect(divergent).toEqual([]);
      const deleted = [...expected.values()].filter((e) => e.deleted).length;
      log(
        `CONVERGED: ${expected.size} acknowledged keys (${deleted} deleted) identical on n1, n2, n3 ` +
          `${Date.now() - restoredAt} ms after the restore` +
          (background !== null ? ` (by itself in ${background} ms)` : '') +
          `; ${attempted} operations attempted, none acknowledged lost`,
      );
    } catch (e) {
      console.log(`multihost: node output (last 60 lines):\n${output.slice(-60).join('\n')}`);
      throw e;
    }
  }, 240_000);
});
