import { scaleLinear } from 'd3';
import type { HistoryEntry, KeyVersion } from './collab-source.ts';
import { asParagraph } from './collab-source.ts';

/** Vector clocks as the mock-up shows them: `{n1: 5, n2: 3, n3: 4}`. */
export function formatClock(c: Record<string, number>): string {
  const parts = Object.keys(c)
    .sort()
    .map((k) => `${k}: ${c[k]}`);
  return `{${parts.join(', ')}}`;
}

/** a ≤ b: every entry of a is at most b's (b has seen everything a has). */
export function leq(a: Record<string, number>, b: Record<string, number>): boolean {
  return Object.entries(a).every(([k, v]) => v <= (b[k] ?? 0));
}

export function sameClock(a: Record<string, number>, b: Record<string, number>): boolean {
  return leq(a, b) && leq(b, a);
}

export type Order = 'before' | 'after' | 'equal' | 'concurrent';

export function compare(a: Record<string, number>, b: Record<string, number>): Order {
  const ab = leq(a, b);
  const ba = leq(b, a);
  return ab && ba ? 'equal' : ab ? 'before' : ba ? 'after' : 'concurrent';
}

/** The clock of the version that saw all of these (their pointwise max). */
export function mergeClocks(cs: readonly Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of cs) for (const [k, v] of Object.entries(c)) out[k] = Math.max(out[k] ?? 0, v);
  return out;
}

export interface GraphVersion {
  readonly id: string;
  readonly clock: Record<string, number>;
  readonly editor: string;
  readonly node: string;
  readonly text: string;
  readonly current: boolean;
}

export interface CausalityLayout {
  readonly nodes: readonly (GraphVersion & { x: number; y: number; layer: number })[];
  readonly edges: readonly { from: string; to: string; x1: number; y1: number; x2: number; y2: number }[];
  readonly width: number;
  readonly height: number;
}

/**
 * The happened-before graph of a paragraph: the versions its current value(s) remember
 * (their history) plus the current ones, an edge a → b when b's clock dominates a's and no
 * version lies between (the transitive reduction). Layers by longest path; D3 scales place them.
 */
export function causality(versions: readonly KeyVersion[], width: number): CausalityLayout {
  const all = new Map<string, GraphVersion>();
  const add = (h: HistoryEntry, current: boolean): void => {
    const id = formatClock(h.clock);
    const prev = all.get(id);
    if (!prev || current) all.set(id, { id, clock: h.clock, editor: h.editor, node: h.node, text: h.text, current });
  };
  for (const v of versions) for (const h of asParagraph(v.value).history) add(h, false);
  for (const v of versions) {
    const p = asParagraph(v.value);
    add({ clock: v.vectorClock, editor: p.editor, node: p.node, text: textOf(p.html) }, true);
  }
  const list = [...all.values()];
  const lt = (a: GraphVersion, b: GraphVersion): boolean => a.id !== b.id && leq(a.clock, b.clock);
  const edges: { from: GraphVersion; to: GraphVersion }[] = [];
  for (const a of list)
    for (const b of list) {
      if (!lt(a, b)) continue;
      if (list.some((c) => lt(a, c) && lt(c, b))) continue;
      edges.push({ from: a, to: b });
    }
  const layer = new Map<string, number>();
  const depth = (v: GraphVersion): number => {
    const known = layer.get(v.id);
    if (known !== undefined) return known;
    const preds = edges.filter((e) => e.to.id === v.id).map((e) => depth(e.from) + 1);
    const d = preds.length ? Math.max(...preds) : 0;
    layer.set(v.id, d);
    return d;
  };
  list.forEach(depth);
  const layers = Math.max(0, ...layer.values()) + 1;
  const rowsByLayer = new Map<number, GraphVersion[]>();
  for (const v of list) {
    const l = layer.get(v.id) ?? 0;
    rowsByLayer.set(l, [...(rowsByLayer.get(l) ?? []), v]);
  }
  const maxRows = Math.max(1, ...[...rowsByLayer.values()].map((r) => r.length));
  const rowH = 54;
  const height = maxRows * rowH + 20;
  const x = scaleLinear().domain([0, Math.max(1, layers - 1)]).range([80, Math.max(100, width - 80)]);
  const placed = new Map<string, { x: number; y: number }>();
  const nodes = list.map((v) => {
    const l = layer.get(v.id) ?? 0;
    const row = rowsByLayer.get(l) ?? [];
    const i = row.indexOf(v);
    const y = height / 2 + (i - (row.length - 1) / 2) * rowH;
    const pos = { x: layers === 1 ? width / 2 : x(l), y };
    placed.set(v.id, pos);
    return { ...v, ...pos, layer: l };
  });
  return {
    nodes,
    edges: edges.map((e) => {
      const a = placed.get(e.from.id) ?? { x: 0, y: 0 };
      const b = placed.get(e.to.id) ?? { x: 0, y: 0 };
      return { from: e.from.id, to: e.to.id, x1: a.x, y1: a.y, x2: b.x, y2: b.y };
    }),
    width,
    height,
  };
}

/** Plain text of the demo's HTML (paragraph and list item ends become line breaks). */
export function textOf(html: string): string {
  const doc = new DOMParser().parseFromString(`<div>${html}</div>`, 'text/html');
  const parts: string[] = [];
  const walk = (n: Node): void => {
    if (n.nodeType === Node.TEXT_NODE) parts.push(n.textContent ?? '');
    n.childNodes.forEach(walk);
    if (n instanceof HTMLElement && /^(P|LI|DIV)$/.test(n.tagName) && parts.length > 0) parts.push('\n');
  };
  walk(doc.body);
  return parts.join('').replace(/\n+$/, '').replace(/\n{2,}/g, '\n');
}
