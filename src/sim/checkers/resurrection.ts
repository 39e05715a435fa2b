import type { HistoryOp } from '../history.ts';
import { covers, type KeyCausality } from './causality.ts';
import type { Violation } from './violation.ts';
import type { CheckOptions } from './check-history.ts';

/**
 * No deleted key resurrected: once a delete with W is acknowledged, no version its context
 * covered (the versions its client had read) may be seen again by a read with R+W>N that began
 * after it, nor by the final read or any replica after the final heal. (Stale R+W≤N reads may
 * still show them, and with sloppy quorums so may R+W>N reads during the run; the stale-read
 * checker counts those.)
 */
export function checkResurrections(kc: KeyCausality, ops: readonly HistoryOp[], options: CheckOptions): Violation[] {
  const out: Violation[] = [];
  const deletes = kc.writes.filter((w) => w.op.f === 'del' && w.op.type === 'ok' && w.op.completeSeq !== null);
  for (const d of deletes) {
    for (const r of ops) {
      if ((r.f !== 'read' && r.f !== 'local-read') || r.type !== 'ok' || !r.result || r.invokeSeq <= d.op.completeSeq!) continue;
      const strong = r.process === 'final' || (!options.sloppy && (r.r ?? 0) + (d.op.w ?? 0) > options.n);
      if (!strong) continue;
      for (const s of r.result.siblings) {
        if (s.deleted || !covers(d.ctx, s.dot)) continue;
        out.push({
          kind: 'resurrection',
          key: kc.key,
          message: `${r.f} op ${r.id}${r.f === 'local-read' ? ` on ${r.node}` : ` (r=${r.r})`} shows ${s.dot}=${s.value}, deleted by op ${d.op.id} (w=${d.op.w}) acknowledged at ${d.op.completeMs} ms`,
          ops: [d.op.id, r.id],
        });
      }
    }
  }
  return out;
}
