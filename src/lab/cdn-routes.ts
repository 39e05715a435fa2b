import type { FastifyInstance } from 'fastify';
import { KvError } from '../core/errors.ts';
import { partitionOfHash } from '../core/hash.ts';
import { oneWayDelayMs, regionOf } from './cdn-regions.ts';
import { CdnService, cleanName, FILE_BYTES_MAX, preferenceOf } from './cdn-service.ts';
import type { LabController } from './lab-controller.ts';
import type { LinkFault } from './lab-types.ts';

/**
 * GlobalCDN's routes (issue 10):
 *
 * | request | result |
 * |---|---|
 * | `PUT /api/cdn/files/:name` raw bytes, any content type (≤ 1 MiB) | stored as `cdn/<name>` through a node; `{file}` with its hash, preference list and holders |
 * | `GET /api/cdn/files/:name/content` | the bytes back (quorum read), with their content type |
 * | `DELETE /api/cdn/files/:name` | deletes the file |
 * | `GET /api/cdn/files?offset=&limit=` | the catalogue page: each file's hash, partition, preference list, holders (`?local=true`) |
 * | `GET /api/cdn/summary` | counts, per-node load, generator and migration progress (no file list) |
 * | `POST /api/cdn/generate` `{"count":1000}` | synthetic files, made by the server (202) |
 * | `POST /api/cdn/scan` | re-checks which node holds what now |
 * | `POST /api/cdn/nodes` `{"zone":"sa-east"}` / `DELETE /api/cdn/nodes/:id` | add / remove a node, measuring the migration (202) |
 * | `POST /api/cdn/rebalance` | an anti-entropy exchange on every node, then a scan |
 * | `POST /api/cdn/wan` `{"enabled":true}` | per-link delays between nodes from their regions' distance |
 * | `GET /api/cdn/route?name=&client=` | a request from a client location to each replica: simulated WAN + measured |
 */
export function registerCdnRoutes(app: FastifyInstance, lab: LabController): CdnService {
  const cdn = new CdnService(lab);
  let lastInterest = 0;
  const interested = (): void => {
    lastInterest = Date.now();
  };
  // While a browser watches, re-scan now and then so ✅ marks and load bars follow the cluster.
  const timer = setInterval(() => {
    if (Date.now() - lastInterest < 10_000 && cdn.files().length > 0 && !cdn.migrations().some((m) => m.phase !== 'done' && m.phase !== 'failed') && !cdn.generateProgress().running) void cdn.scan();
  }, 4000);
  app.addHook('onClose', async () => {
    clearInterval(timer);
    cdn.close();
  });

  const describe = (name: string): Record<string, unknown> | null => {
    const f = cdn.files().find((x) => x.name === name);
    if (!f) return null;
    const ring = lab.monitor.ring();
    return { ...f, partition: ring ? partitionOfHash({ hi: f.hashHi, lo: f.hashLo }, ring.partitions.length) : null, preferenceList: ring ? preferenceOf(ring, f) : [], holders: cdn.holders(name) };
  };

  // Raw bytes of any content type, in a scope of their own so the Lab's JSON parsing elsewhere is untouched.
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: FILE_BYTES_MAX }, (_req, body, done) => done(null, body));
    scope.put('/api/cdn/files/:name', { bodyLimit: FILE_BYTES_MAX }, async (req) => {
      const name = cleanName((req.params as { name: string }).name);
      const body = req.body;
      if (!Buffer.isBuffer(body)) throw new KvError('KV_BAD_REQUEST', 'send the file bytes as the request body');
      const via = (req.query as Record<string, string | undefined>).node;
      const f = await cdn.put(name, new Uint8Array(body.buffer, body.byteOffset, body.byteLength), req.headers['content-type'] ?? 'application/octet-stream', via);
      await cdn.scan([f.name]);
      lab.events.lab('cdn.upload', { name: f.name, bytes: f.size, hash: f.hash });
      return { file: describe(f.name) };
    });
  });

  app.get('/api/cdn/files/:name/content', async (req, reply) => {
    const name = cleanName((req.params as { name: string }).name);
    const { bytes, contentType, node } = await cdn.read(name, (req.query as Record<string, string | undefined>).node);
    reply.header('content-type', contentType).header('x-served-by', node);
    if ((req.query as Record<string, string | undefined>).download === '1') reply.header('content-disposition', `attachment; filename="${name}"`);
    return reply.send(Buffer.from(bytes));
  });

  app.delete('/api/cdn/files/:name', async (req) => {
    await cdn.remove(cleanName((req.params as { name: string }).name));
    return { ok: true };
  });

  app.get('/api/cdn/files', async (req) => {
    interested();
    const q = req.query as Record<string, string | undefined>;
    const offset = Math.max(0, Number(q.offset ?? 0) || 0);
    const limit = Math.min(2000, Math.max(1, Number(q.limit ?? 100) || 100));
    const ring = lab.monitor.ring();
    const all = cdn.files().sort((a, b) => b.addedAtMs - a.addedAtMs || (a.name < b.name ? -1 : 1));
    const files = all.slice(offset, offset + limit).map((f) => ({ ...f, preferenceList: ring ? preferenceOf(ring, f) : [], holders: cdn.holders(f.name) }));
    return { total: all.length, offset, files, scanAtMs: cdn.lastScanAtMs() };
  });

  app.get('/api/cdn/summary', async () => {
    interested();
    const files = cdn.files();
    return {
      files: files.length,
      bytes: files.reduce((s, f) => s + f.size, 0),
      loads: cdn.loads(),
      generate: cdn.generateProgress(),
      migrations: cdn.migrations(),
      scanAtMs: cdn.lastScanAtMs(),
      fileBytesMax: FILE_BYTES_MAX,
      // Where each file sits on the ring, compact (the ring view places a dot per file).
      points: files.map((f) => [f.name, f.hashHi]),
    };
  });

  app.post('/api/cdn/generate', async (req, reply) => {
    const count = Number(((req.body ?? {}) as Record<string, unknown>).count ?? 1000);
    if (!Number.isInteger(count) || count < 1 || count > 2000) throw new KvError('KV_BAD_REQUEST', 'count must be an integer from 1 to 2000', { field: 'count' });
    return reply.code(202).send({ generate: cdn.generate(count) });
  });

  app.post('/api/cdn/scan', async () => {
    await cdn.scan();
    return { scanAtMs: cdn.lastScanAtMs() };
  });

  app.post('/api/cdn/discover', async () => ({ found: await cdn.discover() }));

  app.post('/api/cdn/nodes', async (req, reply) => {
    const zone = ((req.body ?? {}) as Record<string, unknown>).zone;
    if (typeof zone !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(zone)) throw new KvError('KV_BAD_REQUEST', 'zone must be 1..64 letters, digits, . _ or -', { field: 'zone' });
    return reply.code(202).send({ migration: cdn.migrate('add', zone) });
  });

  app.delete('/api/cdn/nodes/:id', async (req, reply) => {
    const id = (req.params as { id: string }).id;
    if (!lab.cluster.nodes().some((n) => n.id === id)) throw new KvError('KV_NOT_FOUND', `no node ${id}`);
    return reply.code(202).send({ migration: cdn.migrate('remove', id) });
  });

  app.post('/api/cdn/rebalance', async () => {
    const nodes = lab.cluster.nodes().filter((n) => n.state === 'running');
    const results = await Promise.all(
      nodes.map(async (n) => {
        try {
          const res = await fetch(`${n.url}/admin/anti-entropy`, { method: 'POST', signal: AbortSignal.timeout(15_000) });
          await res.arrayBuffer();
          return res.ok;
        } catch {
          return false;
        }
      }),
    );
    await cdn.scan();
    lab.events.lab('cdn.rebalance', { nodes: nodes.map((n) => n.id) });
    return { exchanges: results.filter(Boolean).length, scanAtMs: cdn.lastScanAtMs() };
  });

  app.post('/api/cdn/wan', async (req) => {
    const enabled = ((req.body ?? {}) as Record<string, unknown>).enabled === true;
    const nodes = lab.cluster.nodes();
    const links: LinkFault[] = [];
    if (enabled) {
      for (const a of nodes)
        for (const b of nodes) {
          const ra = regionOf(a.zone);
          const rb = regionOf(b.zone);
          if (a.id < b.id && ra && rb && a.zone !== b.zone) links.push({ a: a.id, b: b.id, delayMs: oneWayDelayMs(ra, rb) });
        }
    }
    const plan = await lab.setLinks(links, {});
    return { plan };
  });

  app.get('/api/cdn/route', async (req) => {
    const q = req.query as Record<string, string | undefined>;
    return cdn.route(cleanName(q.name ?? ''), q.client ?? '');
  });

  return cdn;
}
