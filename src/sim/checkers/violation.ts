import type { HistoryOp } from '../history.ts';

/** Every kind of violation a checker reports; the summary counts them by kind. */
export type ViolationKind =
  /** Replicas of a key differ after the final heal and read repair. */
  | 'divergence'
  /** An acknowledged write is neither in the final state nor superseded by a write that is. */
  | 'lost-write'
  /** An acknowledged write whose reply names no version of it. */
  | 'ack-without-version'
  /** Two different writes were given the same dot (a reused event id). */
  | 'dot-reuse'
  /** A read with R+W>N missed an acknowledged write that completed before it began. */
  | 'stale-read'
  /** A version that an acknowledged delete superseded was seen again after the delete. */
  | 'resurrection'
  /** Two versions shown side by side although one writer had seen the other. */
  | 'false-sibling'
  /** A read returned a version that no write in the history wrote. */
  | 'phantom'
  /** A counter's final value is not the sum of its acknowledged increments (plus maybe-applied ones). */
  | 'counter'
  /** The checker could not read a key at the end although every fault was healed. */
  | 'final-read-failed'
  /**
   * Node code let a promise rejection go unhandled: in a server process (Node's default
   * `--unhandled-rejections=throw`) that kills the node.
   */
  | 'unhandled-rejection';

export interface Violation {
  readonly kind: ViolationKind;
  readonly key: string;
  readonly message: string;
  /** Ids of the history ops that show it. */
  readonly ops: readonly number[];
}

/** Counts that are not failures, reported next to the violations. */
export interface CheckStats {
  reads: number;
  /** Reads with R+W≤N that missed an earlier acknowledged write (allowed, Dynamo §4.5). */
  staleReads: number;
  /** Reads with R+W>N that missed one, in a run with sloppy quorums (allowed there, Dynamo §4.6). */
  sloppyStaleReads: number;
  /** Writes applied more than once (a duplicated forward), shown as equal-valued siblings. */
  duplicateApplies: number;
}

export function emptyStats(): CheckStats {
  return { reads: 0, staleReads: 0, sloppyStaleReads: 0, duplicateApplies: 0 };
}

/** Ops grouped by key, in id order. */
export function byKey(ops: readonly HistoryOp[]): Map<string, HistoryOp[]> {
  const out = new Map<string, HistoryOp[]>();
  for (const op of ops) {
    let list = out.get(op.key);
    if (!list) out.set(op.key, (list = []));
    list.push(op);
  }
  return out;
}
