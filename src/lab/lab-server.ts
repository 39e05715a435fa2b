import Fastify, { type FastifyInstance } from 'fastify';
import { KvError } from '../core/errors.ts';
import type { ClusterBackend } from '../cluster/cluster-backend.ts';
import { toKvError } from '../server/kv-handlers.ts';
import { registerCollabCdnRoutes } from './collab-cdn-routes.ts';
import { registerDemoRoutes } from './demo-routes.ts';
import { registerLabApi } from './lab-api.ts';
import { LabController } from './lab-controller.ts';
import { bearerToken, guardUpgrades, tokenMatches } from './socket-auth.ts';
import { ensureWebBuilt, registerStaticFiles } from './static-files.ts';

export interface LabOptions {
  readonly cluster: ClusterBackend;
  readonly port: number;
  readonly host: string;
  /** Serve the web UI (default true; API-only tests turn it off and skip the build). */
  readonly web?: boolean;
  /** When set, `/api/*` and every WebSocket need the token (CONTRACT §3 security defaults; socket-auth.ts). */
  readonly adminToken?: string | undefined;
}

export interface RunningLab {
  readonly url: string;
  readonly lab: LabController;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

/** The Lab's HTTP server without listening: the control API, the event socket and the UI. */
export function buildLabServer(lab: LabController, options: { web: boolean; adminToken?: string | undefined }): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024, return503OnClosing: true, forceCloseConnections: true });
  app.setErrorHandler((err: unknown, _req, reply) => {
    const e = toKvError(err);
    return reply.code(e.status).send(e.toJSON());
  });
  app.setNotFoundHandler((req, reply) => {
    const e = new KvError('KV_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`, { route: true });
    return reply.code(e.status).send(e.toJSON());
  });
  const token = options.adminToken;
  if (token) {
    app.addHook('onRequest', async (req, reply) => {
      // The matched route too, not only the raw URL: `/%61pi/...` routes to `/api/...`.
      const api = req.url.startsWith('/api/') || (req.routeOptions.url?.startsWith('/api/') ?? false);
      if (api && !tokenMatches(bearerToken(req.headers.authorization), token)) {
        const e = new KvError('KV_UNAUTHORIZED', 'the Lab API needs Authorization: Bearer <admin token>');
        return reply.code(e.status).send(e.toJSON());
      }
    });
  }
  registerLabApi(app, lab);
  lab.events.attach(app);
  registerCollabCdnRoutes(app, lab);
  registerDemoRoutes(app, lab);
  // Last, once every socket route is listening: upgrades bypass the onRequest hook above.
  if (token) guardUpgrades(app.server, token);
  if (options.web) registerStaticFiles(app);
  return app;
}

/** Starts the Lab on a running cluster: `npm start` = `nosqldb lab` calls this. */
export async function startLab(options: LabOptions): Promise<RunningLab> {
  const web = options.web ?? true;
  if (web) await ensureWebBuilt();
  const lab = new LabController(options.cluster);
  const app = buildLabServer(lab, { web, adminToken: options.adminToken });
  lab.start();
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (e) {
    await lab.close();
    throw e;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const shownHost = options.host === '127.0.0.1' || options.host === '0.0.0.0' || options.host === '::' ? 'localhost' : options.host;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${shownHost}:${port}`,
    lab,
    app,
    close: () =>
      (closing ??= (async () => {
        await lab.close();
        await app.close();
      })()),
  };
}
