import type { LiveSnapshot, ReplicaValue } from '../../../../src/lab/demo-types.ts';
import type { LabEvent } from '../../../../src/lab/lab-types.ts';

/** The demo's products: stock is a PN-counter field of the document `inv/<SKU>`. */
export const PRODUCTS = [
  { sku: 'APL-IP14P-128', name: 'iPhone 14 Pro' },
  { sku: 'SAM-GS23-256', name: 'Galaxy S23' },
  { sku: 'GOO-PX7-128', name: 'Pixel 7' },
  { sku: 'APL-APP2-USB', name: 'AirPods Pro' },
] as const;

export const INITIAL_STOCK = 245;

/** Warehouses are nodes; others (added in the Lab) get their node id as name. */
const WAREHOUSES: Record<string, { name: string; short: string }> = {
  n1: { name: 'New York', short: 'NY' },
  n2: { name: 'Los Angeles', short: 'LA' },
  n3: { name: 'Chicago', short: 'Chicago' },
};

export function warehouse(node: string): { name: string; short: string } {
  return WAREHOUSES[node] ?? { name: `Warehouse ${node}`, short: node };
}

export const skuKey = (sku: string): string => `inv/${sku}`;
export const KEYS = PRODUCTS.map((p) => skuKey(p.sku));

export function stockOf(v: ReplicaValue | undefined): number | null {
  if (!v || (v.state !== 'ok' && v.state !== 'down' && v.state !== 'unreachable')) return null;
  const s = (v.value as { stock?: unknown } | null)?.stock;
  return typeof s === 'number' ? s : null;
}

/** `0xA7F2…B3C1`, the mock-up's short form of a 64-bit root. */
export function shortRoot(hex: string | null): string {
  if (!hex) return '—';
  const h = hex.toUpperCase();
  return `0x${h.slice(0, 4)}…${h.slice(-4)}`;
}

export interface WarehouseView {
  readonly node: string;
  readonly stock: Readonly<Record<string, number | null>>;
  readonly root: string | null;
  readonly lastUpdateMs: number | null;
  readonly consistent: boolean;
  readonly reachable: boolean;
}

/** Per warehouse: its stock of every SKU, its root, and whether it agrees with the majority. */
export function warehouseViews(s: LiveSnapshot | null): { views: WarehouseView[]; discrepancies: string[]; rootsAgree: boolean } {
  if (!s) return { views: [], discrepancies: [], rootsAgree: false };
  const nodes = s.nodes.map((n) => n.id);
  const roots = nodes.map((n) => s.merkle?.[n]?.root ?? null);
  const tally = new Map<string, number>();
  for (const r of roots) if (r) tally.set(r, (tally.get(r) ?? 0) + 1);
  const majority = [...tally].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
  // A SKU differs when the warehouses show different stock, or when the roots of its partition
  // differ (same total, different order histories — what the Merkle trees see).
  const discrepancies = KEYS.filter((k) => {
    const p = String(s.placement[k]?.partition ?? '');
    const partitionRoots = new Set(nodes.map((n) => s.merkle?.[n]?.partitions[p] ?? ''));
    return new Set(nodes.map((n) => String(stockOf(s.values[k]?.[n])))).size > 1 || partitionRoots.size > 1;
  });
  const views = s.nodes.map((n, i) => {
    const stock: Record<string, number | null> = {};
    let last: number | null = null;
    for (const k of KEYS) {
      const v = s.values[k]?.[n.id];
      stock[k] = stockOf(v);
      if (v && (last === null || v.changedAtMs > last)) last = v.changedAtMs;
    }
    const root = roots[i] ?? null;
    const valuesAgree = discrepancies.every((k) => {
      // In the majority for each differing key.
      const mine = String(stock[k]);
      const same = nodes.filter((m) => String(stockOf(s.values[k]?.[m])) === mine).length;
      return same * 2 > nodes.length;
    });
    return { node: n.id, stock, root, lastUpdateMs: last, consistent: root !== null && root === majority && (tally.get(root) ?? 0) * 2 > nodes.length && valuesAgree, reachable: n.process === 'running' };
  });
  return { views, discrepancies, rootsAgree: tally.size === 1 && roots.every((r) => r !== null) };
}

/** One line of the Transaction Log. */
export interface LogEntry {
  readonly atMs: number;
  readonly who: string;
  readonly text: string;
  readonly kind: 'order' | 'restock' | 'partition' | 'sync' | 'heal' | 'failed' | 'warning';
}

/** What the page itself did: orders and restocks it placed, acknowledged or not. */
export interface LedgerEntry {
  readonly atMs: number;
  readonly node: string;
  readonly sku: string;
  readonly delta: number;
  readonly orderNo: number;
  readonly ok: boolean;
  readonly error?: string;
  readonly oversell?: boolean;
}

/** The Transaction Log: the page's orders plus, from the event stream, partitions and syncs. */
export function transactionLog(ledger: readonly LedgerEntry[], events: readonly LabEvent[], since: number): LogEntry[] {
  const out: LogEntry[] = [];
  for (const l of ledger) {
    const p = PRODUCTS.find((x) => x.sku === l.sku)?.name ?? l.sku;
    const what = l.delta < 0 ? `${l.delta} units (Order #${l.orderNo})` : `+${l.delta} units (Restock #${l.orderNo})`;
    out.push({ atMs: l.atMs, who: warehouse(l.node).short, kind: l.ok ? (l.delta < 0 ? 'order' : 'restock') : 'failed', text: `${what} ${p}${l.ok ? '' : ` — failed: ${l.error ?? ''}`}${l.oversell ? ' ⚠️ oversell' : ''}` });
  }
  for (const e of events) {
    if (e.atMs < since) continue;
    const w = (id: unknown): string => warehouse(String(id)).short;
    if (e.type === 'lab.partition') {
      const groups = (e.groups as string[][] | undefined) ?? [];
      for (const g of groups) if (g.length === 1 && groups.length > 1) out.push({ atMs: e.atMs, who: w(g[0]), kind: 'partition', text: 'Network partition: cut off from the other warehouses' });
    } else if (e.type === 'lab.heal') out.push({ atMs: e.atMs, who: 'Lab', kind: 'heal', text: 'Network healed' });
    else if (e.type === 'member-state' && e.state === 'down') out.push({ atMs: e.atMs, who: w(e.node), kind: 'partition', text: `Partition detected: ${w(e.member)} is ${String(e.state)}` });
    else if (e.type === 'hints-delivered' && Number(e.count) > 0) out.push({ atMs: e.atMs, who: w(e.target), kind: 'sync', text: `Received ${String(e.count)} hinted update(s) from ${w(e.node)}` });
    else if (e.type === 'ae-exchange' && (Number(e.keysSent) > 0 || Number(e.keysFetched) > 0)) {
      if (Number(e.keysSent) > 0) out.push({ atMs: e.atMs, who: w(e.peer), kind: 'sync', text: `Received sync from ${w(e.node)}: ${String(e.keysSent)} update(s), partition ${String(e.partition)}` });
      if (Number(e.keysFetched) > 0) out.push({ atMs: e.atMs, who: w(e.node), kind: 'sync', text: `Received sync from ${w(e.peer)}: ${String(e.keysFetched)} update(s), partition ${String(e.partition)}` });
    } else if (e.type === 'demo.manual-sync') out.push({ atMs: e.atMs, who: 'Lab', kind: 'sync', text: 'Manual sync: an anti-entropy round on every warehouse' });
  }
  return out.sort((a, b) => b.atMs - a.atMs);
}

/**
 * Each node's anti-entropy progress since `since` (a heal or a manual sync): its latest round
 * that completed since then, else its latest progress. A node that finished the sync stays
 * "Synced" while its next rounds run (automatic sync starts one every few seconds), so the bar
 * shows the sync the heal started, not the round after it.
 */
export function aeProgress(events: readonly LabEvent[], since: number): Record<string, { percent: number; done: number; total: number; trigger: string; atMs: number }> {
  const out: Record<string, { percent: number; done: number; total: number; trigger: string; atMs: number }> = {};
  for (const e of events) {
    if (e.atMs < since || e.type !== 'ae-progress') continue;
    const percent = Number(e.percent);
    const seen = out[e.node];
    if (seen !== undefined && (seen.percent >= 100 || percent < 100)) continue;
    out[e.node] = { percent, done: Number(e.done), total: Number(e.total), trigger: String(e.trigger), atMs: e.atMs };
  }
  return out;
}
