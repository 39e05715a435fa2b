import type { FastifyInstance } from 'fastify';
import { registerCdnRoutes } from './cdn-routes.ts';
import { attachPresence } from './collab-presence.ts';
import { registerCollabRoutes } from './collab-routes.ts';
import type { LabController } from './lab-controller.ts';

/** The CollabDocs (issue 9) and GlobalCDN (issue 10) demos' server routes; call after the event stream attaches. */
export function registerCollabCdnRoutes(app: FastifyInstance, lab: LabController): void {
  registerCollabRoutes(app, lab);
  registerCdnRoutes(app, lab);
  attachPresence(app);
}
