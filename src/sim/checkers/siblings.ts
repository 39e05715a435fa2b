import type { HistoryOp } from '../history.ts';
import type { KeyCausality } from './causality.ts';
import type { CheckStats, Violation } from './violation.ts';

/**
 * Siblings only for truly concurrent writes: no read may show two versions of which one's
 * writer had seen the other (that one must have been superseded). A write applied twice (its
 * forward delivered twice) shows as two siblings of the same write: counted, not a violation,
 * since the transport may duplicate and the result is the same as a client retry.
 */
export function checkSiblings(kc: KeyCausality, ops: readonly HistoryOp[], stats: CheckStats): Violation[] {
  const out: Violation[] = [];
  for (const r of ops) {
    if ((r.f !== 'read' && r.f !== 'local-read') || r.type !== 'ok' || !r.result) continue;
    for (const sa of r.result.siblings) {
      const a = kc.writerOf(sa, r.id);
      for (const sb of r.result.siblings) {
        const b = kc.writerOf(sb, r.id);
        if (!a || !b || sa === sb || !kc.supersedes(b, sa.dot)) continue;
        out.push({
          kind: 'false-sibling',
          key: kc.key,
          message: `${r.f} op ${r.id}${r.f === 'local-read' ? ` on ${r.node}` : ''} shows ${sa.dot} (op ${a.op.id}) next to ${sb.dot} (op ${b.op.id}), whose writer had seen it`,
          ops: [a.op.id, b.op.id, r.id],
        });
      }
    }
  }
  stats.duplicateApplies += kc.writes.filter((w) => w.dots.size > 1).length;
  return out;
}
