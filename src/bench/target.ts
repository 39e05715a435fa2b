import type { OpKind } from './workload.ts';

/** One HTTP request, ready to send. */
export interface RequestSpec {
  readonly method: 'GET' | 'PUT' | 'POST' | 'PATCH';
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer | null;
}

/** A system under test, seen through its HTTP API: how to ask it things and how to read answers. */
export interface BenchTarget {
  /** Shown in reports: `nosql-db`, `etcd`, `baseline`. */
  readonly name: string;
  /** Base URLs; connection i talks to `urls[i % urls.length]`. */
  readonly urls: readonly string[];
  readonly supports: (kind: OpKind) => boolean;
  request(kind: OpKind, key: number): RequestSpec;
  /**
   * Reads a complete response: `null` when it succeeded, else a stable error label
   * (the system's own error code when it sends one, else `HTTP_<status>`).
   */
  outcome(
    kind: OpKind,
    key: number,
    status: number,
    headers: Record<string, string | string[] | undefined>,
    body: Buffer,
  ): string | null;
}

/** `HTTP_503`-style label, or the `error.code` of a nosql-db JSON error body. */
export function errorLabel(status: number, body: Buffer): string {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { error?: { code?: unknown } };
    if (typeof parsed.error?.code === 'string') return parsed.error.code;
  } catch {
    // not JSON: fall through to the status
  }
  return `HTTP_${status}`;
}
