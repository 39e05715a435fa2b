import type { FastifyInstance } from 'fastify';
import { KvError } from '../core/errors.ts';
import { DemoAutoSync } from './demo-auto-sync.ts';
import { DemoBurst, parseBurstConfig } from './demo-burst.ts';
import { DemoLive } from './demo-live.ts';
import { compareMerkle } from './demo-merkle-compare.ts';
import type { LabController } from './lab-controller.ts';
import { registerNodeProxy } from './node-proxy.ts';

/**
 * The TweetStats and InventorySync demos' server side (issues 8 and 11), on top of the node
 * proxy (`/api/nodes/:id/kv/*`, node-proxy.ts):
 *
 * | request | result |
 * |---|---|
 * | `WS /api/demo/live` | send `{"watch":{"keys":[…],"reads":[{key,node,r}],"merkle":true}}`; get `LiveSnapshot`s (demo-types.ts) |
 * | `POST /api/demo/burst` `{"key":"tweet/hello","field":"likes","rate":50,"durationS":10,"w":2}` | start a burst of increments; its status comes on the live socket |
 * | `GET /api/demo/burst` | the current or last burst |
 * | `GET /api/demo/merkle-compare?a=n1&b=n2&keys=k1,k2` | two nodes' trees compared down to the keys |
 * | `POST /api/demo/auto-sync` `{"on":true}` | the Lab's automatic anti-entropy switch |
 * | `POST /api/demo/sync` | one anti-entropy round on every running node now; their reports |
 */
export function registerDemoRoutes(app: FastifyInstance, lab: LabController): void {
  registerNodeProxy(app, lab);
  const live = new DemoLive(lab);
  const burst = new DemoBurst(lab, live);
  const autoSync = new DemoAutoSync(lab);
  live.burst = () => burst.status();
  live.autoSync = () => autoSync.status();
  live.attach(app);
  app.addHook('onClose', async () => {
    burst.close();
    autoSync.close();
  });

  app.post('/api/demo/burst', async (req, reply) => reply.code(202).send({ burst: await burst.start(parseBurstConfig(req.body)) }));
  app.get('/api/demo/burst', async () => ({ burst: burst.status() }));
  app.get('/api/demo/merkle-compare', async (req) => {
    const q = req.query as Record<string, string | undefined>;
    const keys = (q.keys ?? '').split(',').filter((k) => k.length > 0);
    if (keys.length === 0) throw new KvError('KV_BAD_REQUEST', 'keys must list at least one key', { field: 'keys' });
    return compareMerkle(lab, live, q.a ?? '', q.b ?? '', keys);
  });
  app.post('/api/demo/auto-sync', async (req) => {
    const on = (req.body as { on?: unknown } | null)?.on;
    if (typeof on !== 'boolean') throw new KvError('KV_BAD_REQUEST', 'expected {"on":true|false}', { field: 'on' });
    return { autoSync: autoSync.set(on) };
  });
  app.post('/api/demo/sync', async () => {
    lab.events.lab('demo.manual-sync', {});
    return { reports: await autoSync.runNow() };
  });
}
