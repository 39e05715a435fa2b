import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../helpers/in-process-cluster.ts';

/**
 * Plain key requests over a socket go through the hot path (src/server/kv-fast-path.ts);
 * `inject()` and unusual requests go through Fastify's routes. Both must answer alike.
 */
let c: TestCluster;
beforeAll(async () => {
  c = await startTestCluster(1, { n: 1, r: 1, w: 1 });
});
afterAll(async () => {
  await c.close();
});

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const compared = ['content-type', 'x-context', 'x-vector-clock', 'retry-after', 'idempotency-replayed'];
const pick = (h: Record<string, string | string[] | number | undefined>): Record<string, string> =>
  Object.fromEntries(compared.filter((k) => h[k] !== undefined).map((k) => [k, String(h[k])]));

async function viaSocket(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  const res = await fetch(`${c.url(0)}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  return { status: res.status, headers: pick(Object.fromEntries(compared.map((k) => [k, res.headers.get(k) ?? undefined]))), body: await res.text() };
}

async function viaFastify(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  const res = await c.nodes[0]!.app.inject({ method: method as 'GET', url: path, headers, ...(body !== undefined ? { payload: body } : {}) });
  return { status: res.statusCode, headers: pick(res.headers), body: res.body };
}

describe('the HTTP hot path', () => {
  it('answers every plain key operation exactly as the Fastify routes do', async () => {
    // Same operations on two keys, one per path; answers must match (contexts hold the same dots).
    const script: [string, string, Record<string, string>, string | undefined][] = [
      ['GET', '/kv/K', {}, undefined],
      ['PUT', '/kv/K', { 'content-type': 'text/plain' }, 'hello'],
      ['GET', '/kv/K', {}, undefined],
      ['GET', '/kv/K?r=1&timeout=500', {}, undefined],
      ['GET', '/kv/K?local=true', {}, undefined],
      ['PUT', '/kv/K', { 'content-type': 'application/json' }, '{"a":1}'],
      ['GET', '/kv/K', {}, undefined],
      ['PUT', '/kv/K', { 'content-type': 'application/json' }, '{"a":'],
      ['PUT', '/kv/K?w=9', { 'content-type': 'text/plain' }, 'x'],
      ['GET', '/kv/K?r=zero', {}, undefined],
      ['PUT', '/kv/K', { 'content-type': 'text/plain', 'x-context': 'not-a-context!' }, 'x'],
      ['DELETE', '/kv/K', {}, undefined],
      ['GET', '/kv/K', {}, undefined],
    ];
    for (const [method, path, headers, body] of script) {
      const fast = await viaSocket(method, path.replace('/kv/K', '/kv/fast'), headers, body);
      const slow = await viaFastify(method, path.replace('/kv/K', '/kv/slow'), headers, body);
      expect({ what: `${method} ${path}`, status: fast.status, headers: fast.headers }).toEqual({ what: `${method} ${path}`, status: slow.status, headers: slow.headers });
      if (fast.status >= 400) expect(JSON.parse(fast.body).error.code).toBe(JSON.parse(slow.body).error.code);
      else {
        // Write times differ between the two keys; everything else must be identical.
        const norm = (b: string, key: string): string => b.replaceAll(key, 'K').replace(/"writtenAtMs":\d+/g, '"writtenAtMs":0');
        expect(norm(fast.body, 'fast')).toBe(norm(slow.body, 'slow'));
      }
    }
  });

  it('leaves unusual requests to Fastify, which still answers them', async () => {
    expect((await viaSocket('PUT', '/kv/caf%C3%A9', { 'content-type': 'text/plain' }, 'v')).status).toBe(200);
    const got = await viaSocket('GET', '/kv/caf%C3%A9');
    expect(got.body).toBe('v');
    // A repeated parameter: refused with the route's own validation error, not served by the hot path.
    const repeated = await viaSocket('GET', '/kv/caf%C3%A9?r=1&r=2');
    expect(repeated.status).toBe(400);
    expect(JSON.parse(repeated.body).error.code).toBe('KV_BAD_REQUEST');
    expect((await viaSocket('GET', '/kv/caf%C3%A9?r=1&unknown=1')).status).toBe(200);
  });

  it('refuses a body over the value limit with 413 KV_PAYLOAD_TOO_LARGE, declared or streamed', async () => {
    const limit = c.nodes[0]!.node.config.valueBytesMax;
    const big = 'x'.repeat(limit + 1);
    const declared = await viaSocket('PUT', '/kv/big', { 'content-type': 'text/plain' }, big);
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body).error.code).toBe('KV_PAYLOAD_TOO_LARGE');
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i <= limit; i += 65_536) controller.enqueue(new Uint8Array(Math.min(65_536, limit + 1 - i)).fill(120));
        controller.close();
      },
    });
    const streamed = await fetch(`${c.url(0)}/kv/big`, { method: 'PUT', body: chunks, duplex: 'half' } as RequestInit);
    expect(streamed.status).toBe(413);
    expect((await viaSocket('GET', '/kv/big')).status).toBe(404);
  });

  it('counts its requests in /metrics like any other', async () => {
    const count = async (): Promise<number> => {
      const text = await (await fetch(`${c.url(0)}/metrics`)).text();
      return Number(/nosqldb_http_requests_total\{node="n1",op="put",status="200"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    const before = await count();
    for (let i = 0; i < 5; i++) expect((await viaSocket('PUT', `/kv/m${i}`, { 'content-type': 'text/plain' }, 'v')).status).toBe(200);
    expect(await count()).toBe(before + 5);
  });
});
