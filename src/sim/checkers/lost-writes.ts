import type { HistoryOp } from '../history.ts';
import type { KeyCausality } from './causality.ts';
import type { Violation } from './violation.ts';

/**
 * No acknowledged write lost: after the final heal, every acknowledged put or delete is in the
 * final state (the R=N read of the `final` process) or superseded by a write that is, where
 * "superseded" is client-side causality (the later writer's context covered it). A write that
 * was acknowledged with no version of it in the reply is reported too.
 */
export function checkLostWrites(kc: KeyCausality, finalRead: HistoryOp | undefined): Violation[] {
  const out: Violation[] = [];
  for (const w of kc.writes) {
    if (w.op.type === 'ok' && !w.op.dot) {
      out.push({ kind: 'ack-without-version', key: kc.key, message: `op ${w.op.id} (${w.op.f}) was acknowledged without a version`, ops: [w.op.id] });
    }
  }
  if (!finalRead || finalRead.type !== 'ok') return out;
  for (const w of kc.writes) {
    if (w.op.type !== 'ok' || !w.op.dot || kc.reflects(finalRead.result, w, finalRead.id)) continue;
    const shown = finalRead.result ? finalRead.result.siblings.map((s) => `${s.dot}${s.deleted ? '(tombstone)' : `=${s.value}`}`).join(' ') : 'not found';
    out.push({
      kind: 'lost-write',
      key: kc.key,
      message: `acknowledged ${w.op.f} op ${w.op.id} (${w.op.value ?? 'delete'}, dot ${w.op.dot}, w=${w.op.w}) is gone: final state is ${shown}`,
      ops: [w.op.id, finalRead.id],
    });
  }
  return out;
}
