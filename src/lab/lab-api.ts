import type { FastifyInstance } from 'fastify';
import { KvError } from '../core/errors.ts';
import { parseLinks, parsePartition, parseSkew } from './fault-plan.ts';
import type { LabController } from './lab-controller.ts';
import { parseTrafficConfig } from './traffic.ts';

/**
 * The Lab's control API (CONTRACT §4, plus the Lab's own extensions), all JSON:
 *
 * | request | result |
 * |---|---|
 * | `GET /api/cluster` | `{"nodes":[{id,url,zone,process,health,reachable,seenBy,keys,…}]}` |
 * | `GET /api/state` | everything the dashboard renders (nodes, ring, chart series, faults, traffic, checker, convergence) |
 * | `POST /api/nodes/:id/kill` / `…/restart` | SIGKILL the process / start it again on its data |
 * | `POST /api/nodes` `{"zone":"eu"}` (body optional) | add `n{max+1}` on the next port; it joins (201) |
 * | `DELETE /api/nodes/:id` | decommission: it leaves (hands data over), then stops (202) |
 * | `POST /api/partition` `{"groups":[["n1","n2"],["n3"]]}` | cut the network between groups; nodes in no group form one more group |
 * | `POST /api/links` `{"links":[{"a":"n1","b":"n3","cut":true},{"a":"n1","b":"n2","delayMs":80}],"loss":{"n2":0.1}}` | replace single-link cuts/delays and per-node message loss |
 * | `POST /api/nodes/:id/skew` `{"clockSkewMs":3600000}` | set the node's clock that many ms off (0 sets it right); `400` outside ±1 day |
 * | `POST /api/heal` | restore everything (groups, links, loss, clocks); starts a convergence measurement |
 * | `POST /api/traffic/start` `{"rate":20,"readRatio":0.5,"keys":10,"r":2,"w":2}` / `POST /api/traffic/stop` | the load generator |
 * | `GET /api/run` (`?download=1`) | the recorded run (`LabRun`, format `nosqldb-lab-run/2`): history, events, faults, convergence, checker, and the series the replay page needs |
 * | `WS /api/events` | merged event stream of all nodes and the Lab |
 *
 * With an admin token, every route here and every WebSocket needs it (lab-server.ts, socket-auth.ts).
 */
export function registerLabApi(app: FastifyInstance, lab: LabController): void {
  const idOf = (params: unknown): string => {
    const id = (params as { id?: string }).id ?? '';
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new KvError('KV_BAD_REQUEST', 'node id must be 1..64 letters, digits, _ or -', { field: 'id' });
    return id;
  };

  app.get('/api/cluster', async () => ({ nodes: lab.monitor.nodes(), ring: lab.monitor.ring(), plan: lab.plan() }));
  app.get('/api/state', async () => lab.state());

  app.post('/api/nodes/:id/kill', async (req) => ({ node: await lab.kill(idOf(req.params)) }));
  app.post('/api/nodes/:id/restart', async (req) => ({ node: await lab.restart(idOf(req.params)) }));
  app.post('/api/nodes', async (req, reply) => {
    const body = req.body ?? {};
    if (typeof body !== 'object' || Array.isArray(body)) throw new KvError('KV_BAD_REQUEST', 'expected a JSON object {"zone":"…"} or no body');
    const { zone, ...rest } = body as Record<string, unknown>;
    if (Object.keys(rest).length > 0) throw new KvError('KV_BAD_REQUEST', `unknown field ${JSON.stringify(Object.keys(rest)[0])}`, { field: Object.keys(rest)[0] });
    if (zone !== undefined && (typeof zone !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(zone))) throw new KvError('KV_BAD_REQUEST', 'zone must be 1..64 letters, digits, . _ or -', { field: 'zone' });
    return reply.code(201).send({ node: await lab.add(zone as string | undefined) });
  });
  app.delete('/api/nodes/:id', async (req, reply) => reply.code(202).send({ node: await lab.decommission(idOf(req.params)) }));

  app.post('/api/partition', async (req) => ({ plan: await lab.partition(parsePartition(req.body, lab.nodeIds())) }));
  app.post('/api/links', async (req) => {
    const { links, loss } = parseLinks(req.body, lab.nodeIds());
    return { plan: await lab.setLinks(links, loss) };
  });
  app.post('/api/nodes/:id/skew', async (req) => {
    const id = idOf(req.params);
    return { plan: await lab.skew(id, parseSkew(req.body)) };
  });
  app.post('/api/heal', async () => ({ plan: await lab.heal() }));

  app.post('/api/traffic/start', async (req) => {
    const n = lab.monitor.ring()?.n ?? 3;
    lab.startTraffic(parseTrafficConfig(req.body, lab.traffic.status().config, n));
    return { traffic: lab.traffic.status() };
  });
  app.post('/api/traffic/stop', async () => {
    await lab.stopTraffic();
    return { traffic: lab.traffic.status() };
  });

  app.get('/api/run', async (req, reply) => {
    if ((req.query as Record<string, string | undefined>).download === '1') {
      reply.header('Content-Disposition', `attachment; filename="nosqldb-lab-run-${new Date().toISOString().replace(/[:.]/g, '-')}.json"`);
    }
    return lab.exportRun();
  });
}
