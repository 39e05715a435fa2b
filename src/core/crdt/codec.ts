/**
 * Compact, canonical encoding of document states (and deltas, which are states) as plain
 * msgpack/JSON-friendly data: arrays of tuples, sorted, with only fixed object keys, so
 * equal states encode to equal bytes and no untrusted string ever becomes an object key.
 * Register values travel as JSON text (see json-value.ts for why).
 *
 *   { v: 1,
 *     f: [[name, counter|null, register|null, set|null], …]      ascending by name
 *          counter  [[actor, p, n], …]                          ascending by actor
 *          register [wallMs, counter, node, json|null]
 *          set      [[element, [[actor, seq], …]], …]           ascending by element, then dot
 *     c: [[actor, base, [extra, …]], …]                          causal context
 *     i: [[key, [[actor, atMs, fingerprint, [[field, n], …]], …]], …]   idempotency table
 *     x: [[key, actor, atMs, [[field, n], …]], …]                compensations
 *     a: [[actor, base, [extra, …]], …] }                        the table's causal context
 *
 * `a` may be absent (documents written before it existed): an empty context. A node stores a
 * document's table apart from the rest (one row per key, `encodeApplications`), so it encodes
 * the rest as `documentRow(state)` (an empty `i`); `decodeTable` reads such rows back.
 * `decodeDocument` treats its input as hostile: every shape, range, order and cross-reference
 * is checked, and any violation throws KvError (KV_BAD_REQUEST, or KV_PAYLOAD_TOO_LARGE past
 * `decodeEntriesMax`) — never a TypeError, never a partially built state.
 */
import { KvError } from '../errors.ts';
import { isNodeId, type NodeId } from '../types.ts';
import {
  compareDots,
  contextHas,
  emptyContext,
  type ActorDots,
  type CausalContext,
  type Dot,
} from './causal-context.ts';
import { documentRow, type FieldState, type DocumentState } from './document.ts';
import { hlcCounterMax } from './hlc.ts';
import {
  compareApplications,
  compensationId,
  idempotencyClose,
  isIdempotencyKey,
  type Application,
  type Compensation,
} from './idempotency.ts';
import { checkJsonValue, isJsonScalar } from './json-value.ts';
import {
  decodeEntriesMax,
  fieldNameCharsMax,
  registerDepthMax,
  setElementCharsMax,
} from './limits.ts';
import type { LwwRegister } from './lww-register.ts';
import type { OrSet } from './or-set.ts';
import type { PnCounter } from './pn-counter.ts';

export const documentFormatVersion = 1;

type Counters = [string, number][];
export interface EncodedDocument {
  v: number;
  f: [
    string,
    [NodeId, number, number][] | null,
    [number, number, NodeId, string | null] | null,
    [string, [NodeId, number][]][] | null,
  ][];
  c: [NodeId, number, number[]][];
  i: [string, EncodedApplications][];
  x: [string, NodeId, number, Counters][];
  a?: EncodedContext;
}
export type EncodedApplications = [NodeId, number, string, Counters][];
type EncodedContext = [NodeId, number, number[]][];

export function encodeDocument(state: DocumentState): EncodedDocument {
  const f: EncodedDocument['f'] = [];
  for (const name of [...state.fields.keys()].sort(cmp)) {
    const field = state.fields.get(name) as FieldState;
    f.push([
      name,
      field.counter === undefined
        ? null
        : [...field.counter]
            .sort(([a], [b]) => cmp(a, b))
            .map(([actor, { p, n }]) => [actor, p, n]),
      field.register === undefined
        ? null
        : [
            field.register.ts.wallMs,
            field.register.ts.counter,
            field.register.ts.node,
            field.register.json,
          ],
      field.set === undefined
        ? null
        : [...field.set]
            .sort(([a], [b]) => cmp(a, b))
            .map(([element, dots]) => [element, dots.map((d) => [d.actor, d.seq])]),
    ]);
  }
  const i: EncodedDocument['i'] = [...state.idempotency.applied]
    .sort(([a], [b]) => cmp(a, b))
    .map(([key, apps]) => [key, encodeApplications(apps)]);
  const x: EncodedDocument['x'] = [...state.idempotency.compensations]
    .sort(([a], [b]) => cmp(a, b))
    .map(([, comp]) => [comp.key, comp.actor, comp.atMs, encodeCounters(comp.counters)]);
  const c = encodeContext(state.context);
  return { v: documentFormatVersion, f, c, i, x, a: encodeContext(state.idempotency.seen) };
}

/**
 * The canonical text of a document without its table entries: equal texts mean equal states as
 * far as anything but deduplication of retries is concerned (CRDT12). Digests and "is this
 * replica stale" checks compare this.
 */
export function documentRowText(state: DocumentState): string {
  return JSON.stringify(encodeDocument(documentRow(state)));
}

/** One key's applications, as `i` holds them (a node's table row). */
export function encodeApplications(apps: readonly Application[]): EncodedApplications {
  return apps.map((app) => [app.actor, app.atMs, app.fingerprint, encodeCounters(app.counters)]);
}

/**
 * A state holding only the given table entries (`[key, encodeApplications(…)]`, ascending by
 * key) and the compensations among them: what a node's table rows decode to. Validated like
 * `decodeDocument`.
 */
export function decodeTable(entries: readonly (readonly [string, unknown])[]): DocumentState {
  return decodeDocument({ v: documentFormatVersion, f: [], c: [], i: entries, x: [] });
}

function encodeContext(context: CausalContext): EncodedContext {
  return [...context]
    .sort(([a], [b]) => cmp(a, b))
    .map(([actor, dots]) => [actor, dots.base, [...dots.extra]]);
}

export function decodeDocument(value: unknown): DocumentState {
  const budget = { left: decodeEntriesMax };
  const spend = (n: number, path: string): void => {
    budget.left -= n;
    if (budget.left < 0) {
      throw new KvError(
        'KV_PAYLOAD_TOO_LARGE',
        `document has more than ${decodeEntriesMax} entries`,
        { path },
      );
    }
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail('$', 'not an object');
  const root = value as Record<string, unknown>;
  if (root.v !== documentFormatVersion) fail('$.v', `unknown format version`);

  // Causal context first: set dots are checked against it.
  const context = decodeContext(root.c, '$.c', spend);

  const fields = new Map<string, FieldState>();
  const dotsSeen = new Set<string>();
  let prevName: string | undefined;
  for (const [k, entry] of arrayAt(root.f, '$.f', spend).entries()) {
    const path = `$.f[${k}]`;
    const [name, counter, register, set] = tuple(entry, 4, path);
    if (
      typeof name !== 'string' ||
      name.length === 0 ||
      name.length > fieldNameCharsMax ||
      name.startsWith('$')
    ) {
      fail(path, 'bad field name');
    }
    if (prevName !== undefined && !(prevName < name)) fail(path, 'fields not strictly ascending');
    prevName = name;
    let field: FieldState = {};
    if (counter !== null && counter !== undefined)
      field = { ...field, counter: decodeCounter(counter, `${path}[1]`, spend) };
    if (register !== null && register !== undefined)
      field = { ...field, register: decodeRegister(register, `${path}[2]`) };
    if (set !== null && set !== undefined) {
      field = { ...field, set: decodeSet(set, `${path}[3]`, context, dotsSeen, spend) };
    }
    if (field.counter === undefined && field.register === undefined && field.set === undefined)
      fail(path, 'empty field');
    fields.set(name, field);
  }

  const applied = new Map<string, readonly Application[]>();
  let prevKey: string | undefined;
  for (const [k, entry] of arrayAt(root.i, '$.i', spend).entries()) {
    const path = `$.i[${k}]`;
    const [key, apps] = tuple(entry, 2, path);
    if (!isIdempotencyKey(key)) fail(path, 'bad idempotency key');
    if (prevKey !== undefined && !(prevKey < key)) fail(path, 'keys not strictly ascending');
    prevKey = key;
    const list = arrayAt(apps, path, spend).map((a, j): Application => {
      const p = `${path}[1][${j}]`;
      const [actor, atMs, fingerprint, counters] = tuple(a, 4, p);
      if (typeof fingerprint !== 'string' || !/^[0-9a-f]{8}$/.test(fingerprint))
        fail(p, 'bad fingerprint');
      return {
        actor: nodeIdAt(actor, p),
        atMs: intAt(atMs, 0, p),
        fingerprint,
        counters: decodeCounters(counters, p, spend),
      };
    });
    if (list.length === 0) fail(path, 'no applications');
    for (let j = 1; j < list.length; j++) {
      const before = list[j - 1] as Application;
      const app = list[j] as Application;
      if (
        !(compareApplications(before, app) < 0) ||
        (before.actor === app.actor && before.atMs === app.atMs)
      ) {
        fail(path, 'applications not strictly ascending');
      }
    }
    applied.set(key, list);
  }

  const compensations = new Map<string, Compensation>();
  let prevId: string | undefined;
  for (const [k, entry] of arrayAt(root.x, '$.x', spend).entries()) {
    const path = `$.x[${k}]`;
    const [key, actor, atMs, counters] = tuple(entry, 4, path);
    if (!isIdempotencyKey(key)) fail(path, 'bad idempotency key');
    const comp: Compensation = {
      key,
      actor: nodeIdAt(actor, path),
      atMs: intAt(atMs, 0, path),
      counters: decodeCounters(counters, path, spend),
    };
    if (comp.counters.size === 0) fail(path, 'empty compensation');
    const id = compensationId(comp.key, comp.actor, comp.atMs);
    if (prevId !== undefined && !(prevId < id)) fail(path, 'compensations not strictly ascending');
    prevId = id;
    compensations.set(id, comp);
  }

  const seen = root.a === undefined ? emptyContext : decodeContext(root.a, '$.a', spend);
  return { fields, context, idempotency: idempotencyClose({ applied, compensations, seen }) };
}

function decodeContext(
  value: unknown,
  at: string,
  spend: (n: number, path: string) => void,
): CausalContext {
  const context = new Map<NodeId, ActorDots>();
  let prevActor: string | undefined;
  for (const [k, entry] of arrayAt(value, at, spend).entries()) {
    const path = `${at}[${k}]`;
    const [actor, base, extra] = tuple(entry, 3, path);
    const id = nodeIdAt(actor, path);
    if (prevActor !== undefined && !(prevActor < id)) fail(path, 'actors not strictly ascending');
    prevActor = id;
    const b = intAt(base, 0, path);
    const extras = arrayAt(extra, path, spend).map((s, j) => intAt(s, 1, `${path}[${j}]`));
    let last = b + 1;
    for (const s of extras) {
      if (!(s > last)) fail(path, 'extra dots not canonical');
      last = s;
    }
    context.set(id, { base: b, extra: extras });
  }
  return context;
}

function decodeCounter(
  value: unknown,
  path: string,
  spend: (n: number, path: string) => void,
): PnCounter {
  const out = new Map<NodeId, { p: number; n: number }>();
  let prev: string | undefined;
  for (const [k, entry] of arrayAt(value, path, spend).entries()) {
    const p = `${path}[${k}]`;
    const [actor, inc, dec] = tuple(entry, 3, p);
    const id = nodeIdAt(actor, p);
    if (prev !== undefined && !(prev < id)) fail(p, 'actors not strictly ascending');
    prev = id;
    out.set(id, { p: intAt(inc, 0, p), n: intAt(dec, 0, p) });
  }
  return out;
}

function decodeRegister(value: unknown, path: string): LwwRegister {
  const [wallMs, counter, node, json] = tuple(value, 4, path);
  const c = intAt(counter, 0, path);
  if (c > hlcCounterMax) fail(path, 'hlc counter out of range');
  if (json !== null) {
    if (typeof json !== 'string') fail(path, 'register value is not JSON text');
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch {
      fail(path, 'register value is not JSON text');
    }
    try {
      checkJsonValue(parsed, registerDepthMax, {});
    } catch {
      fail(path, 'register value too deep');
    }
  }
  return { ts: { wallMs: intAt(wallMs, 0, path), counter: c, node: nodeIdAt(node, path) }, json };
}

function decodeSet(
  value: unknown,
  path: string,
  context: CausalContext,
  dotsSeen: Set<string>,
  spend: (n: number, path: string) => void,
): OrSet {
  const out = new Map<string, readonly Dot[]>();
  let prev: string | undefined;
  for (const [k, entry] of arrayAt(value, path, spend).entries()) {
    const p = `${path}[${k}]`;
    const [element, dots] = tuple(entry, 2, p);
    if (
      typeof element !== 'string' ||
      element.length > setElementCharsMax ||
      !isCanonicalScalar(element)
    ) {
      fail(p, 'set element is not canonical JSON of a scalar');
    }
    if (prev !== undefined && !(prev < element)) fail(p, 'elements not strictly ascending');
    prev = element;
    const list = arrayAt(dots, p, spend).map((d, j): Dot => {
      const [actor, seq] = tuple(d, 2, `${p}[${j}]`);
      return { actor: nodeIdAt(actor, p), seq: intAt(seq, 1, p) };
    });
    if (list.length === 0) fail(p, 'element without dots');
    for (let j = 0; j < list.length; j++) {
      const dot = list[j] as Dot;
      if (j > 0 && !(compareDots(list[j - 1] as Dot, dot) < 0))
        fail(p, 'dots not strictly ascending');
      if (!contextHas(context, dot)) fail(p, 'dot missing from the causal context');
      const id = `${dot.actor}:${dot.seq}`;
      if (dotsSeen.has(id)) fail(p, 'dot used twice');
      dotsSeen.add(id);
    }
    out.set(element, list);
  }
  return out;
}

function decodeCounters(
  value: unknown,
  path: string,
  spend: (n: number, path: string) => void,
): Map<string, number> {
  const out = new Map<string, number>();
  let prev: string | undefined;
  for (const [k, entry] of arrayAt(value, path, spend).entries()) {
    const p = `${path}[${k}]`;
    const [field, by] = tuple(entry, 2, p);
    if (
      typeof field !== 'string' ||
      field.length === 0 ||
      field.length > fieldNameCharsMax ||
      field.startsWith('$')
    ) {
      fail(p, 'bad field name');
    }
    if (prev !== undefined && !(prev < field)) fail(p, 'fields not strictly ascending');
    prev = field;
    if (typeof by !== 'number' || !Number.isSafeInteger(by) || by === 0)
      fail(p, 'bad counter delta');
    out.set(field, by);
  }
  return out;
}

function encodeCounters(counters: ReadonlyMap<string, number>): Counters {
  return [...counters].sort(([a], [b]) => cmp(a, b));
}

function isCanonicalScalar(text: string): boolean {
  try {
    const parsed: unknown = JSON.parse(text);
    return isJsonScalar(parsed) && JSON.stringify(parsed) === text;
  } catch {
    return false;
  }
}

function arrayAt(
  value: unknown,
  path: string,
  spend: (n: number, path: string) => void,
): unknown[] {
  if (!Array.isArray(value)) fail(path, 'not an array');
  spend(value.length, path);
  return value;
}

function tuple(value: unknown, length: number, path: string): unknown[] {
  if (!Array.isArray(value) || value.length !== length) fail(path, `not a ${length}-tuple`);
  return value;
}

function nodeIdAt(value: unknown, path: string): NodeId {
  if (!isNodeId(value)) fail(path, 'bad node id');
  return value;
}

function intAt(value: unknown, min: number, path: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min)
    fail(path, 'bad integer');
  return value;
}

function fail(path: string, reason: string): never {
  throw new KvError('KV_BAD_REQUEST', `invalid document encoding at ${path}: ${reason}`, {
    path,
    reason,
  });
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
