import type { HistoryOp } from '../history.ts';
import { KeyCausality } from './causality.ts';
import { checkConvergence } from './convergence.ts';
import { checkCounters } from './counters.ts';
import { checkLostWrites } from './lost-writes.ts';
import { checkResurrections } from './resurrection.ts';
import { checkSiblings } from './siblings.ts';
import { checkStaleReads } from './stale-reads.ts';
import { byKey, emptyStats, type CheckStats, type Violation } from './violation.ts';

export interface CheckOptions {
  /** Replicas per key (N), for deciding which reads had R+W>N. */
  readonly n: number;
  /**
   * The run used sloppy quorums (hinted handoff): a read may miss an acknowledged write whose
   * W acks came partly from fallbacks, so R+W>N misses are counted (`sloppyStaleReads`), not
   * reported. The final-state checks stay strict.
   */
  readonly sloppy: boolean;
}

export interface CheckReport {
  readonly violations: Violation[];
  readonly stats: CheckStats;
}

/**
 * Runs every checker over a recorded history (the simulator's, or one loaded from a JSONL
 * file). Pure: the same history always gives the same report, in the same order.
 */
export function checkHistory(ops: readonly HistoryOp[], options: CheckOptions): CheckReport {
  const stats = emptyStats();
  const violations: Violation[] = [];
  const keys = byKey(ops.filter((o) => o.f !== 'inc' && o.f !== 'counter-read'));
  for (const [key, list] of keys) {
    if (!list.some((o) => o.f === 'put' || o.f === 'del')) continue;
    const kc = new KeyCausality(key, list);
    const finalRead = list.filter((o) => o.process === 'final' && o.f === 'read').at(-1);
    if (!finalRead || finalRead.type !== 'ok') {
      violations.push({ kind: 'final-read-failed', key, message: `the final R=N read of ${key} did not succeed (${finalRead?.error ?? 'never ran'})`, ops: finalRead ? [finalRead.id] : [] });
    }
    violations.push(
      ...checkLostWrites(kc, finalRead),
      ...checkStaleReads(kc, list, options, stats),
      ...checkResurrections(kc, list, options),
      ...checkSiblings(kc, list, stats),
      ...checkConvergence(key, list),
      ...kc.violations,
    );
  }
  violations.push(...checkCounters(ops));
  return { violations, stats };
}
