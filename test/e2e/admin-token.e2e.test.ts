import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { openLabInBrowser } from './browser.ts';
import type { LabHarness } from '../lab/lab-harness.ts';

// The Lab guarded by an admin token, in Chromium (HTTP 27680-27682, peers 23680-23682, Lab
// 23685). A browser sends no Authorization header when it follows a link, so downloads must
// carry the token some other way.

const TOKEN = 'e2e-admin-token';
let h: LabHarness;
let page: Page;
let close: (() => Promise<void>) | undefined;
const consoleErrors: string[] = [];

beforeAll(async () => {
  ({ h, page, close } = await openLabInBrowser(
    { basePort: 27680, peerBasePort: 23680, labPort: 23685, viewport: { width: 1280, height: 800 }, adminToken: TOKEN },
    consoleErrors,
  ));
  // The token as the Lab keeps it once a user typed it: in this tab's session storage.
  await page.addInitScript((t) => sessionStorage.setItem('nosqldb-lab-token', t), TOKEN);
}, 90_000);

afterAll(async () => {
  await close?.();
});

describe('the Lab with an admin token', { timeout: 120_000 }, () => {
  it('Export downloads the run with the token (the plain link alone is refused)', async () => {
    expect((await fetch(`${h.url}/api/run?download=1`)).status).toBe(401);
    await page.goto(`${h.url}/`);
    await page.waitForSelector('[data-testid=export]', { timeout: 30_000 });
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 20_000 }), page.click('[data-testid=export]')]);
    expect(download.suggestedFilename()).toMatch(/^nosqldb-lab-run-.*\.json$/);
    const run = JSON.parse(readFileSync((await download.path())!, 'utf8')) as { format?: unknown };
    expect(run.format).toBe('nosqldb-lab-run/2');
  });
});
