import type { FastifyInstance } from 'fastify';
import type { FaultyTransport } from '../transport/faulty-transport.ts';
import { parseFaultSpec } from '../transport/faulty-transport.ts';
import type { FaultSpec } from '../transport/fault-spec.ts';
import type { KvNode } from '../node/kv-node.ts';
import type { PeerMessage } from '../node/peer-messages.ts';
import { parseClockSkew, type SkewableClock } from './clock-skew.ts';
import { parseJsonBody } from './request-validation.ts';

/** Everything injected on one node: its peer traffic (the transport's spec) and its clock. */
export type NodeFaults = FaultSpec & { clockSkewMs?: number };

/**
 * `POST /admin/faults` / `DELETE /admin/faults`: cut, slow and heal this node's peer traffic,
 * and skew its clock (`clockSkewMs`, see clock-skew.ts). A POST replaces the whole set — a
 * field left out is healed — and is validated entirely before anything changes, so a bad body
 * (400 `KV_BAD_REQUEST`) leaves the faults as they were.
 */
export function registerFaultRoutes(app: FastifyInstance, node: KvNode, faults: FaultyTransport<PeerMessage>, clock: SkewableClock): void {
  const current = faultsReport(faults, clock);
  // Stamped with the node's own (possibly skewed) clock, like every other event it emits.
  const announce = (): void => node.events.emit({ type: 'faults', node: node.id, atMs: clock.now(), faults: current() });

  app.post('/admin/faults', async (req) => {
    const body = parseJsonBody(req.body instanceof Uint8Array ? req.body : new Uint8Array(0));
    let skewMs = 0;
    let network = body;
    if (typeof body === 'object' && body !== null && !Array.isArray(body) && 'clockSkewMs' in body) {
      const { clockSkewMs, ...rest } = body as Record<string, unknown>;
      skewMs = parseClockSkew(clockSkewMs);
      network = rest;
    }
    const spec = parseFaultSpec(network);
    faults.setFaults(spec);
    clock.skewMs = skewMs;
    announce();
    return { faults: current() };
  });
  app.delete('/admin/faults', async () => {
    faults.clearFaults();
    clock.skewMs = 0;
    announce();
    return { faults: current() };
  });
  app.get('/admin/faults', async () => ({ faults: current() }));
}

/** What `/admin/status` reports under `faults`: the same shape `GET /admin/faults` answers. */
export function faultsReport(faults: FaultyTransport<PeerMessage>, clock: SkewableClock): () => NodeFaults {
  return () => ({ ...faults.faults(), ...(clock.skewMs !== 0 ? { clockSkewMs: clock.skewMs } : {}) });
}
