import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, type Page } from 'playwright-core';
import { SHOTS, launchChromium } from './browser.ts';
import { api, startLabHarness, until, type LabHarness } from '../lab/lab-harness.ts';

// CollabDocs (issue 9) in a real headless Chromium against a real 3-node cluster (nodes 27400-27402, Lab 23300).

let h: LabHarness;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

type Clock = Record<string, number>;
const leq = (a: Clock, b: Clock): boolean => Object.entries(a).every(([k, v]) => v <= (b[k] ?? 0));

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  h = await startLabHarness({ basePort: 27400, labPort: 23300, web: true });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

/** Types at the end of one editor's paragraph. */
async function typeInto(editor: string, para: string, text: string): Promise<void> {
  const field = page.locator(`[data-testid=edit-${editor}-${para}] .rich`);
  await field.click();
  await page.keyboard.press('End');
  await field.pressSequentially(text, { delay: 5 });
}

async function localCopies(): Promise<Record<string, Record<string, { versions: { vectorClock: Clock; value: { html: string } }[] } | null>>> {
  return (await api(h.url, 'GET', '/api/collab/replicas?doc=proposal')).json.copies;
}

describe('CollabDocs in a browser', { timeout: 120_000 }, () => {
  it('two editors on different nodes edit different paragraphs: no conflict, each sees the other within 2 s', async () => {
    await page.goto(`${h.url}/demo/collabdocs`);
    for (const p of ['p1', 'p2', 'p3', 'p4']) await page.waitForSelector(`[data-testid=para-${p}]`, { timeout: 40_000 });
    await page.waitForSelector('[data-testid=edit-Bob-p1] .rich:has-text("revolutionize")', { timeout: 10_000 });
    await page.waitForSelector('[data-testid=active-editors] >> text=Bob', { timeout: 10_000 });
    await Promise.all([typeInto('Alice', 'p1', ' Alice-was-here'), page.waitForTimeout(0)]);
    await typeInto('Bob', 'p2', ' Bob-too');
    const t0 = Date.now();
    await page.waitForSelector('[data-testid=edit-Bob-p1] .rich:has-text("Alice-was-here")', { timeout: 2500 });
    await page.waitForSelector('[data-testid=edit-Alice-p2] .rich:has-text("Bob-too")', { timeout: 2500 });
    expect(Date.now() - t0).toBeLessThan(2500);
    // Bob's cursor is drawn in Alice's view of p2 (presence over the Lab's WebSocket).
    await page.waitForSelector('[data-testid=edit-Alice-p2] [data-testid=caret-Bob]', { timeout: 5000 });
    expect(await page.getAttribute('[data-testid=para-p1]', 'data-versions')).toBe('1');
    expect(await page.getAttribute('[data-testid=para-p2]', 'data-versions')).toBe('1');
    await page.screenshot({ path: join(SHOTS, 'collabdocs-editing.png'), fullPage: true });
  });

  it('Simulate conflict: two versions with concurrent clocks; Use A leaves one version that dominates both, on every node', async () => {
    await page.click('[data-testid=simulate-conflict]');
    await page.waitForSelector('[data-testid=conflict-p3]', { timeout: 30_000 });
    await page.waitForSelector('[data-testid=version-p3-1]', { timeout: 5000 });
    const doc = (await api(h.url, 'GET', '/api/collab/doc?doc=proposal&node=n1')).json;
    const p3 = doc.paragraphs.find((p: { key: string }) => p.key === 'docs/proposal/p3');
    expect(p3.versions.length).toBe(2);
    const [a, b] = p3.versions.map((v: { vectorClock: Clock }) => v.vectorClock) as [Clock, Clock];
    expect(leq(a, b) || leq(b, a)).toBe(false);
    await page.click('[data-testid=graph-p3]');
    await page.waitForSelector('[data-testid=causality] text=Concurrent', { timeout: 5000 }).catch(() => undefined);
    await page.screenshot({ path: join(SHOTS, 'collabdocs-conflict.png'), fullPage: true });
    await page.click('[data-testid=use-p3-A]');
    await page.waitForSelector('[data-testid=para-p3][data-versions="1"]', { timeout: 10_000 });
    await until('every node to hold one version of p3 that dominates both siblings', 15_000, async () => {
      const copies = await localCopies();
      return Object.values(copies).every((row) => {
        const v = row?.['docs/proposal/p3']?.versions;
        return v?.length === 1 && leq(a, v[0]!.vectorClock) && leq(b, v[0]!.vectorClock);
      });
    });
  });

  it('kill Node-3 mid-edit, keep editing, restart: its own copies equal the others within 15 s, no edit lost', async () => {
    await page.click('[data-testid=collab-kill-n3]');
    await page.waitForSelector('[data-testid=collab-node-n3][data-health=down]', { timeout: 10_000 });
    await typeInto('Alice', 'p1', ' during-outage-A');
    await typeInto('Bob', 'p4', ' during-outage-B');
    await page.waitForSelector('[data-testid=edit-Bob-p1] .rich:has-text("during-outage-A")', { timeout: 5000 });
    await page.waitForSelector('[data-testid=edit-Alice-p4] .rich:has-text("during-outage-B")', { timeout: 5000 });
    await page.screenshot({ path: join(SHOTS, 'collabdocs-node-failed.png'), fullPage: true });
    await page.click('[data-testid=collab-restart-n3]');
    const t0 = Date.now();
    await until('n3 to be up', 20_000, async () => (await api(h.url, 'GET', '/api/cluster')).json.nodes.find((n: { id: string }) => n.id === 'n3')?.health === 'up');
    await until("n3's own copies to equal the others'", 15_000, async () => {
      const copies = await localCopies();
      const rows = ['n1', 'n2', 'n3'].map((id) => copies[id]);
      if (rows.some((r) => !r)) return false;
      const keys = Object.keys(rows[0]!);
      return keys.length >= 4 && keys.every((k) => {
        const c = rows.map((r) => JSON.stringify(r![k]?.versions.map((v) => v.vectorClock)));
        return c[0] === c[1] && c[1] === c[2] && c[0] !== undefined && c[0] !== '[]';
      });
    });
    const restoredMs = Date.now() - t0;
    const copies = await localCopies();
    expect(copies.n3!['docs/proposal/p1']!.versions[0]!.value.html).toContain('during-outage-A');
    expect(copies.n3!['docs/proposal/p1']!.versions[0]!.value.html).toContain('Alice-was-here');
    expect(copies.n3!['docs/proposal/p4']!.versions[0]!.value.html).toContain('during-outage-B');
    expect(restoredMs).toBeLessThan(35_000);
    await page.waitForSelector('[data-testid=collab-node-n3][data-behind="0"]', { timeout: 10_000 });
    await page.screenshot({ path: join(SHOTS, 'collabdocs-recovered.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});
