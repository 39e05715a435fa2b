/**
 * CRDT documents: a JSON object whose top-level fields are CRDTs, updated by patches
 * (patch.ts) and merged without siblings. Pure algebra: time (`nowMs`) and the acting
 * replica (`actor`) are inputs; states are immutable values.
 *
 * Rules (ids for docs/SPEC.md; tests are named after them):
 * - CRDT1 `mergeDocuments` is commutative, associative and idempotent, for every field type
 *   and for the idempotency table and compensations, so replicas converge whatever order
 *   states and deltas arrive in, duplicated or not.
 * - CRDT2 `delta` is a state: `merge(s, delta)` equals the patched state, and merging the delta
 *   into any replica that has `s` equals merging the whole patched state (delta ≡ full state).
 * - CRDT3 Counters: the view is the sum of all applied increments (PN-counter, one pair per actor).
 * - CRDT4 Registers: last writer wins by hybrid logical clock; a write issued on a state that
 *   contains another write wins over it; `$unset` is a write of "absent" (a tombstone).
 * - CRDT5 Sets: add wins — an element is present iff some add of it was not observed by a
 *   remove of it (optimized OR-set).
 * - CRDT6 Types: a field's type is fixed by the first op that reaches it; an op of another
 *   type is KV_TYPE_MISMATCH (409). If different first ops race on two replicas the view
 *   shows counter, else set, else register, and later ops must match the type shown.
 * - CRDT7 Exactly once: a patch with an idempotency key takes effect once, even when
 *   replicas that had not seen each other's attempt both applied it (idempotency.ts); a retry
 *   whose key is in the state returns `duplicate: true` and changes nothing; a key reused
 *   with a different patch is KV_BAD_REQUEST.
 * - CRDT8 Expiry: keys are remembered `idempotencyRetentionMs` (24 h) and at most
 *   `idempotencyEntriesMax` (newest kept) per document; a retry after that counts again.
 *   (A node keeps at least the newest `idempotencyKeysMax` and sweeps at 10% over it:
 *   src/node/document-tables.ts.)
 * - CRDT9 A patch is all-or-nothing: on any error the state is unchanged.
 * - CRDT10 Codec: decodeDocument(encodeDocument(s)) = s; the encoding is canonical (equal
 *   states encode equally); any other input throws KvError, nothing else.
 * - CRDT11 Untrusted names (`__proto__`, `constructor`, `prototype`) are ordinary field names
 *   and values; nothing is ever assigned into a shared prototype.
 * - CRDT12 The table is not needed to tell states apart: two states that agree without their
 *   tables (`documentRow`) merge to a state that still agrees with them without its table,
 *   because every application is a dot of the table's causal context, which is part of the
 *   row and travels only with the application's entry. A node stores the row and the table's
 *   entries apart and compares (digests) rows only (idempotency.ts, "Storage").
 *
 * Requirement on the caller (as for every state-based CRDT): `applyPatch` with actor A must be
 * given a state that contains every earlier effect of A — A's own durable replica — or a
 * counter increment can be lost and a set dot reused.
 */
import { KvError } from '../errors.ts';
import { isNodeId, type NodeId } from '../types.ts';
import { contextMerge, emptyContext, type CausalContext } from './causal-context.ts';
import { compareHlc, hlcZero, tick, type Hlc } from './hlc.ts';
import {
  compensationTotals,
  emptyIdempotency,
  isEmptyIdempotency,
  idempotencyMerge,
  idempotencyPrune,
  idempotencyRecord,
  isIdempotencyKey,
  type IdempotencyState,
} from './idempotency.ts';
import { defineOwn, type JsonObject, type JsonValue } from './json-value.ts';
import {
  fieldsMax,
  idempotencyEntriesMax,
  idempotencyKeyCharsMax,
  idempotencyRetentionMs,
  setElementsMax,
} from './limits.ts';
import { registerIsLive, registerMerge, type LwwRegister } from './lww-register.ts';
import { opFieldType, opOperator, patchFingerprint, type FieldType, type Patch } from './patch.ts';
import {
  counterIncrement,
  counterMerge,
  counterTotal,
  emptyCounter,
  type PnCounter,
} from './pn-counter.ts';
import {
  compareStrings,
  emptySet,
  setAdd,
  setElements,
  setMerge,
  setRemove,
  type OrSet,
} from './or-set.ts';

/** One field: normally one slot; more only after concurrent first ops of different types. */
export interface FieldState {
  readonly counter?: PnCounter;
  readonly register?: LwwRegister;
  readonly set?: OrSet;
}

export interface DocumentState {
  readonly fields: ReadonlyMap<string, FieldState>;
  /** Every set dot this state has seen (shared by all set fields). */
  readonly context: CausalContext;
  readonly idempotency: IdempotencyState;
}

export interface PatchContext {
  /** The replica applying the patch, on its own durable state. */
  readonly actor: NodeId;
  readonly nowMs: number;
  /** The request's Idempotency-Key, if any. */
  readonly idempotencyKey?: string;
}

export interface PatchResult {
  readonly state: DocumentState;
  /** The minimal state that, merged into any replica, has the effect of this patch. Empty for a duplicate. */
  readonly delta: DocumentState;
  /** The key was already applied here; `state` is the input, unchanged. */
  readonly duplicate: boolean;
}

export interface PruneOptions {
  readonly retentionMs?: number;
  readonly entriesMax?: number;
}

const emptyField: FieldState = {};

export function emptyDocument(): DocumentState {
  return { fields: new Map(), context: emptyContext, idempotency: emptyIdempotency };
}

export function isEmptyDocument(state: DocumentState): boolean {
  return (
    state.fields.size === 0 && state.context.size === 0 && isEmptyIdempotency(state.idempotency)
  );
}

/** The document without its table's entries (what a node stores in the key's own row). */
export function documentRow(state: DocumentState): DocumentState {
  if (state.idempotency.applied.size === 0) return state;
  return { ...state, idempotency: { ...state.idempotency, applied: new Map() } };
}

/**
 * What a replayed retry of `key` replicates: everything but the table, plus `key`'s entry, and
 * no table dots (their entries are not all included; CRDT12). It brings a first attempt that
 * reached too few replicas to them without reading the whole table.
 */
export function retryState(state: DocumentState, key: string): DocumentState {
  const entry = state.idempotency.applied.get(key);
  return {
    ...state,
    idempotency: {
      applied: entry === undefined ? new Map() : new Map([[key, entry]]),
      compensations: state.idempotency.compensations,
      seen: emptyContext,
    },
  };
}

/** The type the view shows for a field (CRDT6), or undefined when it shows nothing. */
export function visibleType(field: FieldState): FieldType | undefined {
  if (field.counter !== undefined) return 'counter';
  if (field.set !== undefined) return 'set';
  if (field.register !== undefined && registerIsLive(field.register)) return 'register';
  return undefined;
}

/**
 * Applies a patch as `ctx.actor` at `ctx.nowMs`. Expired idempotency keys are pruned first
 * (CRDT8). Throws KvError (KV_TYPE_MISMATCH, KV_BAD_REQUEST, KV_PAYLOAD_TOO_LARGE) with the
 * state untouched (CRDT9).
 */
export function applyPatch(state: DocumentState, patch: Patch, ctx: PatchContext): PatchResult {
  if (!isNodeId(ctx.actor))
    throw new TypeError(`actor must be a node id, got ${String(ctx.actor)}`);
  if (!Number.isFinite(ctx.nowMs) || ctx.nowMs < 0)
    throw new TypeError(`nowMs must be finite and >= 0`);
  const nowMs = Math.floor(ctx.nowMs);
  const key = ctx.idempotencyKey;
  const fingerprint = patchFingerprint(patch);
  const base = prune(state, nowMs);

  if (key !== undefined) {
    checkIdempotencyKey(key);
    const previous = base.idempotency.applied.get(key);
    if (previous !== undefined) {
      const winner = previous[0];
      if (winner !== undefined && winner.fingerprint !== fingerprint) {
        throw new KvError(
          'KV_BAD_REQUEST',
          'Idempotency-Key was already used for a different patch',
          {
            idempotencyKey: key,
          },
        );
      }
      return { state, delta: emptyDocument(), duplicate: true };
    }
  }

  const fields = new Map(base.fields);
  const deltaFields = new Map<string, FieldState>();
  let context = base.context;
  let deltaContext: CausalContext = emptyContext;
  const counters = new Map<string, number>();
  let ts: Hlc | undefined;

  for (const op of patch.ops) {
    const field = fields.get(op.field) ?? emptyField;
    const shown = visibleType(field);
    const wanted = opFieldType(op);
    if (shown !== undefined && shown !== wanted) {
      throw new KvError(
        'KV_TYPE_MISMATCH',
        `field "${op.field.slice(0, 64)}" is a ${shown}, not a ${wanted}`,
        {
          field: op.field,
          fieldType: shown,
          operator: opOperator(op),
        },
      );
    }
    switch (op.kind) {
      case 'inc': {
        const change = counterIncrement(field.counter ?? emptyCounter, ctx.actor, op.by, op.field);
        fields.set(op.field, { ...field, counter: change.counter });
        deltaFields.set(op.field, { counter: change.delta });
        if (op.by !== 0) counters.set(op.field, op.by);
        break;
      }
      case 'set':
      case 'unset': {
        ts ??= tick({ ...documentClock(base, ctx.actor), node: ctx.actor }, nowMs);
        const register: LwwRegister = { ts, json: op.kind === 'set' ? op.json : null };
        fields.set(op.field, { ...field, register });
        deltaFields.set(op.field, { register });
        break;
      }
      case 'add':
      case 'remove': {
        const current = field.set ?? emptySet;
        const change =
          op.kind === 'add'
            ? setAdd(current, context, ctx.actor, op.elements)
            : setRemove(current, context, op.elements);
        if (change.set.size > current.size && change.set.size > setElementsMax) {
          throw new KvError(
            'KV_PAYLOAD_TOO_LARGE',
            `a set holds at most ${setElementsMax} elements`,
            {
              field: op.field,
              setElementsMax,
            },
          );
        }
        fields.set(op.field, { ...field, set: change.set });
        deltaFields.set(op.field, { set: change.delta.set });
        context = change.context;
        deltaContext = contextMerge(deltaContext, change.delta.context);
        break;
      }
    }
  }
  if (fields.size > base.fields.size && fields.size > fieldsMax) {
    throw new KvError('KV_PAYLOAD_TOO_LARGE', `a document holds at most ${fieldsMax} fields`, {
      fieldsMax,
    });
  }

  let idempotency = base.idempotency;
  let deltaIdempotency = emptyIdempotency;
  if (key !== undefined) {
    const recorded = idempotencyRecord(idempotency, key, {
      actor: ctx.actor,
      atMs: nowMs,
      fingerprint,
      counters,
    });
    idempotency = recorded.state;
    deltaIdempotency = recorded.delta;
  }
  return {
    state: { fields, context, idempotency },
    delta: { fields: deltaFields, context: deltaContext, idempotency: deltaIdempotency },
    duplicate: false,
  };
}

/** The join of two document states (or deltas): CRDT1. */
export function mergeDocuments(a: DocumentState, b: DocumentState): DocumentState {
  if (a === b || isEmptyDocument(b)) return a;
  if (isEmptyDocument(a)) return b;
  const fields = new Map<string, FieldState>();
  for (const [name, fa] of a.fields)
    fields.set(name, mergeField(fa, b.fields.get(name) ?? emptyField, a.context, b.context));
  for (const [name, fb] of b.fields) {
    if (!a.fields.has(name)) fields.set(name, mergeField(emptyField, fb, a.context, b.context));
  }
  return {
    fields,
    context: contextMerge(a.context, b.context),
    idempotency: idempotencyMerge(a.idempotency, b.idempotency),
  };
}

/**
 * Forgets idempotency keys older than the retention window or beyond the count bound
 * (CRDT8). Not a lattice operation: replicas prune on their own clocks, which is safe as long
 * as they exchange state well within the window.
 */
export function prune(
  state: DocumentState,
  nowMs: number,
  options: PruneOptions = {},
): DocumentState {
  const idempotency = idempotencyPrune(
    state.idempotency,
    nowMs,
    options.retentionMs ?? idempotencyRetentionMs,
    options.entriesMax ?? idempotencyEntriesMax,
  );
  return idempotency === state.idempotency ? state : { ...state, idempotency };
}

/**
 * The plain JSON object a GET returns: counters as numbers (minus compensations), sets as
 * arrays in canonical order, live registers as their value; fields in name order.
 */
export function documentView(state: DocumentState): JsonObject {
  const compensated = compensationTotals(state.idempotency);
  const view: JsonObject = {};
  for (const name of [...state.fields.keys()].sort(compareStrings)) {
    const field = state.fields.get(name) as FieldState;
    const value = fieldView(name, field, compensated);
    if (value !== undefined) defineOwn(view, name, value);
  }
  return view;
}

function fieldView(
  name: string,
  field: FieldState,
  compensated: ReadonlyMap<string, bigint>,
): JsonValue | undefined {
  switch (visibleType(field)) {
    case 'counter':
      return Number(counterTotal(field.counter ?? emptyCounter) - (compensated.get(name) ?? 0n));
    case 'set':
      return setElements(field.set ?? emptySet).map((e) => JSON.parse(e) as JsonValue);
    case 'register':
      return JSON.parse(field.register?.json ?? 'null') as JsonValue;
    case undefined:
      return undefined;
  }
}

function mergeField(
  a: FieldState,
  b: FieldState,
  ca: CausalContext,
  cb: CausalContext,
): FieldState {
  let out: FieldState = {};
  if (a.counter !== undefined || b.counter !== undefined) {
    out = { ...out, counter: counterMerge(a.counter ?? emptyCounter, b.counter ?? emptyCounter) };
  }
  if (a.register !== undefined && b.register !== undefined)
    out = { ...out, register: registerMerge(a.register, b.register) };
  else if (a.register !== undefined || b.register !== undefined)
    out = { ...out, register: (a.register ?? b.register) as LwwRegister };
  if (a.set !== undefined || b.set !== undefined) {
    out = { ...out, set: setMerge(a.set ?? emptySet, ca, b.set ?? emptySet, cb) };
  }
  return out;
}

/** The newest register timestamp in the document: new writes are stamped after it (CRDT4). */
function documentClock(state: DocumentState, actor: NodeId): Hlc {
  let clock = hlcZero(actor);
  for (const field of state.fields.values()) {
    if (field.register !== undefined && compareHlc(field.register.ts, clock) > 0)
      clock = field.register.ts;
  }
  return clock;
}

export function checkIdempotencyKey(key: string): void {
  if (!isIdempotencyKey(key)) {
    throw new KvError(
      'KV_BAD_REQUEST',
      `Idempotency-Key must be 1..${idempotencyKeyCharsMax} visible ASCII characters`,
      {
        idempotencyKeyCharsMax,
      },
    );
  }
}
