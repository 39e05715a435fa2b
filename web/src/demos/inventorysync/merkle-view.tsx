import { useMemo, type ReactNode } from 'react';
import { hierarchy, tree, type HierarchyPointNode } from 'd3';
import type { MerkleCompare } from '../../../../src/lab/demo-types.ts';
import { PRODUCTS, shortRoot, stockOf, warehouse } from './inventory-model.ts';

/** One node of the drawn tree: the warehouse root, a partition, a Merkle node or a key. */
interface TNode {
  readonly id: string;
  readonly label: string;
  readonly a: string;
  readonly b: string;
  readonly differs: boolean;
  readonly kind: 'root' | 'partition' | 'merkle' | 'key';
  readonly children: TNode[];
}

const DX = 26;
const DY = 30;

/**
 * The comparison as one tree shape for both sides: the warehouse root (XOR of the partitions
 * holding the SKUs), each partition's root, the children of differing nodes level by level to
 * the leaves (segments), then the SKU keys in differing leaves.
 */
function build(c: MerkleCompare): TNode {
  const partitions: TNode[] = c.partitions.map((p) => {
    const byId = new Map<string, TNode>();
    const make = (level: number, index: number, a: string, b: string, differs: boolean, label: string): TNode => {
      const t: TNode = { id: `p${p.partition}-${level}-${index}`, label, a, b, differs, kind: level === 0 ? 'partition' : 'merkle', children: [] };
      byId.set(`${level}-${index}`, t);
      return t;
    };
    const root = make(0, 0, p.rootA, p.rootB, p.rootA !== p.rootB, `P${p.partition}`);
    for (const n of p.nodes) {
      if (n.level === 0) continue;
      const t = make(n.level, n.index, n.a, n.b, n.differs, n.level === p.depth ? `seg ${n.index}` : `L${n.level}`);
      byId.get(`${n.level - 1}-${n.index >> 1}`)?.children.push(t);
    }
    for (const k of p.keys) {
      const leaf = byId.get(`${p.depth}-${k.segment}`);
      if (!leaf || !k.differs) continue;
      const sku = k.key.replace(/^inv\//, '');
      leaf.children.push({ id: `k-${k.key}`, label: sku, a: String(stockOf(k.a ?? undefined) ?? '—'), b: String(stockOf(k.b ?? undefined) ?? '—'), differs: true, kind: 'key', children: [] });
    }
    return root;
  });
  return { id: 'root', label: 'root', a: c.rootA, b: c.rootB, differs: c.rootA !== c.rootB, kind: 'root', children: partitions };
}

function Side(props: { root: HierarchyPointNode<TNode>; side: 'a' | 'b'; title: string; width: number; height: number; minX: number }): ReactNode {
  const nodes = props.root.descendants();
  const links = props.root.links();
  return (
    <figure className="inv-tree" data-testid={`merkle-tree-${props.side}`}>
      <figcaption>{props.title}</figcaption>
      <svg viewBox={`${props.minX - 40} -20 ${props.width + 80} ${props.height + 50}`} style={{ maxHeight: 520, maxWidth: (props.width + 80) * 1.6, margin: '0 auto' }}>
        {links.map((l) => (
          <line key={`${l.source.data.id}>${l.target.data.id}`} x1={l.source.x} y1={l.source.y} x2={l.target.x} y2={l.target.y} className={l.target.data.differs ? 'diff' : 'same'} />
        ))}
        {nodes.map((n) => {
          const d = n.data;
          const value = props.side === 'a' ? d.a : d.b;
          return (
            <g key={d.id} transform={`translate(${n.x},${n.y})`} className={`${d.kind} ${d.differs ? 'diff' : 'same'}`} data-testid={d.kind === 'key' ? `merkle-key-${d.label}` : undefined} data-differs={String(d.differs)}>
              <title>{`${d.label}: ${value}`}</title>
              {d.kind === 'key' ? <rect x={-9} y={-7} width={18} height={14} rx={3} /> : <circle r={d.kind === 'merkle' ? 5 : 8} />}
              <text dy={d.kind === 'key' ? 20 : -10} textAnchor="middle">
                {d.kind === 'key' ? `${d.label}: ${value}` : d.kind === 'merkle' ? value.slice(0, 4).toUpperCase() : `${d.label} ${value.slice(0, 4).toUpperCase()}`}
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

/** "View Merkle Trees": two warehouses' trees side by side, differing branches in red. */
export function MerkleView(props: { compare: MerkleCompare | null; error: string | null; a: string; b: string; nodes: readonly string[]; onPick: (a: string, b: string) => void }): ReactNode {
  const laid = useMemo(() => {
    if (!props.compare) return null;
    // Partitions sit side by side on one level with long labels: give them more room.
    const root = tree<TNode>()
      .nodeSize([DX, DY])
      .separation((a, b) => (a.depth === 1 && b.depth === 1 ? 2.6 : a.parent === b.parent ? 1 : 1.4))(hierarchy(build(props.compare)));
    let minX = Infinity;
    let maxX = -Infinity;
    let maxY = 0;
    for (const n of root.descendants()) {
      minX = Math.min(minX, n.x);
      maxX = Math.max(maxX, n.x);
      maxY = Math.max(maxY, n.y);
    }
    return { root, minX, width: maxX - minX, height: maxY };
  }, [props.compare]);
  const c = props.compare;
  const wa = warehouse(props.a);
  const wb = warehouse(props.b);
  const differing = c?.differingKeys ?? [];
  return (
    <section className="panel inv-merkle" data-testid="merkle-view">
      <h2>🔍 Merkle Tree Comparison</h2>
      <div className="row">
        <label>
          left{' '}
          <select value={props.a} onChange={(e) => props.onPick(e.target.value, props.b)} data-testid="merkle-a">
            {props.nodes.map((n) => (
              <option key={n} value={n}>
                {warehouse(n).name} ({n})
              </option>
            ))}
          </select>
        </label>
        <label>
          right{' '}
          <select value={props.b} onChange={(e) => props.onPick(props.a, e.target.value)} data-testid="merkle-b">
            {props.nodes.map((n) => (
              <option key={n} value={n}>
                {warehouse(n).name} ({n})
              </option>
            ))}
          </select>
        </label>
        {c && (
          <span data-testid="merkle-summary" data-differing={differing.length}>
            Roots {shortRoot(c.rootA)} vs {shortRoot(c.rootB)} — {c.rootA === c.rootB ? '✅ equal: nothing to transfer' : `⚠️ mismatch in ${c.partitions.filter((p) => p.rootA !== p.rootB).length} partition(s)`}
          </span>
        )}
      </div>
      {props.error && <p className="error">{props.error}</p>}
      {laid && c && (
        <div className="inv-trees">
          <Side root={laid.root} side="a" title={`Node-${props.a.slice(1)} (${wa.short})`} width={laid.width} height={laid.height} minX={laid.minX} />
          <Side root={laid.root} side="b" title={`Node-${props.b.slice(1)} (${wb.short})`} width={laid.width} height={laid.height} minX={laid.minX} />
        </div>
      )}
      {c && (
        <p data-testid="merkle-transfer">
          {differing.length === 0 && c.rootA === c.rootB && 'Trees equal: an exchange would stop at the roots.'}
          {differing.length > 0 &&
            `Synchronizing different branches… ${differing.length} differing update(s) to transfer between ${wa.short} and ${wb.short}: ${differing.map((k) => PRODUCTS.find((p) => `inv/${p.sku}` === k)?.name ?? k).join(', ')}.`}
          {c.partitions.some((p) => p.keys.some((k) => k.differs && k.sameValue)) &&
            ' Some show the same stock on both sides yet differ in version: a stock counter keeps each warehouse\'s own orders, and different order histories can add up to the same total.'}
          {c.partitions.some((p) => p.otherSegments.length > 0) && ' Some differing segments hold other keys of these partitions (not SKUs), which the exchange repairs too.'}
        </p>
      )}
      <p className="hint">
        Each partition's tree has 1 root and {c?.partitions[0]?.depth ?? 10} levels; a node is the XOR of the hashes of the (key, version) entries below it, so replicas holding the same
        versions have equal hashes. An exchange compares top-down and descends only where hashes differ — red — down to the segments and their keys. The top node is the XOR of
        the SKU partitions' roots: the warehouse's Merkle root shown on its panel.
      </p>
    </section>
  );
}
