import type { BenchTarget, RequestSpec } from './target.ts';
import { keyName } from './key-chooser.ts';
import type { OpKind } from './workload.ts';

export interface EtcdTargetOptions {
  readonly urls: readonly string[];
  readonly keys: number;
  readonly valueBytes: number;
}

/**
 * etcd's v3 JSON gateway (grpc-gateway): `POST /v3/kv/put` and `POST /v3/kv/range` with base64
 * keys and values. Ranges are linearizable by default (a quorum read through the Raft leader),
 * puts are committed by a majority and fsynced: the same guarantees as R=2/W=2 of three.
 * etcd has no counter operation, so the `counter` workload is not offered against it.
 */
export function etcdTarget(options: EtcdTargetOptions): BenchTarget {
  const value = Buffer.alloc(options.valueBytes, 'v').toString('base64');
  const puts = new Map<number, Buffer>();
  const ranges = new Map<number, Buffer>();
  const b64 = (key: number): string => Buffer.from(keyName(key, options.keys)).toString('base64');
  const headers = { 'content-type': 'application/json' };
  return {
    name: 'etcd',
    urls: options.urls,
    supports: (kind) => kind !== 'counter',
    request(kind: OpKind, key: number): RequestSpec {
      switch (kind) {
        case 'write': {
          let body = puts.get(key);
          if (!body) puts.set(key, (body = Buffer.from(JSON.stringify({ key: b64(key), value }))));
          return { method: 'POST', path: '/v3/kv/put', headers, body };
        }
        case 'read': {
          let body = ranges.get(key);
          if (!body) ranges.set(key, (body = Buffer.from(JSON.stringify({ key: b64(key) }))));
          return { method: 'POST', path: '/v3/kv/range', headers, body };
        }
        case 'counter':
          throw new Error('etcd has no counter operation');
      }
    },
    outcome(kind, _key, status, _headers, body) {
      if (status !== 200) return etcdErrorLabel(status, body);
      // A range of a key that is not there answers 200 without "kvs".
      if (kind === 'read' && !body.includes('"kvs"')) return 'NOT_FOUND';
      return null;
    },
  };
}

/** grpc-gateway errors are `{"error":"…","code":14,"message":"…"}`: label them by gRPC code. */
function etcdErrorLabel(status: number, body: Buffer): string {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { code?: unknown };
    if (typeof parsed.code === 'number') return `GRPC_${parsed.code}`;
  } catch {
    // not JSON
  }
  return `HTTP_${status}`;
}
