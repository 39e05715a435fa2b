import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/node/config.ts';
import { startNode, type RunningNode } from '../../src/server/start-node.ts';

/** Issue 14: arbitrary JSON bodies through PATCH and PUT never crash and never pollute prototypes. */
let r: RunningNode;
beforeAll(async () => {
  r = await startNode({ host: '127.0.0.1', port: 0, config: { ...DEFAULTS, id: 'j1', seeds: [], n: 1, r: 1, w: 1, antiEntropyIntervalMs: 0 } });
});
afterAll(async () => {
  await r?.close();
});

const hostileKey = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'valueOf', '$inc', '$set', '$add', '$remove', '$unset', 'polluted'), fc.string({ maxLength: 8 }));
/** JSON texts, biased towards prototype keys and operator objects. */
const jsonText = fc.oneof(
  fc.json({ maxDepth: 4 }),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc
    .array(fc.tuple(hostileKey, fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.record({ op: fc.constantFrom('$inc', '$set', '$add', '$remove', '$unset', '$x'), arg: fc.jsonValue({ maxDepth: 2 }) }).map(({ op, arg }) => ({ [op]: arg })))), { maxLength: 6 })
    .map((entries) => '{' + entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`).join(',') + '}'),
);

function clean(): void {
  expect(Object.keys(Object.prototype)).toEqual([]);
  expect((Object.prototype as Record<string, unknown>)['polluted']).toBeUndefined();
  expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
}

describe('arbitrary JSON bodies (fast-check)', () => {
  it('PUT and PATCH answer 2xx/4xx, never 5xx; a stored plain value reads back equal; Object.prototype stays clean', async () => {
    let i = 0;
    await fc.assert(
      fc.asyncProperty(jsonText, fc.constantFrom('PUT', 'PATCH'), async (body, method) => {
        const key = `prop/${i++ % 40}`;
        const res = await r.app.inject({ method, url: `/kv/${key}`, headers: { 'content-type': 'application/json' }, payload: body });
        expect(res.statusCode, `${method} ${body}`).toBeLessThan(500);
        if (method === 'PUT' && res.statusCode === 200 && !/"\$/.test(body)) {
          const back = await r.app.inject({ method: 'GET', url: `/kv/${key}?local=true` });
          if (back.statusCode === 200) expect(JSON.parse(back.body)).toEqual(JSON.parse(body));
        }
        clean();
      }),
      { numRuns: 1500 },
    );
    expect((await r.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });
});
