import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, type Page } from 'playwright-core';
import { SHOTS, launchChromium } from './browser.ts';
import { LocalCluster, waitForCluster } from '../../src/cluster/local-cluster.ts';
import { startLab, type RunningLab } from '../../src/lab/lab-server.ts';
import { api, until } from '../lab/lab-harness.ts';

// GlobalCDN (issue 10) in a real headless Chromium: 3 region nodes (us-east, eu-west, asia on
// ports 27410-27412; added nodes take the next ports) and the Lab on 23310.
const BASE_PORT = 27410;
const LAB_PORT = 23310;

let dir: string;
let cluster: LocalCluster;
let lab: RunningLab;
let url: string;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  dir = await mkdtemp(join(tmpdir(), 'nosqldb-cdn-'));
  cluster = new LocalCluster({ dataDir: dir, onOutput: () => undefined });
  const zones = ['us-east', 'eu-west', 'asia'];
  const ids = ['n1', 'n2', 'n3'];
  cluster.start(ids.map((id, i) => ({ id, port: BASE_PORT + i, zone: zones[i]! })));
  await waitForCluster(ids.map((id) => cluster.urlOf(id)), ids, 40_000);
  lab = await startLab({ cluster, port: LAB_PORT, host: '127.0.0.1', web: true });
  url = `http://127.0.0.1:${LAB_PORT}`;
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await lab?.close();
  await cluster?.stop(3000);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const FILES = [
  { name: 'video_4k_movie.mp4', mimeType: 'video/mp4', buffer: Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 13 + 7) & 0xff)) },
  { name: 'logo.png', mimeType: 'image/png', buffer: Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 31) & 0xff)) },
  { name: 'styles.css', mimeType: 'text/css', buffer: Buffer.from('body { color: #333; }\n'.repeat(50)) },
];

describe('GlobalCDN in a browser', { timeout: 600_000 }, () => {
  it('upload 3 files: each lists its hash and three replicas in three zones, all ✅, and downloads back byte-identical', async () => {
    await page.goto(`${url}/demo/globalcdn`);
    await page.waitForSelector('[data-testid=cdn-ring] path', { timeout: 40_000 });
    await page.setInputFiles('[data-testid=file-input]', FILES);
    for (const f of FILES) {
      await page.waitForSelector(`[data-testid="file-${f.name}"]`, { timeout: 20_000 });
      await until(`${f.name} held by 3 replicas in 3 zones`, 15_000, async () => {
        const cells = await page.$$eval(`[data-testid="file-${f.name}"] [data-testid^=replica-]`, (els) => els.map((e) => ({ held: e.getAttribute('data-held'), zone: e.getAttribute('data-zone') })));
        return cells.length === 3 && cells.every((c) => c.held === 'true') && new Set(cells.map((c) => c.zone)).size === 3;
      });
      const href = await page.getAttribute(`[data-testid="download-${f.name}"]`, 'href');
      const res = await fetch(`${url}${href}`);
      expect(res.headers.get('content-type')).toContain(f.mimeType);
      expect(Buffer.from(await res.arrayBuffer()).equals(f.buffer)).toBe(true);
    }
    await page.hover(`[data-testid="file-${FILES[0]!.name}"]`);
    await page.waitForSelector('[data-testid=ring-focus]', { timeout: 5000 });
    await page.screenshot({ path: join(SHOTS, 'globalcdn-uploaded.png'), fullPage: true });
  });

  it('generate 1,000 files, add a node: copies moved ≤ 1.1 × the minimum, modulo-N beside it, every file readable, the ring redraws', async () => {
    const g0 = Date.now();
    await page.click('[data-testid=generate]');
    await page.waitForSelector('[data-testid=generate-progress][data-done="1000"][data-running=false]', { timeout: 90_000 });
    console.log(`generated 1,000 files in ${Date.now() - g0} ms`);
    const versionBefore = await page.getAttribute('[data-testid=cdn-ring]', 'data-ring-version');
    await page.selectOption('[data-testid=add-zone]', 'sa-east');
    await page.click('[data-testid=add-node]');
    await page.waitForSelector('[data-testid=migration-stats][data-phase=done]', { timeout: 240_000 });
    const ratio = Number(await page.getAttribute('[data-testid=migration-stats]', 'data-ratio'));
    const failures = Number(await page.getAttribute('[data-testid=migration-stats]', 'data-read-failures'));
    const summary = (await api(url, 'GET', '/api/cdn/summary')).json;
    const stats = summary.migrations.at(-1).stats;
    const mig = summary.migrations.at(-1);
    console.log('add-node migration', JSON.stringify(stats), JSON.stringify(mig.reads), `${mig.endedAtMs - mig.startedAtMs} ms`);
    expect(stats.files).toBe(1003);
    expect(ratio).toBeGreaterThan(0);
    expect(ratio).toBeLessThanOrEqual(1.1);
    expect(stats.moduloCopies).toBeGreaterThanOrEqual(stats.minimumCopies * 0.9);
    expect(stats.moduloPrimaries).toBeGreaterThan(2 * stats.primariesMoved);
    expect(failures).toBe(0);
    await page.waitForSelector('[data-testid=modulo]', { timeout: 5000 });
    await until('the ring to redraw with the new node', 10_000, async () => (await page.getAttribute('[data-testid=cdn-ring]', 'data-ring-version')) !== versionBefore && (await page.$('[data-testid=cdn-ring] path[data-owner=n4]')) !== null);
    await page.screenshot({ path: join(SHOTS, 'globalcdn-node-added.png'), fullPage: true });
  });

  it('remove a node: its content moves to the others, nothing unreadable, load bars update', async () => {
    await page.selectOption('[data-testid=remove-which]', 'n4');
    await page.click('[data-testid=remove-node]');
    await page.waitForSelector('[data-testid=migration-stats][data-phase=done]:has-text("Removed")', { timeout: 240_000 });
    expect(Number(await page.getAttribute('[data-testid=migration-stats]', 'data-read-failures'))).toBe(0);
    await until('the load bars to drop n4 and show 3 copies of every file', 20_000, async () => {
      if ((await page.$('[data-testid=load-n4]')) !== null) return false;
      const files = await Promise.all(['n1', 'n2', 'n3'].map(async (id) => Number(await page.getAttribute(`[data-testid=load-${id}]`, 'data-files'))));
      return files.every((f) => f === 1003);
    });
    await page.selectOption('[data-testid=client-location]', 'tokyo');
    await page.click('[data-testid=route]');
    await page.waitForSelector('[data-testid=route-result]', { timeout: 10_000 });
    await page.screenshot({ path: join(SHOTS, 'globalcdn-node-removed.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});
