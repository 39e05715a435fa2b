import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Page } from 'playwright-core';
import { SHOTS, openLabInBrowser } from './browser.ts';
import type { LabHarness } from '../lab/lab-harness.ts';

// TweetStats (issue 8) in a real headless Chromium against a real 3-node cluster
// (nodes 27320-27322, Lab 23220). Screenshots go to artifacts/screenshots/.
const NODES = ['n1', 'n2', 'n3'];

let h: LabHarness;
let page: Page;
let close: (() => Promise<void>) | undefined;
const consoleErrors: string[] = [];

beforeAll(async () => {
  ({ h, page, close } = await openLabInBrowser({ basePort: 27320, labPort: 23220, viewport: { width: 1280, height: 900 } }, consoleErrors));
}, 90_000);

afterAll(async () => {
  await close?.();
});

/** Every replica row's value, or null when the rows do not all show the same number. */
async function agreedValue(p: Page): Promise<number | null> {
  return p.evaluate((ids) => {
    const vs = ids.map((id) => document.querySelector(`[data-testid=replica-row-${id}]`)?.getAttribute('data-value') ?? '');
    const statuses = ids.map((id) => document.querySelector(`[data-testid=replica-row-${id}]`)?.getAttribute('data-status'));
    return vs.every((v) => v !== '' && v === vs[0]) && statuses.every((s) => s === 'synced') ? Number(vs[0]) : null;
  }, NODES);
}

async function waitAgreed(p: Page, value: number | null, timeout: number): Promise<number> {
  const handle = await p.waitForFunction(
    ({ ids, want }) => {
      const rows = ids.map((id) => document.querySelector(`[data-testid=replica-row-${id}]`));
      const vs = rows.map((r) => r?.getAttribute('data-value') ?? '');
      const ok = vs.every((v) => v !== '' && v === vs[0]) && rows.every((r) => r?.getAttribute('data-status') === 'synced');
      // An object: a bare 0 would read as "not yet" to waitForFunction.
      return ok && (want === null || Number(vs[0]) === want) ? { value: Number(vs[0]) } : false;
    },
    { ids: NODES, want: value },
    { timeout, polling: 50 },
  );
  return ((await handle.jsonValue()) as { value: number }).value;
}

describe('TweetStats in a browser', { timeout: 90_000 }, () => {
  it('[TS1] 20 Like clicks through different nodes: every replica row shows the same count +20 within 2 s', async () => {
    await page.goto(`${h.url}/demo/tweetstats`);
    await page.waitForSelector('[data-testid=tweet-text]:has-text("Hello, distributed world!")', { timeout: 30_000 });
    const before = await waitAgreed(page, null, 30_000);
    for (let i = 0; i < 20; i++) {
      if (i % 7 === 0) await page.selectOption('[data-testid=live-node]', NODES[(i / 7) % 3]!);
      await page.click('[data-testid=like]');
    }
    await waitAgreed(page, before + 20, 2000);
    await page.waitForSelector('[data-testid=click-tally]:has-text("20 acknowledged")', { timeout: 5000 });
    await page.waitForSelector(`[data-testid=likes-count]:has-text("${before + 20}")`, { timeout: 5000 });
    await page.screenshot({ path: join(SHOTS, 'tweetstats.png'), fullPage: true });
    expect(await agreedValue(page)).toBe(before + 20);
  });

  it('[TS3] isolating n2 shows ⏳ with a growing lag; healing brings it back to ✅ and records the catch-up time', async () => {
    await page.selectOption('[data-testid=live-node]', 'n1');
    await page.click('[data-testid=ts-isolate-n2]');
    await page.waitForSelector('[data-testid=ts-heal-n2]', { timeout: 5000 });
    // Writes through n1 (W=2: n1 and n3 acknowledge); n2 cannot hear of them.
    await page.click('[data-testid=like]');
    await page.click('[data-testid=like]');
    await page.waitForSelector('[data-testid=replica-row-n2][data-status=syncing]', { timeout: 10_000 });
    const lag = async (): Promise<number> => Number(((await page.textContent('[data-testid=replica-lag-n2]')) ?? '').replace(/s$/, ''));
    const first = await lag();
    await page.waitForFunction((f) => Number((document.querySelector('[data-testid=replica-lag-n2]')?.textContent ?? '').replace(/s$/, '')) >= f + 1, first, { timeout: 10_000 });
    expect(await lag()).toBeGreaterThan(first);
    await page.screenshot({ path: join(SHOTS, 'tweetstats-isolated.png'), fullPage: true });
    await page.click('[data-testid=ts-heal-n2]');
    await page.waitForSelector('[data-testid=replica-row-n2][data-status=synced]', { timeout: 30_000 });
    const catchup = (await page.textContent('[data-testid=replica-catchup-n2]')) ?? '';
    expect(catchup).toMatch(/last catch-up took \d+\.\ds/);
    await page.screenshot({ path: join(SHOTS, 'tweetstats-healed.png'), fullPage: true });
  });

  it('[TS2] a high-traffic burst with n3 killed and restarted in the middle: all replicas equal the acknowledged count, and the page says so', async () => {
    await waitAgreed(page, null, 30_000);
    await page.fill('[data-testid=burst-rate]', '30');
    await page.fill('[data-testid=burst-duration]', '12');
    await page.click('[data-testid=burst-start]');
    const acked = async (): Promise<number> => Number((await page.textContent('[data-testid=burst-acked] .value')) ?? '0');
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=burst-acked] .value')?.textContent ?? '0') >= 40, undefined, { timeout: 20_000 });
    await page.click('[data-testid=ts-kill-n3]');
    await page.waitForSelector('[data-testid=replica-row-n3][data-status=down]', { timeout: 10_000 });
    const atKill = await acked();
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid=burst-acked] .value')?.textContent ?? '0') >= n + 60, atKill, { timeout: 20_000 });
    await page.screenshot({ path: join(SHOTS, 'tweetstats-burst-n3-down.png'), fullPage: true });
    await page.click('[data-testid=ts-restart-n3]');
    const result = await page.waitForSelector('[data-testid=burst-result]', { timeout: 60_000 });
    expect(await result.getAttribute('data-lost')).toBe('0');
    expect(await result.getAttribute('data-converged')).toBe('true');
    expect(await result.textContent()).toContain('0 lost');
    const burst = ((await (await fetch(`${h.url}/api/demo/burst`)).json()) as { burst: { acknowledged: number; unresolved: number; result: { baseline: number; finals: Record<string, number> } } }).burst;
    expect(burst.unresolved).toBe(0);
    for (const id of NODES) expect(burst.result.finals[id]).toBe(burst.result.baseline + burst.acknowledged);
    await waitAgreed(page, burst.result.baseline + burst.acknowledged, 10_000);
    await page.screenshot({ path: join(SHOTS, 'tweetstats-burst-done.png'), fullPage: true });
    // The only console errors allowed are the browser's own logs of requests the page expected
    // to fail (a read through a killed node answers 503).
    expect(consoleErrors.filter((e) => !/status of 50[234]/.test(e))).toEqual([]);
  });
});
