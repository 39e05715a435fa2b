import type { FastifyInstance } from 'fastify';
import { KvError } from '../core/errors.ts';
import type { KvNode } from '../node/kv-node.ts';
import type { AntiEntropy, RunOptions } from '../node/anti-entropy.ts';
import { parseJsonBody } from './request-validation.ts';

/** Levels `GET /admin/merkle` returns when `depth` is not given: root to 16 nodes, what the UI draws. */
const MERKLE_LEVELS_DEFAULT = 5;

function integerParam(
  raw: string | undefined,
  field: string,
  min: number,
  max: number,
): number | undefined {
  if (raw === undefined) return undefined;
  const v = /^[0-9]{1,7}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new KvError('KV_BAD_REQUEST', `${field} must be an integer from ${min} to ${max}`, {
      field,
      value: raw.slice(0, 64),
    });
  }
  return v;
}

/**
 * `GET /admin/merkle` (this node's trees, for the UI and for comparing replicas) and
 * `POST /admin/anti-entropy` (run an exchange round now; body `{"partition":I,"peer":"n2"}`,
 * both optional). CONTRACT §3.
 */
export function registerAntiEntropyRoutes(
  app: FastifyInstance,
  node: KvNode,
  ae: AntiEntropy,
): void {
  app.get('/admin/merkle', async (req) => {
    const q = req.query as Record<string, string | undefined>;
    const partition = integerParam(q.partition, 'partition', 0, node.config.partitions - 1);
    const depth = integerParam(q.depth, 'depth', 1, ae.depth + 1);
    if (partition === undefined) return { roots: ae.roots() };
    const pt = ae.tree(partition);
    if (pt === undefined) {
      throw new KvError('KV_NOT_FOUND', `${node.id} does not hold partition ${partition}`, {
        partition,
        replicas: ae.replicasOf(partition),
      });
    }
    return {
      partition,
      root: pt.tree.rootHex(),
      keys: pt.keyCount,
      levels: pt.tree.levels(depth ?? Math.min(MERKLE_LEVELS_DEFAULT, ae.depth + 1)),
    };
  });

  app.post('/admin/anti-entropy', async (req) => {
    const body =
      req.body instanceof Uint8Array && req.body.byteLength > 0 ? parseJsonBody(req.body) : {};
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new KvError(
        'KV_BAD_REQUEST',
        'body must be a JSON object {"partition":I,"peer":"ID"}',
        { field: 'body' },
      );
    }
    const { partition, peer } = body as { partition?: unknown; peer?: unknown };
    let options: RunOptions = { trigger: 'manual' };
    if (partition !== undefined && partition !== null) {
      if (
        typeof partition !== 'number' ||
        !Number.isInteger(partition) ||
        partition < 0 ||
        partition >= node.config.partitions
      ) {
        throw new KvError(
          'KV_BAD_REQUEST',
          `partition must be an integer from 0 to ${node.config.partitions - 1}`,
          { field: 'partition' },
        );
      }
      if (ae.tree(partition) === undefined)
        throw new KvError('KV_BAD_REQUEST', `${node.id} does not hold partition ${partition}`, {
          field: 'partition',
        });
      options = { ...options, partition };
    }
    if (peer !== undefined && peer !== null) {
      if (typeof peer !== 'string' || !node.view.members.has(peer) || peer === node.id) {
        throw new KvError('KV_BAD_REQUEST', 'peer must be the id of another member', {
          field: 'peer',
        });
      }
      if (options.partition !== undefined && !ae.replicasOf(options.partition).includes(peer)) {
        throw new KvError(
          'KV_BAD_REQUEST',
          `${peer} is not a replica of partition ${options.partition}`,
          { field: 'peer' },
        );
      }
      options = { ...options, peer };
    }
    return ae.run(options);
  });
}
