/**
 * Errors as data: every failure a client can see has a stable `KV_*` code and one HTTP status.
 * Messages may change between versions; codes never do (docs/ERRORS.md lists them).
 */

export const ERROR_STATUS = {
  KV_BAD_REQUEST: 400,
  KV_UNAUTHORIZED: 401,
  KV_NOT_FOUND: 404,
  KV_TYPE_MISMATCH: 409,
  KV_TOO_MANY_SIBLINGS: 409,
  KV_PAYLOAD_TOO_LARGE: 413,
  KV_UNSUPPORTED_MEDIA_TYPE: 415,
  KV_INTERNAL: 500,
  KV_QUORUM_NOT_MET: 503,
  KV_OVERLOADED: 503,
  KV_UNAVAILABLE: 503,
  KV_STORAGE_IO: 507,
  KV_TIMEOUT: 504,
} as const;

export type KvErrorCode = keyof typeof ERROR_STATUS;

/** Codes a client may retry as they are (the request may or may not have taken effect). */
export const RETRYABLE: ReadonlySet<KvErrorCode> = new Set<KvErrorCode>([
  'KV_QUORUM_NOT_MET',
  'KV_OVERLOADED',
  'KV_UNAVAILABLE',
  'KV_TIMEOUT',
]);

export class KvError extends Error {
  readonly code: KvErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: KvErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'KvError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }

  toJSON(): { error: { code: KvErrorCode; message: string; details: Record<string, unknown> } } {
    return { error: { code: this.code, message: this.message, details: { ...this.details } } };
  }
}

export function isKvError(e: unknown): e is KvError {
  return e instanceof KvError;
}
