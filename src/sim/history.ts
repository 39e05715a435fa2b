import type { NodeId } from '../core/types.ts';
import type { VersionedRecord } from '../core/siblings.ts';
import { vectorToJSON, type VersionVector } from '../core/version-vector.ts';

/**
 * The recorded history of a run, Jepsen-style: one entry per client operation with its
 * invocation and completion. Exported as JSON Lines, one op per line (docs/TESTING.md,
 * "History format"), so any other checker can re-check a run.
 *
 * Time: `invokeMs`/`completeMs` are virtual milliseconds; `invokeSeq`/`completeSeq` are
 * positions in one global order of invocations and completions, which is what real-time
 * order means here (`a` precedes `b` iff a.completeSeq < b.invokeSeq; several events may
 * share a millisecond).
 */

/** The schema version written in every line; bump when a field changes meaning. */
export const HISTORY_FORMAT = 1;

/**
 * `local-read` is what one replica stores (`getLocal`), taken by the `final` process after the
 * final heal and read repair; the convergence checker compares them.
 */
export type OpFunction = 'read' | 'put' | 'del' | 'inc' | 'counter-read' | 'local-read';

/**
 * - ok: completed and acknowledged.
 * - fail: completed with an error that guarantees no effect (never used for writes: a failed
 *   quorum can still leave a version on some replica, so those are `info`).
 * - info: outcome unknown (an error after the request may have taken effect, a time-out, or
 *   the node crashed under it). An info op is concurrent with everything after its invocation.
 */
export type OpOutcome = 'ok' | 'fail' | 'info';

/** A vector as plain JSON, actors sorted: `{"n1":3,"n2":1}`. */
export type VectorJson = Record<NodeId, number>;

export interface SiblingJson {
  /** `actor:counter`, the event that wrote this version. */
  readonly dot: string;
  /** UTF-8 of the value; "" for a tombstone. */
  readonly value: string;
  readonly deleted: boolean;
  /** What its writer had seen (the client context of that write, as the node stored it). */
  readonly seen: VectorJson;
}

/** What a read returned: null = not found anywhere it asked. */
export interface RecordJson {
  readonly context: VectorJson;
  readonly siblings: readonly SiblingJson[];
}

export interface HistoryOp {
  readonly format: typeof HISTORY_FORMAT;
  /** Index in invocation order, from 0. */
  readonly id: number;
  /** The client ("c1", …) or "final" for the checker's reads after the final heal. */
  readonly process: string;
  /** The node the client sent the request to. */
  readonly node: NodeId;
  readonly f: OpFunction;
  readonly key: string;
  readonly invokeMs: number;
  readonly invokeSeq: number;
  completeMs: number | null;
  completeSeq: number | null;
  type: OpOutcome | null;
  /** Read quorum (reads). */
  readonly r?: number;
  /** Write quorum (writes). */
  readonly w?: number;
  /** put: the value written, unique in the run (`c1:17`). */
  readonly value?: string;
  /** put/del: the client context sent, decoded (null = a blind write). */
  readonly context?: VectorJson | null;
  /** inc: the counter field, the amount and the idempotency key (retries share it). */
  readonly field?: string;
  readonly by?: number;
  readonly idempotencyKey?: string;
  /** read: the merged record. */
  result?: RecordJson | null;
  /** put/del ok: the dot of the version this write created. */
  dot?: string | null;
  /** counter-read ok: the value. */
  counter?: number | null;
  /** A `KV_*` code, or "CRASHED" when the node died under the request. */
  error?: string;
}

export function dotString(d: { actor: NodeId; counter: number }): string {
  return `${d.actor}:${d.counter}`;
}

export function parseDot(s: string): { actor: NodeId; counter: number } {
  const i = s.lastIndexOf(':');
  return { actor: s.slice(0, i), counter: Number(s.slice(i + 1)) };
}

const decoder = new TextDecoder();

export function recordToJson(r: VersionedRecord | undefined): RecordJson | null {
  if (!r) return null;
  return {
    context: vectorJson(r.context),
    siblings: r.siblings.map((s) => ({
      dot: dotString(s.dot),
      value: decoder.decode(s.value),
      deleted: s.deleted,
      seen: vectorJson(s.seen),
    })),
  };
}

export function vectorJson(vv: VersionVector): VectorJson {
  return { ...vectorToJSON(vv) };
}

/** The first line of an exported history: how the run was made and what a checker needs. */
export interface RunHeader {
  readonly seed: number;
  readonly nodes: number;
  /** Replicas per key. */
  readonly n: number;
  readonly hintedHandoff: boolean;
  readonly faults: readonly string[];
  /** The event-log hash of the run. */
  readonly hash: string;
}

/** A header line, then one line per op in invocation order. */
export function historyToJsonl(run: RunHeader, ops: readonly HistoryOp[]): string {
  return [JSON.stringify({ format: HISTORY_FORMAT, run }), ...ops.map((o) => JSON.stringify(o))].join('\n') + '\n';
}

export function historyFromJsonl(text: string): { run: RunHeader; ops: HistoryOp[] } {
  let run: RunHeader | undefined;
  const ops: HistoryOp[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const x = JSON.parse(line) as HistoryOp | { format: number; run: RunHeader };
    if (x.format !== HISTORY_FORMAT) throw new Error(`history: unknown format ${String(x.format)}`);
    if ('run' in x) run = x.run;
    else ops.push(x);
  }
  if (!run) throw new Error('history: no run header line');
  return { run, ops };
}

/**
 * Records ops as they are invoked and completed. `seq` is shared by both kinds of event so
 * that real-time order is exact.
 */
export class HistoryRecorder {
  readonly ops: HistoryOp[] = [];
  #seq = 0;

  constructor(private readonly now: () => number) {}

  invoke(fields: Omit<HistoryOp, 'format' | 'id' | 'invokeMs' | 'invokeSeq' | 'completeMs' | 'completeSeq' | 'type'>): HistoryOp {
    const op: HistoryOp = {
      format: HISTORY_FORMAT,
      id: this.ops.length,
      ...fields,
      invokeMs: this.now(),
      invokeSeq: this.#seq++,
      completeMs: null,
      completeSeq: null,
      type: null,
    };
    this.ops.push(op);
    return op;
  }

  complete(op: HistoryOp, type: OpOutcome, fields: Partial<Pick<HistoryOp, 'result' | 'dot' | 'counter' | 'error'>> = {}): void {
    if (op.type !== null) throw new Error(`history: op ${op.id} completed twice`);
    Object.assign(op, fields);
    op.type = type;
    op.completeMs = this.now();
    op.completeSeq = this.#seq++;
  }

  /** At the end of the run, ops still open become `info` with no completion time. */
  closeOpen(): void {
    for (const op of this.ops) if (op.type === null) op.type = 'info';
  }
}
