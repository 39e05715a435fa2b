import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { MerkleCompare } from '../../../src/lab/demo-types.ts';
import { demoApi, idempotencyKey, useDemoLive } from '../data/demo-live-source.ts';
import { useLab } from '../data/lab-source.ts';
import { AeStatus, type AeView } from './inventorysync/ae-status.tsx';
import { aeProgress, INITIAL_STOCK, KEYS, PRODUCTS, skuKey, stockOf, transactionLog, warehouse, warehouseViews, type LedgerEntry } from './inventorysync/inventory-model.ts';
import { MerkleView } from './inventorysync/merkle-view.tsx';
import { OrderForm } from './inventorysync/order-form.tsx';
import { WarehousePanel } from './inventorysync/warehouse-panel.tsx';
import './inventorysync/inventorysync.css';

/** While the trees are open they are compared again this often. */
const COMPARE_EVERY_MS = 2000;
const FIRST_ORDER_NO = 12345;
const LOG_SHOWN = 40;

/** `/demo/inventorysync` — issue 11: warehouse stock kept consistent by Merkle anti-entropy. */
export default function InventorySyncPage(): ReactNode {
  const { state, events } = useLab();
  const live = useDemoLive({ keys: KEYS, merkle: true });
  const s = live.snapshot;
  const [sku, setSku] = useState<string>(PRODUCTS[0].sku);
  const [ledger, setLedger] = useState<LedgerEntry[]>([]);
  const [baseline, setBaseline] = useState<Record<string, number> | null>(null);
  const [treesOpen, setTreesOpen] = useState(false);
  const [pair, setPair] = useState<[string, string]>(['n1', 'n2']);
  const [compare, setCompare] = useState<MerkleCompare | null>(null);
  const [compareError, setCompareError] = useState<string | null>(null);
  const [pageSince] = useState(() => Date.now());
  const nodes = useMemo(() => (s?.nodes ?? []).map((n) => n.id), [s?.nodes]);
  const { views, discrepancies, rootsAgree } = useMemo(() => warehouseViews(s), [s]);
  const running = (state?.nodes ?? []).filter((n) => n.process === 'running').map((n) => n.id);

  // Every product exists once with its initial stock: the fixed Idempotency-Key makes it exactly once.
  const initialised = useRef(false);
  useEffect(() => {
    if (initialised.current || running.length === 0) return;
    initialised.current = true;
    const via = running[0]!;
    for (const p of PRODUCTS)
      void demoApi.patch(via, skuKey(p.sku), { name: { $set: p.name }, sku: { $set: p.sku }, stock: { $inc: INITIAL_STOCK } }, { idem: `inv-init-${p.sku}` }).catch(() => undefined);
  }, [running]);

  // The ledger starts from the first moment every warehouse agrees on every SKU.
  useEffect(() => {
    if (baseline || !s || !rootsAgree || discrepancies.length > 0) return;
    const b: Record<string, number> = {};
    for (const k of KEYS) {
      const v = stockOf(s.values[k]?.[nodes[0] ?? '']);
      if (v === null) return;
      b[k] = v;
    }
    setBaseline(b);
  }, [s, rootsAgree, discrepancies.length, baseline, nodes]);

  // The current repair: from the last heal or manual sync, with what was found then.
  const lastRepair = events.find((e) => e.type === 'lab.heal' || e.type === 'demo.manual-sync');
  const repairSince = lastRepair && lastRepair.atMs >= pageSince ? lastRepair.atMs : null;
  const [found, setFound] = useState<{ at: number; n: number; convergedAt: number | null } | null>(null);
  useEffect(() => {
    if (repairSince === null || found?.at === repairSince) return;
    setFound({ at: repairSince, n: discrepancies.length, convergedAt: null });
  }, [repairSince, found, discrepancies.length]);
  useEffect(() => {
    if (found && found.convergedAt === null && rootsAgree && s && s.atMs > found.at) setFound({ ...found, convergedAt: s.atMs });
  }, [found, rootsAgree, s]);

  // Compare the two chosen trees while they are open.
  useEffect(() => {
    if (!treesOpen) return;
    let stop = false;
    let timer: number | undefined;
    // One comparison at a time: the next starts a while after the last one answered.
    const run = (): void => {
      demoApi
        .compare(pair[0], pair[1], KEYS)
        .then((c) => {
          if (stop) return;
          setCompare(c);
          setCompareError(null);
        })
        .catch((e: unknown) => !stop && setCompareError((e as Error).message))
        .finally(() => {
          if (!stop) timer = window.setTimeout(run, COMPARE_EVERY_MS);
        });
    };
    run();
    return () => {
      stop = true;
      window.clearTimeout(timer);
    };
  }, [treesOpen, pair]);

  const groups = state?.plan.groups ?? [];
  const isolated = groups.length > 1 ? groups.filter((g) => g.length === 1).flat() : [];
  const partitioned = groups.length > 1;
  const progress = repairSince !== null ? aeProgress(events, repairSince) : {};
  const repairs = transactionLog([], events, repairSince ?? pageSince)
    .filter((l) => l.kind === 'sync' && !l.text.startsWith('Manual'))
    .map((l) => `${l.who}: ${l.text}`);
  const aeView: AeView = {
    partitioned,
    discrepancies: discrepancies.length,
    foundAtStart: found && found.at === repairSince ? found.n : null,
    rootsAgree,
    progress,
    repairs,
    convergedInMs: found?.convergedAt != null ? found.convergedAt - found.at : null,
  };

  const place = async (node: string, delta: number): Promise<void> => {
    const key = skuKey(sku);
    const seen = stockOf(s?.values[key]?.[node]);
    const orderNo = FIRST_ORDER_NO + ledger.length;
    const base = { atMs: Date.now(), node, sku, delta, orderNo, oversell: delta < 0 && seen !== null && seen + delta < 0 };
    try {
      await demoApi.patch(node, key, { stock: { $inc: delta } }, { w: 1, idem: idempotencyKey(`order-${orderNo}`) });
      setLedger((l) => [...l, { ...base, ok: true }]);
    } catch (e) {
      setLedger((l) => [...l, { ...base, ok: false, error: (e as Error).message }]);
    }
  };

  const log = transactionLog(ledger, events, pageSince).slice(0, LOG_SHOWN);
  const key = skuKey(sku);
  const applied = ledger.filter((l) => l.ok && l.sku === sku && baseline !== null && l.atMs >= 0);
  const ordered = -applied.filter((l) => l.delta < 0).reduce((n, l) => n + l.delta, 0);
  const restocked = applied.filter((l) => l.delta > 0).reduce((n, l) => n + l.delta, 0);
  const expected = baseline ? (baseline[key] ?? 0) - ordered + restocked : null;
  const finals = views.map((v) => v.stock[key] ?? null);
  const ledgerOk = expected !== null && finals.length > 0 && finals.every((f) => f === expected);
  const nowMs = s?.atMs ?? Date.now();
  const product = PRODUCTS.find((p) => p.sku === sku)!;

  return (
    <div className="inv-page" data-testid="inventorysync">
      <section className="panel">
        <h2>📦 InventorySync — Distributed Warehouse Management</h2>
        <p className="inv-product">
          Product:{' '}
          <select value={sku} onChange={(e) => setSku(e.target.value)} data-testid="product">
            {PRODUCTS.map((p) => (
              <option key={p.sku} value={p.sku}>
                {p.name} (SKU: {p.sku})
              </option>
            ))}
          </select>
        </p>
        <p className="hint">
          Each warehouse is a node; its panel shows its own copy (<code>?local=true</code>). {live.connected ? 'Live.' : 'Connecting…'}
        </p>
      </section>
      <h3 className="inv-sub">Warehouse Inventory Status</h3>
      <div className="inv-warehouses">
        {views.map((v) => (
          <WarehousePanel key={v.node} view={v} sku={sku} nowMs={nowMs} isolated={isolated.includes(v.node)} others={nodes.filter((n) => n !== v.node)} />
        ))}
      </div>
      <div className="inv-mid">
        <AeStatus view={aeView} autoSync={s?.autoSync ?? null} onManual={() => demoApi.sync()} onAuto={(on) => demoApi.autoSync(on)} onTrees={() => setTreesOpen((o) => !o)} treesOpen={treesOpen} />
        <OrderForm nodes={nodes} sku={sku} onSku={setSku} localStock={(n) => stockOf(s?.values[key]?.[n])} onSubmit={place} />
      </div>
      <section className="panel inv-ledger" data-testid="ledger-check" data-ok={String(ledgerOk)} data-expected={expected ?? ''}>
        <b>Ledger check, {product.name}:</b>{' '}
        {expected === null ? (
          'waiting for every warehouse to agree once…'
        ) : (
          <>
            initial {baseline![key]} − {ordered} ordered + {restocked} restocked (acknowledged, from this page) = <b>{expected}</b>; warehouses:{' '}
            {views.map((v) => `${warehouse(v.node).short} ${v.stock[key] ?? '—'}`).join(', ')} {ledgerOk ? '✅ all equal it' : '⏳ not yet'}
          </>
        )}
      </section>
      {treesOpen && <MerkleView compare={compare} error={compareError} a={pair[0]} b={pair[1]} nodes={nodes} onPick={(a, b) => setPair([a, b])} />}
      <section className="panel inv-log" data-testid="transaction-log">
        <h2>Recent Transactions</h2>
        {log.length === 0 && <p className="hint">No transactions yet: place an order, partition a warehouse, heal.</p>}
        <ul>
          {log.map((l, i) => (
            <li key={`${l.atMs}-${i}`} className={l.kind}>
              • <b>{l.who}</b>: {l.text} <time>@ {new Date(l.atMs).toLocaleTimeString()}</time>
            </li>
          ))}
        </ul>
      </section>
    </div>
  );
}
