import { scaleOrdinal } from 'd3';
import { schemeTableau10 } from 'd3';

/** One colour per node, the same in the ring, the cards and the charts. */
const scale = scaleOrdinal<string, string>(schemeTableau10);

export function nodeColor(id: string): string {
  // Order by node number so n1, n2, n3 always get the first colours.
  const n = Number(/^n(\d+)$/.exec(id)?.[1] ?? NaN);
  return Number.isFinite(n) ? (schemeTableau10[(n - 1) % schemeTableau10.length] ?? scale(id)) : scale(id);
}

export const FAULT_COLORS: Record<string, string> = {
  kill: 'rgba(220, 38, 38, 0.14)',
  partition: 'rgba(234, 179, 8, 0.18)',
  links: 'rgba(147, 51, 234, 0.14)',
  stop: 'rgba(100, 116, 139, 0.15)',
  skew: 'rgba(14, 165, 233, 0.14)',
};
