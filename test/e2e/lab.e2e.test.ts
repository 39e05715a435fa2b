import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, type Page } from 'playwright-core';
import type { LabRun } from '../../src/lab/lab-types.ts';
import { SHOTS, openLabInBrowser } from './browser.ts';
import { until, type LabHarness } from '../lab/lab-harness.ts';

// The Lab in a real headless Chromium against a real 3-node cluster (HTTP 27650-27652, peers
// 23650-23652, Lab 23655). Screenshots of every page go to artifacts/screenshots/ (gitignored;
// CI keeps them as artifacts).

let h: LabHarness;
let browser: Browser;
let page: Page;
let close: (() => Promise<void>) | undefined;
const consoleErrors: string[] = [];

beforeAll(async () => {
  ({ h, browser, page, close } = await openLabInBrowser({ basePort: 27650, peerBasePort: 23650, labPort: 23655, viewport: { width: 1280, height: 800 } }, consoleErrors));
}, 90_000);

afterAll(async () => {
  await close?.();
});

const card = (id: string, health: string): string => `[data-testid=node-card-${id}][data-health=${health}]`;

/** Skew and replay have no contractual deadline: generous, for a loaded machine (the 5 s of kill/restart are the contract). */
const REPLAY_MS = 20_000;

/** The largest value a chart shows now (its `data-ymax`), or 0 when it shows none. */
const chartMax = (p: Page, testId: string): Promise<number> => p.$eval(`[data-testid=${testId}]`, (el) => Number(el.getAttribute('data-ymax') || 0));

/** Moves the replay slider to `t` ms the way dragging it does (an input event), and waits for the page to follow. */
async function seek(p: Page, t: number): Promise<void> {
  await p.$eval(
    '[data-testid=replay-slider]',
    (el, v) => {
      const input = el as HTMLInputElement;
      // React tracks the value it set last; the prototype's setter is what a user's drag goes through.
      Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!.call(input, String(v));
      input.dispatchEvent(new Event('input', { bubbles: true }));
    },
    t,
  );
  await p.waitForFunction((v) => Math.abs(Number(document.querySelector('[data-testid=replay-time]')?.getAttribute('data-t')) - v) <= 100, t, { timeout: REPLAY_MS });
}

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
    for (const chart of ['throughput', 'latency', 'lag', 'traffic']) await page.waitForSelector(`[data-testid=chart-${chart}] canvas`, { timeout: 10_000 });
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
    // Replication lag: writes the cut-off n3 missed pile up as hints on the other side.
    await until('the lag chart to rise during the partition', 20_000, async () => (await chartMax(page, 'chart-lag')) > 0);
    await page.screenshot({ path: join(SHOTS, 'dashboard-partitioned.png'), fullPage: true });
    await page.click('[data-testid=heal]');
    const row = await page.waitForSelector('[data-testid=convergence-row][data-state=converged]:has-text("heal (partition n1,n2 | n3)")', { timeout: 30_000 });
    expect(await (await row.$('[data-testid=convergence-ms]'))!.textContent()).toMatch(/^\d+\.\d\d s$/);
    await page.click('[data-testid=traffic-stop]');
    await page.screenshot({ path: join(SHOTS, 'dashboard-healed.png'), fullPage: true });
    expect(consoleErrors).toEqual([]);
  });

  it('clock skew from a node card: shown on the card, as a band and in the event log; set back to 0', async () => {
    await page.fill('[data-testid=skew-input-n2]', '3600');
    await page.click('[data-testid=skew-set-n2]');
    await page.waitForSelector('[data-testid=node-clock-n2]:has-text("+1h skew")', { timeout: REPLAY_MS });
    // n2 stamps its own events an hour ahead: the log marks them.
    await page.waitForSelector('[data-testid=event-log] [data-testid=event-clock-off]:has-text("clock +1h")', { timeout: REPLAY_MS });
    const state = (await (await fetch(`${h.url}/api/state`)).json()) as { faults: { kind: string; label: string; endT: number | null }[] };
    expect(state.faults.some((f) => f.kind === 'skew' && f.label === 'n2 clock +1h' && f.endT === null)).toBe(true);
    const node = (await (await fetch(`${h.cluster.urlOf('n2')}/admin/faults`)).json()) as { faults: unknown };
    expect(node.faults).toEqual({ clockSkewMs: 3_600_000 });
    await page.screenshot({ path: join(SHOTS, 'dashboard-skew.png'), fullPage: true });
    await page.fill('[data-testid=skew-input-n2]', '0');
    await page.click('[data-testid=skew-set-n2]');
    await page.waitForSelector('[data-testid=node-clock-n2]:has-text("in sync")', { timeout: REPLAY_MS });
    expect(consoleErrors).toEqual([]);
  });

  it('replay: the session run loads, the slider shows every view as of its time, play advances it; files load by picker and drop', async () => {
    const run = (await (await fetch(`${h.url}/api/run`)).json()) as LabRun;
    const kill = run.faults.find((f) => f.kind === 'kill' && f.endT !== null)!;
    const partition = run.faults.find((f) => f.kind === 'partition' && f.endT !== null)!;
    const skew = run.faults.find((f) => f.kind === 'skew' && f.endT !== null)!;
    await page.goto(`${h.url}/replay`);
    await page.click('[data-testid=replay-load-session]');
    await page.waitForSelector('[data-testid=replay-controls], [data-testid=replay-loader] [role=alert]', { timeout: REPLAY_MS });
    expect(await page.locator('[data-testid=replay-loader] [role=alert]').allTextContents(), consoleErrors.join('\n')).toEqual([]);
    await page.waitForSelector('[data-testid=replay-info]:has-text("this session")', { timeout: REPLAY_MS });
    for (const id of ['n1', 'n2', 'n3']) await page.waitForSelector(card(id, 'up'), { timeout: REPLAY_MS });
    expect(await page.locator('[data-testid=fault-row]').count()).toBeGreaterThanOrEqual(3);
    await page.screenshot({ path: join(SHOTS, 'replay.png'), fullPage: true });

    // While n3 was killed: its card is down and the kill is an open fault; just before, it was up.
    await seek(page, (kill.startT + kill.endT!) / 2);
    await page.waitForSelector(card('n3', 'down'), { timeout: REPLAY_MS });
    await page.waitForSelector('[data-testid=fault-row][data-open=true]:has-text("n3 killed")', { timeout: REPLAY_MS });
    await page.screenshot({ path: join(SHOTS, 'replay-n3-killed.png'), fullPage: true });
    await seek(page, kill.startT - 300);
    await page.waitForSelector(card('n3', 'up'), { timeout: REPLAY_MS });
    expect(await page.locator('[data-testid=fault-row]:has-text("n3 killed")').count()).toBe(0);

    // Just before the heal the checker has results and the lag chart its backlog.
    await seek(page, partition.endT! - 200);
    await page.waitForSelector('[data-testid=fault-row][data-open=true]:has-text("partition")', { timeout: REPLAY_MS });
    expect(await chartMax(page, 'chart-lag')).toBeGreaterThan(0);
    expect(Number(await page.textContent('[data-testid=checker] .value'))).toBeGreaterThan(0);
    await seek(page, (skew.startT + skew.endT!) / 2);
    await page.waitForSelector('[data-testid=node-clock-n2]:has-text("+1h skew")', { timeout: REPLAY_MS });

    // The start: nothing had happened yet.
    await page.focus('[data-testid=replay-slider]');
    await page.keyboard.press('Home');
    await page.waitForSelector('[data-testid=replay-time][data-t="0"]', { timeout: REPLAY_MS });
    await page.waitForSelector('[data-testid=fault-list]:has-text("No fault injected by this time.")', { timeout: REPLAY_MS });
    expect(await page.textContent('[data-testid=checker] .value')).toBe('0');
    expect(await chartMax(page, 'chart-throughput')).toBe(0);

    // Play at 64×: time moves on by itself; pause: it stops.
    await page.selectOption('[data-testid=replay-speed]', '64');
    await page.click('[data-testid=replay-play]');
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=replay-time]')?.getAttribute('data-t')) > 3000, undefined, { timeout: REPLAY_MS });
    await page.click('[data-testid=replay-play]');
    await page.waitForSelector('[data-testid=replay-play]:has-text("Play")');
    const paused = await page.getAttribute('[data-testid=replay-time]', 'data-t');
    await page.waitForTimeout(300); // a bounded check that nothing moves, not a wait for something to happen
    expect(await page.getAttribute('[data-testid=replay-time]', 'data-t')).toBe(paused);

    // A saved file, through the picker; junk is refused with a message.
    const json = JSON.stringify(run);
    await page.setInputFiles('[data-testid=replay-file]', { name: 'saved-run.json', mimeType: 'application/json', buffer: Buffer.from(json) });
    await page.waitForSelector('[data-testid=replay-info]:has-text("saved-run.json")', { timeout: REPLAY_MS });
    await page.setInputFiles('[data-testid=replay-file]', { name: 'notes.json', mimeType: 'application/json', buffer: Buffer.from('{"format":"something else"}') });
    await page.waitForSelector('[data-testid=replay-error]:has-text("format must be one of")', { timeout: REPLAY_MS });
    await page.setInputFiles('[data-testid=replay-file]', { name: 'garbage.json', mimeType: 'application/json', buffer: Buffer.from('{not json') });
    await page.waitForSelector('[data-testid=replay-error]:has-text("not JSON")', { timeout: REPLAY_MS });
    // And dropped on the page.
    const transfer = await page.evaluateHandle((text) => {
      const dt = new DataTransfer();
      dt.items.add(new File([text], 'dropped-run.json', { type: 'application/json' }));
      return dt;
    }, json);
    await page.dispatchEvent('[data-testid=replay-loader]', 'drop', { dataTransfer: transfer });
    await page.waitForSelector('[data-testid=replay-info]:has-text("dropped-run.json")', { timeout: REPLAY_MS });
    expect(await page.locator('[data-testid=replay-error]').count()).toBe(0);
    await expectNoOverlap(page);
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
      await phone.waitForSelector('[data-testid=chart-lag] canvas', { timeout: 30_000 });
      await expectNoOverlap(phone);
      await phone.screenshot({ path: join(SHOTS, 'dashboard-phone.png'), fullPage: true });
      await phone.goto(`${h.url}/replay`);
      await phone.click('[data-testid=replay-load-session]');
      await phone.waitForSelector('[data-testid=replay-controls]', { timeout: 10_000 });
      await expectNoOverlap(phone);
      await phone.screenshot({ path: join(SHOTS, 'replay-phone.png'), fullPage: true });
    } finally {
      await phone.close();
    }
  });
});
