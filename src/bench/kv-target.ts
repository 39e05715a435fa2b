import type { BenchTarget, RequestSpec } from './target.ts';
import { errorLabel } from './target.ts';
import { keyName } from './key-chooser.ts';
import type { OpKind } from './workload.ts';

export interface KvTargetOptions {
  readonly name?: string;
  readonly urls: readonly string[];
  readonly keys: number;
  readonly valueBytes: number;
  /** `r`/`w` query values (`1`..`N`, `quorum`, …); omitted = the node's defaults. */
  readonly r?: string | undefined;
  readonly w?: string | undefined;
  /** Blind writes (no `X-Context`): every write becomes a sibling of the versions it did not see. */
  readonly blind?: boolean;
}

/** Counters live apart from the byte values, so a `$inc` never meets a plain value. */
const COUNTER_PREFIX = 'bench-counter/';
const COUNTER_BODY = Buffer.from('{"n":{"$inc":1}}');

/**
 * nosql-db's `/kv` API. Writes carry the context of the last version this benchmark saw of the
 * key, as a Riak-style client does, so they supersede it instead of piling up siblings (a blind
 * writer would reach the sibling bound on hot keys); `--blind` turns that off.
 */
export function kvTarget(options: KvTargetOptions): BenchTarget {
  const value = Buffer.alloc(options.valueBytes, 'v');
  const contexts = new Map<number, string>();
  const names = new Map<number, string>();
  const rq = options.r ? `?r=${encodeURIComponent(options.r)}` : '';
  const wq = options.w ? `?w=${encodeURIComponent(options.w)}` : '';
  const pathOf = (key: number): string => {
    let name = names.get(key);
    if (name === undefined) {
      name = `/kv/${keyName(key, options.keys)}`;
      names.set(key, name);
    }
    return name;
  };
  return {
    name: options.name ?? 'nosql-db',
    urls: options.urls,
    supports: () => true,
    request(kind: OpKind, key: number): RequestSpec {
      switch (kind) {
        case 'read':
          return { method: 'GET', path: pathOf(key) + rq, headers: {}, body: null };
        case 'write': {
          const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
          const context = options.blind ? undefined : contexts.get(key);
          if (context !== undefined) headers['x-context'] = context;
          return { method: 'PUT', path: pathOf(key) + wq, headers, body: value };
        }
        case 'counter':
          return {
            method: 'PATCH',
            path: `/kv/${COUNTER_PREFIX}${key}${wq}`,
            headers: { 'content-type': 'application/json' },
            body: COUNTER_BODY,
          };
      }
    },
    outcome(kind, key, status, headers, body) {
      if (status !== 200 && status !== 300) return errorLabel(status, body);
      if (options.blind) return null;
      if (kind === 'write') {
        const context = contextOfWriteReply(body);
        if (context !== null) contexts.set(key, context);
      } else if (kind === 'read') {
        const context = headers['x-context'];
        if (typeof context === 'string') contexts.set(key, context);
      }
      return null;
    },
  };
}

/** `{"context":"…",…}` → the context, without a full parse (this runs per request). */
function contextOfWriteReply(body: Buffer): string | null {
  const text = body.toString('latin1');
  const at = text.indexOf('"context":"');
  if (at < 0) return null;
  const from = at + 11;
  const to = text.indexOf('"', from);
  return to < 0 ? null : text.slice(from, to);
}
