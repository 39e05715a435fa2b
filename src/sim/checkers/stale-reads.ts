import type { HistoryOp } from '../history.ts';
import type { KeyCausality } from './causality.ts';
import type { CheckStats, Violation } from './violation.ts';
import type { CheckOptions } from './check-history.ts';

/**
 * Read-your-quorum (Dynamo §4.5): a read with R+W>N that begins after a write with W was
 * acknowledged must show that write or a version that supersedes it. With R+W≤N missing it is
 * allowed and only counted (`staleReads`); so it is under sloppy quorums (`sloppyStaleReads`).
 */
export function checkStaleReads(kc: KeyCausality, ops: readonly HistoryOp[], options: CheckOptions, stats: CheckStats): Violation[] {
  const out: Violation[] = [];
  const acked = kc.writes.filter((w) => w.op.type === 'ok' && w.op.completeSeq !== null && w.dots.size > 0);
  for (const r of ops) {
    if (r.f !== 'read' || r.type !== 'ok') continue;
    stats.reads++;
    let stale = false;
    let sloppy = false;
    for (const w of acked) {
      if (w.op.completeSeq! >= r.invokeSeq || kc.reflects(r.result, w, r.id)) continue;
      if ((r.r ?? 0) + (w.op.w ?? 0) <= options.n) stale = true;
      else if (options.sloppy) sloppy = true;
      else {
        out.push({
          kind: 'stale-read',
          key: kc.key,
          message: `read op ${r.id} (r=${r.r}) at ${r.invokeMs} ms missed ${w.op.f} op ${w.op.id} (w=${w.op.w}, dot ${w.op.dot}) acknowledged at ${w.op.completeMs} ms`,
          ops: [w.op.id, r.id],
        });
      }
    }
    if (stale) stats.staleReads++;
    if (sloppy) stats.sloppyStaleReads++;
  }
  return out;
}
