import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Page } from 'playwright-core';
import { SHOTS, openLabInBrowser } from './browser.ts';
import type { LabHarness } from '../lab/lab-harness.ts';

// InventorySync (issue 11) in a real headless Chromium against a real 3-node cluster
// (nodes 27330-27332, Lab 23221). Screenshots go to artifacts/screenshots/.
const NODES = ['n1', 'n2', 'n3'];

let h: LabHarness;
let page: Page;
let close: (() => Promise<void>) | undefined;
const consoleErrors: string[] = [];

beforeAll(async () => {
  ({ h, page, close } = await openLabInBrowser({ basePort: 27330, labPort: 23221, viewport: { width: 1280, height: 900 } }, consoleErrors));
}, 90_000);

afterAll(async () => {
  await close?.();
});

async function order(p: Page, node: string, units: number): Promise<void> {
  const before = await p.locator('[data-testid=transaction-log] li.order').count();
  await p.selectOption('[data-testid=order-node]', node);
  await p.fill('[data-testid=order-qty]', String(units));
  await p.click('[data-testid=place-order]');
  // Acknowledged: the page logs it as an order (a failure would be logged as failed).
  await p.waitForFunction((n) => document.querySelectorAll('[data-testid=transaction-log] li.order').length > n, before, { timeout: 10_000 });
}

const root = (p: Page, id: string): Promise<string | null> => p.getAttribute(`[data-testid=warehouse-${id}]`, 'data-root');

describe('InventorySync in a browser', { timeout: 90_000 }, () => {
  it('[IS1] partition LA and order on both sides: LA shows ⚠️ with a different Merkle root', async () => {
    await page.goto(`${h.url}/demo/inventorysync`);
    for (const id of NODES) await page.waitForSelector(`[data-testid=warehouse-${id}][data-status=consistent][data-stock="245"]`, { timeout: 30_000 });
    await page.waitForSelector('[data-testid=ledger-check][data-expected="245"]', { timeout: 10_000 });
    await page.click('[data-testid=inv-partition-n2]');
    await page.waitForSelector('[data-testid=inv-heal-n2]', { timeout: 5000 });
    await order(page, 'n1', 2);
    await order(page, 'n2', 3);
    await order(page, 'n3', 1);
    await page.waitForSelector('[data-testid=warehouse-n2][data-status=inconsistent]', { timeout: 10_000 });
    // The roots are polled a little after the stock: wait for LA's to differ from NY's.
    await page.waitForFunction(
      () => {
        const r = (id: string) => document.querySelector(`[data-testid=warehouse-${id}]`)?.getAttribute('data-root');
        return r('n2') !== null && r('n1') !== null && r('n2') !== r('n1');
      },
      undefined,
      { timeout: 10_000 },
    );
    expect(await root(page, 'n2')).not.toBe(await root(page, 'n1'));
    // NY and Chicago exchange their orders directly (both sides of the cut agree again).
    await page.waitForSelector('[data-testid=warehouse-n1][data-status=consistent]', { timeout: 10_000 });
    await page.waitForSelector('[data-testid=warehouse-n3][data-status=consistent]', { timeout: 10_000 });
    expect(await page.textContent('[data-testid=consistency-n2]')).toContain('Inconsistent');
    await page.waitForSelector('[data-testid=transaction-log] li.partition', { timeout: 10_000 });
    await page.screenshot({ path: join(SHOTS, 'inventorysync-partitioned.png'), fullPage: true });
  });

  it('[IS3] View Merkle Trees during the partition highlights the differing path down to the SKU key', async () => {
    await page.click('[data-testid=view-trees]');
    await page
      .waitForSelector('[data-testid=merkle-tree-a] [data-testid="merkle-key-APL-IP14P-128"][data-differs=true]', { timeout: 30_000, state: 'attached' })
      .catch(async (e: unknown) => {
        await page.screenshot({ path: join(SHOTS, 'inventorysync-merkle-FAILED.png'), fullPage: true });
        throw e;
      });
    await page.waitForSelector('[data-testid=merkle-tree-b] [data-testid="merkle-key-APL-IP14P-128"]', { timeout: 5000, state: 'attached' });
    // The path from the root to the key is red at every level: root, partition, every tree level.
    const differingNodes = await page.locator('[data-testid=merkle-tree-a] g.diff').count();
    expect(differingNodes).toBeGreaterThanOrEqual(12);
    expect(await page.textContent('[data-testid=merkle-transfer]')).toContain('iPhone 14 Pro');
    await page.locator('[data-testid=merkle-view]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SHOTS, 'inventorysync-merkle-trees.png'), fullPage: true });
  });

  it('[IS2] heal: the progress bar runs, all panels agree on stock and root within 10 s, and the stock is initial minus acknowledged orders', async () => {
    await page.check('[data-testid=auto-sync]');
    await page.click('[data-testid=inv-heal-n2]');
    const healedAt = Date.now();
    await page.waitForSelector('[data-testid=ae-progress] [data-percent]', { timeout: 10_000 });
    await page.waitForFunction(
      (ids) => {
        const panels = ids.map((id) => document.querySelector(`[data-testid=warehouse-${id}]`));
        const roots = panels.map((p) => p?.getAttribute('data-root') ?? '');
        const stocks = panels.map((p) => p?.getAttribute('data-stock') ?? '');
        return panels.every((p) => p?.getAttribute('data-status') === 'consistent') && roots.every((r) => r !== '' && r === roots[0]) && stocks.every((s) => s === '239');
      },
      NODES,
      { timeout: 10_000, polling: 100 },
    );
    expect(Date.now() - healedAt).toBeLessThan(10_000 + 500);
    await page.waitForSelector('[data-testid=ledger-check][data-ok=true][data-expected="239"]', { timeout: 5000 });
    await page.waitForSelector('[data-testid=ae-status][data-state=consistent]', { timeout: 5000 });
    await page.waitForSelector('[data-testid=ae-progress] [data-percent="100"]', { timeout: 10_000 });
    await page.waitForSelector('[data-testid=merkle-summary][data-differing="0"]', { timeout: 10_000 });
    await page.screenshot({ path: join(SHOTS, 'inventorysync-healed.png'), fullPage: true });
    await page.uncheck('[data-testid=auto-sync]');
    expect(consoleErrors).toEqual([]);
  });
});
