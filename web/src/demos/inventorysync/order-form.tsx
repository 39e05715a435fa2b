import { useState, type ReactNode } from 'react';
import { PRODUCTS, warehouse } from './inventory-model.ts';

/** Orders and restocks at a chosen warehouse, with the oversell warning before it happens. */
export function OrderForm(props: {
  nodes: readonly string[];
  sku: string;
  onSku: (sku: string) => void;
  localStock: (node: string) => number | null;
  onSubmit: (node: string, delta: number) => Promise<void>;
}): ReactNode {
  const [node, setNode] = useState(props.nodes[0] ?? 'n1');
  const [qty, setQty] = useState(2);
  const [busy, setBusy] = useState(false);
  const seen = props.localStock(node);
  const oversell = seen !== null && seen - qty < 0;
  const run = (delta: number): void => {
    setBusy(true);
    void props.onSubmit(node, delta).finally(() => setBusy(false));
  };
  return (
    <section className="panel inv-orders" data-testid="order-form">
      <h2>Orders</h2>
      <div className="row fields">
        <label>
          warehouse
          <select value={node} onChange={(e) => setNode(e.target.value)} data-testid="order-node">
            {props.nodes.map((n) => (
              <option key={n} value={n}>
                {warehouse(n).name}
              </option>
            ))}
          </select>
        </label>
        <label>
          product
          <select value={props.sku} onChange={(e) => props.onSku(e.target.value)} data-testid="order-sku">
            {PRODUCTS.map((p) => (
              <option key={p.sku} value={p.sku}>
                {p.name} ({p.sku})
              </option>
            ))}
          </select>
        </label>
        <label>
          units
          <input type="number" min={1} max={1000} value={qty} onChange={(e) => setQty(Math.max(1, Math.min(1000, Math.round(Number(e.target.value)) || 1)))} data-testid="order-qty" />
        </label>
        <button type="button" className={oversell ? 'danger' : 'primary'} disabled={busy} onClick={() => run(-qty)} data-testid="place-order">
          {oversell ? 'Place order anyway' : 'Place order'}
        </button>
        <button type="button" disabled={busy} onClick={() => run(qty)} data-testid="restock">
          Restock
        </button>
      </div>
      {oversell && (
        <p className="inv-oversell" data-testid="oversell-warning">
          ⚠️ Oversell: {warehouse(node).name} sees {seen} unit(s); this order takes its view to {seen - qty}. Eventual consistency allows it: each warehouse takes orders
          against its own copy (W=1) so it keeps selling during a partition, and the stock counter merges every warehouse's orders afterwards — two sides can each sell the
          last units. Preventing it needs coordination (a quorum or a reservation per warehouse), which is exactly what a partition takes away.
        </p>
      )}
      <p className="hint">
        Each order is a <code>PATCH {'{"stock":{"$inc":-n}}'}</code> with its own Idempotency-Key, written at the chosen warehouse with W=1: it is acknowledged by that
        warehouse alone, so orders keep flowing on both sides of a partition.
      </p>
    </section>
  );
}
