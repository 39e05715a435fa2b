import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, type Page } from 'playwright-core';
import { SHOTS, openLabInBrowser } from './browser.ts';
import { until, type LabHarness } from '../lab/lab-harness.ts';

// The Lab in a real headless Chromium against a real 3-node cluster (ports 27201-27203, Lab 23010).
// Screenshots of every page go to artifacts/screenshots/ (gitignored; CI keeps them as artifacts).

let h: LabHarness;
let browser: Browser;
let page: Page;
let close: (() => Promise<void>) | undefined;
const consoleErrors: string[] = [];

beforeAll(async () => {
  ({ h, browser, page, close } = await openLabInBrowser({ basePort: 27201, labPort: 23010, viewport: { width: 1280, height: 800 } }, consoleErrors));
}, 90_000);

afterAll(async () => {
  await close?.();
});

const card = (id: string, health: string): string => `[data-testid=node-card-${id}][data-health=${health}]`;

/** No element sticks out of the page sideways, and no two node cards overlap. */
async function expectNoOverlap(p: Page): Promise<void> {
  const layout = await p.evaluate(() => {
    const cards = Array.from(document.querySelectorAll('.card')).map((e) => e.getBoundingClientRect());
    let overlaps = 0;
    cards.forEach((a, i) => cards.slice(i + 1).forEach((b) => {
      if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1) overlaps++;
    }));
    return { overflow: document.documentElement.scrollWidth - window.innerWidth, overlaps };
  });
  expect(layout.overflow).toBeLessThanOrEqual(0);
  expect(layout.overlaps).toBe(0);
}

describe('the Lab in a browser', { timeout: 150_000 }, () => {
  it('dashboard shows three nodes up, without console errors', async () => {
    await page.goto(`${h.url}/`);
    // Generous: a loaded CI machine may take a while to load the page; the 5 s limits below are the contract.
    for (const id of ['n1', 'n2', 'n3']) await page.waitForSelector(card(id, 'up'), { timeout: 60_000 });
    await page.waitForSelector('[data-testid=ring] path', { timeout: 10_000 });
    await page.waitForSelector('[data-testid=connection]:has-text("live")', { timeout: 10_000 });
    await expectNoOverlap(page);
    await page.screenshot({ path: join(SHOTS, 'dashboard.png'), fullPage: true });
    expect(consoleErrors).toEqual([]);
  });

  it('Kill n3: its card shows down within 5 s; Restart: up again within 5 s', async () => {
    await page.click('[data-testid=kill-n3]');
    await page.waitForSelector(card('n3', 'down'), { timeout: 5000 });
    await page.screenshot({ path: join(SHOTS, 'dashboard-n3-killed.png'), fullPage: true });
    await page.click('[data-testid=restart-n3]');
    await page.waitForSelector(card('n3', 'up'), { timeout: 5000 });
    // The kill shows as a band on the charts: a fault interval with an end.
    const faults = (await (await fetch(`${h.url}/api/state`)).json()).faults as { kind: string; endT: number | null }[];
    expect(faults.some((f) => f.kind === 'kill' && f.endT !== null)).toBe(true);
  });

  it('partition {n1,n2}|{n3} from the editor while traffic runs: the checker sees it; heal: convergence time appears', async () => {
    await page.click('[data-testid=traffic-start]');
    await page.waitForSelector('[data-testid=traffic-stop]', { timeout: 5000 });
    await page.check('[data-testid=group-n3-B]');
    await page.click('[data-testid=apply-partition]');
    await page.waitForSelector('[data-testid=partition-editor] >> text=Partitioned: {n1, n2} | {n3}', { timeout: 5000 });
    // Requests through the cut-off n3 cannot reach a quorum, or reads there go stale: either way the run shows it.
    await until('the checker and the generator to show the partition', 30_000, async () => {
      const s = (await (await fetch(`${h.url}/api/state`)).json()) as { checker: { reads: number; staleReads: number }; traffic: { failed: number } };
      return s.checker.reads > 0 && (s.checker.staleReads > 0 || s.traffic.failed > 0);
    });
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=checker] .value')?.textContent ?? '0') > 0, undefined, { timeout: 5000 });
    await page.screenshot({ path: join(SHOTS, 'dashboard-partitioned.png'), fullPage: true });
    await page.click('[data-testid=heal]');
    const row = await page.waitForSelector('[data-testid=convergence-row][data-state=converged]:has-text("heal (partition n1,n2 | n3)")', { timeout: 30_000 });
    expect(await (await row.$('[data-testid=convergence-ms]'))!.textContent()).toMatch(/^\d+\.\d\d s$/);
    await page.click('[data-testid=traffic-stop]');
    await page.screenshot({ path: join(SHOTS, 'dashboard-healed.png'), fullPage: true });
    expect(consoleErrors).toEqual([]);
  });

  it('every demo route loads inside the Lab shell', async () => {
    for (const demo of ['tweetstats', 'collabdocs', 'globalcdn', 'inventorysync']) {
      await page.goto(`${h.url}/demo/${demo}`);
      await page.waitForSelector('main section', { timeout: 10_000 });
      await page.screenshot({ path: join(SHOTS, `demo-${demo}.png`), fullPage: true });
    }
    expect(consoleErrors).toEqual([]);
  });

  it('works at phone width without overlapping elements', async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
    try {
      await phone.goto(`${h.url}/`);
      for (const id of ['n1', 'n2', 'n3']) await phone.waitForSelector(`[data-testid=node-card-${id}]`, { timeout: 60_000 });
      await phone.waitForSelector('[data-testid=chart-throughput] canvas', { timeout: 30_000 });
      await expectNoOverlap(phone);
      await phone.screenshot({ path: join(SHOTS, 'dashboard-phone.png'), fullPage: true });
    } finally {
      await phone.close();
    }
  });
});
