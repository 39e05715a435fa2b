/**
 * JSON values as they arrive in patch bodies, validated before they enter a document.
 * Register values and set elements are kept as JSON *text* inside documents: text is
 * immutable, compares and measures cheaply, and survives msgpack unchanged (msgpackr
 * renames a `__proto__` map key, JSON.parse keeps it as a harmless own property).
 */
import { KvError } from '../errors.ts';

export type JsonScalar = null | boolean | number | string;
export type JsonValue = JsonScalar | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** A plain JSON object with string keys, as returned by JSON.parse. */
export type JsonObject = { [key: string]: JsonValue };

export function isJsonScalar(value: unknown): value is JsonScalar {
  return (
    value === null ||
    typeof value === 'boolean' ||
    typeof value === 'string' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

/** A plain object (JSON.parse output or `Object.create(null)`), not an array or class instance. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Throws KV_BAD_REQUEST unless `value` is JSON (finite numbers, plain objects, dense arrays)
 * nested at most `depthMax` deep. Recursion stops at the bound, so hostile depth is cheap.
 */
export function checkJsonValue(
  value: unknown,
  depthMax: number,
  where: Record<string, unknown>,
): void {
  walk(value, 0);

  function walk(v: unknown, depth: number): void {
    if (isJsonScalar(v)) return;
    if (depth >= depthMax) {
      throw new KvError('KV_BAD_REQUEST', `value nested deeper than ${depthMax}`, {
        ...where,
        depthMax,
      });
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) walk(v[i], depth + 1);
      return;
    }
    if (isPlainObject(v)) {
      for (const key of Object.keys(v)) walk(v[key], depth + 1);
      return;
    }
    throw new KvError('KV_BAD_REQUEST', 'value is not JSON', { ...where, got: describe(v) });
  }
}

/** Canonical text of a scalar (set elements are compared by it): `1.0` and `1` are one element, `-0` is `0`. */
export function canonicalScalar(value: JsonScalar): string {
  return JSON.stringify(value);
}

/**
 * Adds an own enumerable property without ever invoking the `__proto__` setter, so untrusted
 * names (`__proto__`, `constructor`) become ordinary keys of `target`.
 */
export function defineOwn(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return typeof v;
}
