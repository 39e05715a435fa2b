import type { HistoryOp } from '../history.ts';
import type { Violation } from './violation.ts';

/**
 * Counters exact (`$inc` with idempotency keys): the final value of every counter field is
 * the sum of its acknowledged increments, each idempotency key counted once however often it
 * was retried, plus some subset of the increments whose outcome is unknown (info, never
 * acknowledged under any attempt). A `fail` attempt is one that certainly did not apply.
 *
 * Works on the history alone: `inc` ops (key, field, by, idempotencyKey) and the `final`
 * process's `counter-read` of each field after the heal.
 */
export function checkCounters(ops: readonly HistoryOp[]): Violation[] {
  const out: Violation[] = [];
  const incs = new Map<string, HistoryOp[]>();
  const finals = new Map<string, HistoryOp>();
  for (const op of ops) {
    const id = `${op.key}\u0000${op.field ?? ''}`;
    if (op.f === 'inc') incs.set(id, [...(incs.get(id) ?? []), op]);
    else if (op.f === 'counter-read' && op.process === 'final') finals.set(id, op);
  }
  for (const [id, list] of incs) {
    const [key, field] = id.split('\u0000') as [string, string];
    const final = finals.get(id);
    if (!final || final.type !== 'ok' || typeof final.counter !== 'number') {
      out.push({ kind: 'final-read-failed', key, message: `no final value for counter ${key}.${field}`, ops: final ? [final.id] : [] });
      continue;
    }
    const groups = new Map<string, HistoryOp[]>();
    for (const op of list) {
      const k = op.idempotencyKey ?? `op${op.id}`;
      groups.set(k, [...(groups.get(k) ?? []), op]);
    }
    let certain = 0;
    const maybe: number[] = [];
    for (const [idem, attempts] of groups) {
      const by = attempts[0]!.by ?? 0;
      if (attempts.some((a) => (a.by ?? 0) !== by)) {
        out.push({ kind: 'counter', key, message: `idempotency key ${idem} was used with different amounts`, ops: attempts.map((a) => a.id) });
      }
      if (attempts.some((a) => a.type === 'ok')) certain += by;
      else if (attempts.some((a) => a.type === 'info' || a.type === null)) maybe.push(by);
    }
    const diff = final.counter - certain;
    if (!isSubsetSum(diff, maybe)) {
      out.push({
        kind: 'counter',
        key,
        message: `counter ${key}.${field} ended at ${final.counter}; acknowledged increments sum to ${certain} and no subset of the ${maybe.length} unknown ones (${maybe.join(',')}) makes up the difference ${diff}`,
        ops: [...list.map((o) => o.id), final.id],
      });
    }
  }
  return out;
}

/**
 * Sums reachable by subsets, kept as a set while it stays small (`sumsMax`); past that, only
 * the bounds are checked (never a false alarm, possibly a missed one).
 */
export function isSubsetSum(target: number, items: readonly number[], sumsMax = 100_000): boolean {
  let sums = new Set<number>([0]);
  for (const x of items) {
    const next = new Set(sums);
    for (const s of sums) next.add(s + x);
    sums = next;
    if (sums.size > sumsMax) {
      const lo = items.filter((v) => v < 0).reduce((a, b) => a + b, 0);
      const hi = items.filter((v) => v > 0).reduce((a, b) => a + b, 0);
      return target >= lo && target <= hi;
    }
  }
  return sums.has(target);
}
