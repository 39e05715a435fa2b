import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, LocalCluster, waitForCluster } from '../../src/cluster/local-cluster.ts';
import { until } from './lab-harness.ts';

/**
 * `nosqldb lab --attach`: the Lab over a cluster it did not start (as in Docker Compose), with
 * nodes guarded by an admin token. Nodes 27640-27642 (peers 23640-23642), Lab 23645.
 */
const TOKEN = 'attach-test-token';
const BASE = 27640;
const PEER_BASE = 23640;
const LAB_PORT = 23645;
const LAB = `http://127.0.0.1:${LAB_PORT}`;
const ids = ['n1', 'n2', 'n3'];
const url = (i: number) => `http://127.0.0.1:${BASE + i}`;
const auth = { authorization: `Bearer ${TOKEN}` };
let dir: string;
let cluster: LocalCluster;
let lab: ChildProcess;
const out: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nosqldb-attach-'));
  cluster = new LocalCluster({ dataDir: dir, nodeArgs: ['--admin-token', TOKEN], onOutput: () => undefined });
  cluster.start(ids.map((id, i) => ({ id, port: BASE + i, extraArgs: ['--peer-port', String(PEER_BASE + i)] })));
  await waitForCluster([0, 1, 2].map(url), ids, 60_000, TOKEN);
  lab = spawn(process.execPath, [BIN, 'lab', '--attach', [0, 1, 2].map(url).join(','), '--port', String(LAB_PORT), '--admin-token', TOKEN], { stdio: ['ignore', 'pipe', 'pipe'] });
  lab.stdout!.on('data', (d: Buffer) => out.push(d.toString()));
  lab.stderr!.on('data', (d: Buffer) => out.push(d.toString()));
  await until('the attached Lab to be ready', 60_000, () => out.join('').includes('ready: lab'));
}, 130_000);

afterAll(async () => {
  if (lab && lab.exitCode === null) {
    const gone = new Promise((r) => lab.once('exit', r));
    lab.kill('SIGTERM');
    await gone;
  }
  await cluster?.stop(2000);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- responses are checked field by field
async function labApi(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const init: RequestInit = body === undefined ? { method, headers: auth } : { method, headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) };
  const res = await fetch(`${LAB}${path}`, init);
  return { status: res.status, json: await res.json().catch(() => null) };
}

describe('the Lab attached to an existing cluster', () => {
  it('[LAB-ATTACH1] shows the cluster, needs the token, partitions through /admin/faults, and kill shuts a node down', async () => {
    expect((await fetch(`${LAB}/api/cluster`)).status).toBe(401);
    const c = await labApi('GET', '/api/cluster');
    expect(c.status).toBe(200);
    expect(JSON.stringify(c.json)).toContain('n3');
    const p = await labApi('POST', '/api/partition', { groups: [['n1', 'n2'], ['n3']] });
    expect(p.status, JSON.stringify(p.json)).toBe(200);
    const f = (await (await fetch(`${url(2)}/admin/faults`, { headers: auth })).json()) as { faults: { isolate?: string[] } };
    expect(f.faults.isolate).toEqual(['n1', 'n2']);
    const h = await labApi('POST', '/api/heal');
    expect(h.status, JSON.stringify(h.json)).toBe(200);
    const healed = (await (await fetch(`${url(2)}/admin/faults`, { headers: auth })).json()) as { faults: unknown };
    expect(healed.faults).toEqual({});
    expect((await labApi('POST', '/api/nodes/n3/kill')).status).toBeLessThan(300);
    // No orchestrator here: the node is simply gone afterwards.
    await until('n3 to stop answering', 20_000, async () => {
      try {
        await fetch(`${url(2)}/health`, { signal: AbortSignal.timeout(500) });
        return false;
      } catch {
        return true;
      }
    });
  }, 90_000);
});

describe('Lab token', () => {
  it('[LAB-AUTH1] an encoded path does not slip past the token', async () => {
    expect((await fetch(`${LAB}/%61pi/cluster`)).status).toBe(401);
  });
});

/** Opens a socket on the Lab: the socket once open, or the HTTP status it was refused with. */
function openSocket(path: string, options: { headers?: Record<string, string>; protocols?: string[] } = {}): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${LAB_PORT}${path}`, options.protocols ?? [], { headers: options.headers ?? {}, handshakeTimeout: 5000 });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', (e) => reject(e));
  });
}

describe('Lab sockets with a token', () => {
  it('[LAB-AUTH2] WS /api/events and the demo sockets refuse a client without the token, or with a wrong one (401)', async () => {
    for (const path of ['/api/events', '/api/demo/live', '/api/collab/presence']) {
      expect(await openSocket(path), path).toBe(401);
      expect(await openSocket(path, { headers: { authorization: 'Bearer wrong' } }), path).toBe(401);
      expect(await openSocket(path, { protocols: [`nosqldb.bearer.${Buffer.from('wrong').toString('base64url')}`] }), path).toBe(401);
    }
  });

  it('[LAB-AUTH3] WS /api/events with the token (header, or the subprotocol browsers use) is accepted and streams events', async () => {
    const viaHeader = await openSocket('/api/events', { headers: auth });
    const viaProtocol = await openSocket('/api/events', { protocols: [`nosqldb.bearer.${Buffer.from(TOKEN).toString('base64url')}`] });
    expect(viaHeader).toBeInstanceOf(WebSocket);
    expect(viaProtocol).toBeInstanceOf(WebSocket);
    try {
      const got = (ws: WebSocket): Promise<void> =>
        new Promise((resolve) =>
          ws.on('message', (d: Buffer) => {
            if ((JSON.parse(d.toString('utf8')) as { type?: string }).type === 'lab.heal') resolve();
          }),
        );
      const both = Promise.all([got(viaHeader as WebSocket), got(viaProtocol as WebSocket)]);
      expect((await labApi('POST', '/api/heal')).status).toBe(200);
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('no lab.heal on both sockets within 5 s')), 5_000)));
      await Promise.race([both, deadline]).finally(() => clearTimeout(timer));
    } finally {
      (viaHeader as WebSocket).close();
      (viaProtocol as WebSocket).close();
    }
  });
});
