import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/node/config.ts';
import { buildServer } from '../../src/server/http-server.ts';
import { HTTP_LIMITS_DEFAULT } from '../../src/server/overload-guard.ts';
import { startNode, type RunningNode } from '../../src/server/start-node.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function single(httpLimits = {}): Promise<RunningNode> {
  const r = await startNode({ host: '127.0.0.1', port: 0, httpLimits, config: { ...DEFAULTS, id: 'o1', seeds: [], n: 1, r: 1, w: 1, antiEntropyIntervalMs: 0 } });
  cleanups.push(() => r.close());
  return r;
}

describe('overload: bounded in-flight requests', () => {
  it('past inFlightMax a request gets a fast 503 KV_OVERLOADED with Retry-After; /health and /admin/status still answer', async () => {
    const r = await single({ inFlightMax: 4, retryAfterS: 2 });
    // Hold 4 requests open by never finishing their bodies.
    const port = Number(new URL(r.url).port);
    const holders = Array.from({ length: 4 }, () => {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      s.write('PUT /kv/held HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc');
      return s;
    });
    cleanups.push(() => holders.forEach((s) => s.destroy()));
    await new Promise((res) => setTimeout(res, 200));
    const t0 = performance.now();
    const refused = await fetch(`${r.url}/kv/x`, { method: 'PUT', body: 'v' });
    const ms = performance.now() - t0;
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('2');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('KV_OVERLOADED');
    expect(ms).toBeLessThan(1000);
    expect((await fetch(`${r.url}/health`)).status).toBe(200);
    expect((await fetch(`${r.url}/admin/status`)).status).toBe(200);
    holders.forEach((s) => s.destroy());
    await new Promise((res) => setTimeout(res, 200));
    expect((await fetch(`${r.url}/kv/x`, { method: 'PUT', body: 'v' })).status).toBe(200);
  });

  it('slow clients: headers sent byte by byte forever are cut off by the header time-out; defaults are configured', async () => {
    const r = await single();
    expect(r.app.server.headersTimeout).toBe(HTTP_LIMITS_DEFAULT.headersTimeoutMs);
    expect(r.app.server.requestTimeout).toBe(HTTP_LIMITS_DEFAULT.requestTimeoutMs);
    expect(r.app.server.keepAliveTimeout).toBe(HTTP_LIMITS_DEFAULT.keepAliveTimeoutMs);
    expect(r.app.server.timeout).toBe(HTTP_LIMITS_DEFAULT.connectionTimeoutMs);
    // The same node behind a server with short time-outs, so the test takes a second.
    const app = buildServer(r.node, { limits: { headersTimeoutMs: 800, requestTimeoutMs: 1500, connectionsCheckingIntervalMs: 100 } });
    await app.listen({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => app.close());
    const port = (app.server.address() as { port: number }).port;
    const t0 = performance.now();
    const cutMs = await new Promise<number>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      const line = 'GET /kv/slow HTTP/1.1\r\nHost: x\r\nX-Slow: ';
      let i = 0;
      const drip = setInterval(() => s.write(i < line.length ? line[i++]! : 'a'), 50);
      s.on('close', () => {
        clearInterval(drip);
        resolve(performance.now() - t0);
      });
      setTimeout(() => s.destroy(), 10_000);
    });
    expect(cutMs).toBeGreaterThan(700);
    expect(cutMs).toBeLessThan(3_000);
  });
});

describe('overload: a flood of 20,000 concurrent writes to one node (a child process, so its RSS is its own)', () => {
  it('RSS stays bounded, excess gets 503 fast, /health answers throughout, every acknowledged write is readable', { timeout: 120_000 }, async () => {
    const fixture = fileURLToPath(new URL('./fixtures/flood-node.ts', import.meta.url));
    const dataDir = await mkdtemp(join(tmpdir(), 'nosqldb-flood-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', fixture, dataDir], { stdio: ['pipe', 'pipe', 'inherit'] });
    cleanups.push(async () => {
      child.kill('SIGKILL');
      if (child.exitCode === null && child.signalCode === null) await new Promise((res) => child.once('exit', res));
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /ready (\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`flood node exited ${code}`)));
    });
    const { port } = new URL(url);
    const rss = (): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    const rssBeforeMb = rss() / 2 ** 20;
    const agent = new Agent({ keepAlive: true, maxSockets: 2_000 });
    cleanups.push(() => agent.destroy());
    const writes = 20_000;
    const value = Buffer.alloc(1024, 0x61);
    const acked: string[] = [];
    const latency503: number[] = [];
    const statuses = new Map<string, number>();
    let healthFailures = 0;
    let healthChecks = 0;
    let peakRss = 0;
    let flooding = true;
    const healthLoop = (async () => {
      while (flooding) {
        peakRss = Math.max(peakRss, rss());
        const t = performance.now();
        const ok = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.ok, () => false);
        healthChecks++;
        if (!ok) healthFailures++;
        await new Promise((res) => setTimeout(res, Math.max(0, 100 - (performance.now() - t))));
      }
    })();
    const put = (i: number): Promise<void> =>
      new Promise((resolve) => {
        // Timed from when the request was fully sent, not from when the client queued it.
        let t0 = performance.now();
        const req = request({ host: '127.0.0.1', port, method: 'PUT', path: `/kv/flood/${i}`, agent, headers: { 'content-type': 'application/octet-stream' } }, (res) => {
          res.resume();
          res.on('end', () => {
            const s = String(res.statusCode);
            statuses.set(s, (statuses.get(s) ?? 0) + 1);
            if (res.statusCode === 200) acked.push(`flood/${i}`);
            if (res.statusCode === 503) latency503.push(performance.now() - t0);
            resolve();
          });
        });
        req.on('error', (e: Error & { code?: string }) => {
          statuses.set(e.code ?? 'error', (statuses.get(e.code ?? 'error') ?? 0) + 1);
          resolve();
        });
        req.on('finish', () => (t0 = performance.now()));
        req.end(value);
      });
    const t0 = performance.now();
    await Promise.all(Array.from({ length: writes }, (_, i) => put(i)));
    const floodS = (performance.now() - t0) / 1000;
    flooding = false;
    await healthLoop;
    peakRss = Math.max(peakRss, rss());
    latency503.sort((a, b) => a - b);
    const p = (q: number): number => latency503[Math.min(latency503.length - 1, Math.floor(q * latency503.length))] ?? 0;
    const hwmMb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    console.log(
      `flood: ${writes} PUTs of 1 KiB over 2,000 connections in ${floodS.toFixed(1)} s; statuses ${[...statuses].map(([k, v]) => `${k}:${v}`).join(' ')}; ` +
        `503 latency p50 ${p(0.5).toFixed(0)} ms p99 ${p(0.99).toFixed(0)} ms; node RSS ${rssBeforeMb.toFixed(0)} MiB before, peak ${(peakRss / 2 ** 20).toFixed(0)} MiB sampled, VmHWM ${hwmMb.toFixed(0)} MiB; /health ${healthChecks - healthFailures}/${healthChecks} ok`,
    );
    expect(statuses.get('503') ?? 0).toBeGreaterThan(0);
    expect(acked.length).toBeGreaterThan(0);
    expect(acked.length + (statuses.get('503') ?? 0)).toBe(writes);
    expect(healthFailures).toBe(0);
    expect(hwmMb).toBeLessThan(400);
    expect(p(0.5)).toBeLessThan(1_000);
    // Every acknowledged write reads back.
    const missing: string[] = [];
    for (let i = 0; i < acked.length; i += 200) {
      const batch = acked.slice(i, i + 200);
      const got = await Promise.all(batch.map((k) => fetch(`${url}/kv/${k}`).then(async (r) => (r.status === 200 && (await r.arrayBuffer()).byteLength === 1024 ? null : k))));
      missing.push(...(got.filter((k) => k !== null) as string[]));
    }
    expect(missing).toEqual([]);
  });
});
