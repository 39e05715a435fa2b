import type { Random } from '../core/seeded-random.ts';

/** The request mixes `--workload` offers. `load` writes every key once, in order (the loader). */
export const WORKLOADS = ['write', 'read', 'mixed', '95-5', 'counter', 'load'] as const;
export type Workload = (typeof WORKLOADS)[number];

/** One request a connection issues: what it does to which key index. */
export type OpKind = 'read' | 'write' | 'counter';

/** Share of reads in each mix; `counter` and `load` issue only their own kind. */
const READ_SHARE: Record<Exclude<Workload, 'counter' | 'load'>, number> = {
  write: 0,
  read: 1,
  mixed: 0.5,
  '95-5': 0.95,
};

/** The next op kind of a workload. */
export function opPicker(workload: Workload, random: Random): () => OpKind {
  if (workload === 'counter') return () => 'counter';
  if (workload === 'load') return () => 'write';
  const share = READ_SHARE[workload];
  return () => (random() < share ? 'read' : 'write');
}

/** Whether keys must exist before the timed run (reads of missing keys would measure 404s). */
export function needsPrefill(workload: Workload): boolean {
  return workload === 'read' || workload === 'mixed' || workload === '95-5';
}
