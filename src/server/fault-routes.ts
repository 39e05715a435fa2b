import type { FastifyInstance } from 'fastify';
import type { FaultyTransport } from '../transport/faulty-transport.ts';
import { parseFaultSpec } from '../transport/faulty-transport.ts';
import type { KvNode } from '../node/kv-node.ts';
import type { PeerMessage } from '../node/peer-messages.ts';
import { parseJsonBody } from './request-validation.ts';

/** `POST /admin/faults` / `DELETE /admin/faults`: cut and heal this node's peer traffic. */
export function registerFaultRoutes(app: FastifyInstance, node: KvNode, faults: FaultyTransport<PeerMessage>): void {
  app.post('/admin/faults', async (req) => {
    const body = req.body instanceof Uint8Array ? req.body : new Uint8Array(0);
    const spec = parseFaultSpec(parseJsonBody(body));
    faults.setFaults(spec);
    node.events.emit({ type: 'faults', node: node.id, atMs: Date.now(), faults: spec });
    return { faults: faults.faults() };
  });
  app.delete('/admin/faults', async () => {
    faults.clearFaults();
    node.events.emit({ type: 'faults', node: node.id, atMs: Date.now(), faults: {} });
    return { faults: faults.faults() };
  });
  app.get('/admin/faults', async () => ({ faults: faults.faults() }));
}
