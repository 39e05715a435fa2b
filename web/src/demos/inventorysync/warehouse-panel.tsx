import type { ReactNode } from 'react';
import { ActionButton } from '../../components/action-button.tsx';
import { labApi } from '../../data/lab-source.ts';
import { shortRoot, skuKey, warehouse, type WarehouseView } from './inventory-model.ts';

function ago(ms: number): string {
  if (ms < 60_000) return `${Math.max(0, Math.round(ms / 1000))} s ago`;
  return `${Math.floor(ms / 60_000)} min ago`;
}

/** A warehouse as in the mock-up: its own stock, last update, Merkle root, ✅/⚠️, and its network switch. */
export function WarehousePanel(props: { view: WarehouseView; sku: string; nowMs: number; isolated: boolean; others: readonly string[] }): ReactNode {
  const v = props.view;
  const w = warehouse(v.node);
  const stock = v.stock[skuKey(props.sku)] ?? null;
  const status = !v.reachable ? 'down' : v.consistent ? 'consistent' : 'inconsistent';
  return (
    <section className={`card inv-wh ${status}`} data-testid={`warehouse-${v.node}`} data-status={status} data-root={v.root ?? ''} data-stock={stock ?? ''}>
      <h3>
        🏭 {w.name} Warehouse <span className="hint">(Node-{v.node.slice(1)})</span>
      </h3>
      <div className="inv-stock">
        Stock: <b data-testid={`stock-${v.node}`}>{stock === null ? '—' : stock}</b> units{' '}
        <span data-testid={`consistency-${v.node}`}>{status === 'consistent' ? '✅' : status === 'down' ? '❌ down' : '⚠️ (Inconsistent)'}</span>
        {stock !== null && stock < 0 && <span className="error"> oversold</span>}
      </div>
      <div className="hint">Last Update: {v.lastUpdateMs === null ? '—' : ago(props.nowMs - v.lastUpdateMs)}</div>
      <div className="inv-root">
        Merkle Root: <code data-testid={`root-${v.node}`}>{shortRoot(v.root)}</code>
      </div>
      <footer>
        {props.isolated ? (
          <ActionButton label="Heal network" testId={`inv-heal-${v.node}`} onClick={() => labApi.heal()} />
        ) : (
          <ActionButton label={`Partition ${w.short}`} kind="danger" testId={`inv-partition-${v.node}`} onClick={() => labApi.partition([[v.node], [...props.others]])} />
        )}
      </footer>
    </section>
  );
}
