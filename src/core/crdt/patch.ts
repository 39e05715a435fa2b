/**
 * Parsing PATCH bodies into field ops (CONTRACT.md §3, "Field updates").
 *
 *   {"f":{"$inc":n}}        counter   n a safe integer, may be negative or 0 (0 creates the field)
 *   {"f":{"$set":v}}, {"f":v} register v any JSON value (a plain object without `$` keys is a value)
 *   {"f":{"$unset":true}}   register  removes the field (a tombstone; LWW against concurrent sets)
 *   {"f":{"$add":v}}        set       v a JSON scalar, or an array of scalars = several elements
 *   {"f":{"$remove":v}}     set       same forms
 *
 * Set elements are scalars only (string, finite number, boolean, null), compared by canonical
 * JSON text: scalars have one canonical text, so no key-order rules are needed, and an array
 * argument can unambiguously mean "these elements". An operator object holds exactly one
 * operator and nothing else. Top-level names starting with `$` are reserved.
 *
 * Parsing never assigns untrusted names into objects (ops are a list; names are strings), so
 * `__proto__`, `constructor` and `prototype` are ordinary field names.
 */
import { KvError } from '../errors.ts';
import {
  canonicalScalar,
  checkJsonValue,
  describe,
  isJsonScalar,
  isPlainObject,
} from './json-value.ts';
import {
  fieldNameCharsMax,
  patchOpsMax,
  registerDepthMax,
  setElementCharsMax,
  setElementsMax,
} from './limits.ts';
import { compareStrings } from './or-set.ts';

export type FieldOp =
  | { readonly kind: 'inc'; readonly field: string; readonly by: number }
  | { readonly kind: 'set'; readonly field: string; readonly json: string }
  | { readonly kind: 'unset'; readonly field: string }
  | { readonly kind: 'add'; readonly field: string; readonly elements: readonly string[] }
  | { readonly kind: 'remove'; readonly field: string; readonly elements: readonly string[] };

/** A validated patch: at most one op per field, ordered by field name. */
export interface Patch {
  readonly ops: readonly FieldOp[];
}

export type FieldType = 'counter' | 'register' | 'set';

export const OPERATORS = ['$inc', '$set', '$unset', '$add', '$remove'] as const;
export type Operator = (typeof OPERATORS)[number];
const operatorSet: ReadonlySet<string> = new Set(OPERATORS);

export function opFieldType(op: FieldOp): FieldType {
  switch (op.kind) {
    case 'inc':
      return 'counter';
    case 'set':
    case 'unset':
      return 'register';
    case 'add':
    case 'remove':
      return 'set';
  }
}

export function opOperator(op: FieldOp): Operator {
  return `$${op.kind}`;
}

/**
 * True when a PUT body must be treated as a PATCH: a JSON object with at least one field
 * whose value is an object holding a known operator. Unknown `$` keys (e.g. Mongo's
 * `$numberDecimal`) do not count, so such documents are still stored as plain values.
 */
export function isOperatorBody(body: unknown): boolean {
  if (!isPlainObject(body)) return false;
  for (const name of Object.keys(body)) {
    const value = body[name];
    if (isPlainObject(value) && Object.keys(value).some((k) => operatorSet.has(k))) return true;
  }
  return false;
}

export function parsePatch(body: unknown): Patch {
  if (!isPlainObject(body)) {
    throw new KvError('KV_BAD_REQUEST', 'a patch must be a JSON object of field updates', {
      got: describe(body),
    });
  }
  const names = Object.keys(body);
  if (names.length === 0)
    throw new KvError('KV_BAD_REQUEST', 'a patch must update at least one field');
  if (names.length > patchOpsMax) {
    throw new KvError('KV_PAYLOAD_TOO_LARGE', `a patch may update at most ${patchOpsMax} fields`, {
      fields: names.length,
      patchOpsMax,
    });
  }
  const ops = names.sort(compareStrings).map((field) => parseFieldOp(field, body[field]));
  return { ops };
}

export function checkFieldName(field: string): void {
  if (field.length === 0 || field.length > fieldNameCharsMax) {
    throw new KvError('KV_BAD_REQUEST', `field names are 1..${fieldNameCharsMax} characters`, {
      field: field.slice(0, 64),
    });
  }
  if (field.startsWith('$')) {
    throw new KvError('KV_BAD_REQUEST', 'field names starting with "$" are reserved', {
      field: field.slice(0, 64),
    });
  }
}

function parseFieldOp(field: string, value: unknown): FieldOp {
  checkFieldName(field);
  if (!isPlainObject(value)) return { kind: 'set', field, json: registerJson(field, value) };
  const keys = Object.keys(value);
  const dollar = keys.filter((k) => k.startsWith('$'));
  if (dollar.length === 0) return { kind: 'set', field, json: registerJson(field, value) };
  if (keys.length !== 1) {
    throw new KvError(
      'KV_BAD_REQUEST',
      'an operator object holds exactly one operator and nothing else',
      {
        field,
        keys: keys.slice(0, 8),
      },
    );
  }
  const operator = keys[0] as string;
  const arg = value[operator];
  switch (operator) {
    case '$inc':
      if (typeof arg !== 'number' || !Number.isSafeInteger(arg)) {
        throw new KvError('KV_BAD_REQUEST', '$inc takes a safe integer', {
          field,
          operator,
          got: describe(arg),
        });
      }
      return { kind: 'inc', field, by: arg === 0 ? 0 : arg };
    case '$set':
      return { kind: 'set', field, json: registerJson(field, arg) };
    case '$unset':
      if (arg !== true)
        throw new KvError('KV_BAD_REQUEST', '$unset takes true', {
          field,
          operator,
          got: describe(arg),
        });
      return { kind: 'unset', field };
    case '$add':
    case '$remove':
      return {
        kind: operator === '$add' ? 'add' : 'remove',
        field,
        elements: setElementsOf(field, operator, arg),
      };
    default:
      throw new KvError('KV_BAD_REQUEST', `unknown operator ${operator.slice(0, 32)}`, {
        field,
        operator: operator.slice(0, 32),
        operators: [...OPERATORS],
      });
  }
}

function registerJson(field: string, value: unknown): string {
  checkJsonValue(value, registerDepthMax, { field });
  return JSON.stringify(value);
}

function setElementsOf(field: string, operator: string, arg: unknown): string[] {
  const items: readonly unknown[] = Array.isArray(arg) ? arg : [arg];
  if (items.length > setElementsMax) {
    throw new KvError('KV_PAYLOAD_TOO_LARGE', `a set holds at most ${setElementsMax} elements`, {
      field,
      operator,
      setElementsMax,
    });
  }
  const out = new Set<string>();
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (!isJsonScalar(item)) {
      throw new KvError(
        'KV_BAD_REQUEST',
        `${operator} takes a JSON scalar or an array of scalars`,
        {
          field,
          operator,
          got: describe(item),
        },
      );
    }
    const text = canonicalScalar(item);
    if (text.length > setElementCharsMax) {
      throw new KvError(
        'KV_PAYLOAD_TOO_LARGE',
        `set elements are at most ${setElementCharsMax} characters of JSON`,
        {
          field,
          operator,
          setElementCharsMax,
        },
      );
    }
    out.add(text);
  }
  return [...out].sort(compareStrings);
}

/**
 * A short fingerprint of a patch (32-bit FNV-1a of its canonical text, 8 hex digits), stored
 * with an idempotency key to notice a key reused for a different patch. Collisions only
 * matter for such misuse, and are 1 in 2^32 there.
 */
export function patchFingerprint(patch: Patch): string {
  const text = JSON.stringify(patch.ops);
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, '0');
}
