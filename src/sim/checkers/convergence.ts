import type { HistoryOp, RecordJson } from '../history.ts';
import type { Violation } from './violation.ts';

/**
 * Convergence: after the final heal and read repair, every replica of a key stores the same
 * versions (same context, same dots). Compares the `final` process's `local-read` ops.
 */
export function checkConvergence(key: string, ops: readonly HistoryOp[]): Violation[] {
  const local = ops.filter((o) => o.f === 'local-read' && o.process === 'final' && o.type === 'ok');
  if (local.length < 2) return [];
  const forms = new Map<string, HistoryOp[]>();
  for (const o of local) {
    const f = canonical(o.result ?? null);
    forms.set(f, [...(forms.get(f) ?? []), o]);
  }
  if (forms.size === 1) return [];
  const detail = [...forms].map(([f, os]) => `${os.map((o) => o.node).join('+')}: ${f}`).join(' | ');
  return [{ kind: 'divergence', key, message: `replicas differ after the final heal: ${detail}`, ops: local.map((o) => o.id) }];
}

function canonical(r: RecordJson | null): string {
  if (!r) return 'absent';
  const dots = r.siblings.map((s) => s.dot).sort();
  return `${JSON.stringify(r.context)} [${dots.join(' ')}]`;
}
