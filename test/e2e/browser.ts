import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startLabHarness, type LabHarness } from '../lab/lab-harness.ts';

/** Where every browser test saves its screenshots (gitignored; CI keeps them as artifacts). */
export const SHOTS = join(import.meta.dirname, '..', '..', 'artifacts', 'screenshots');

/** Debian's Chromium, never a downloaded browser. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Headless, as root, and without background connections (this machine has no network). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchChromium(): Promise<Browser> {
  mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** Collects a page's console errors and uncaught exceptions into `into`. */
export function collectErrors(page: Page, into: string[]): void {
  page.on('console', (m) => {
    if (m.type() === 'error') into.push(m.text());
  });
  page.on('pageerror', (e) => into.push(String(e)));
}

/** A 3-node cluster with the Lab in front of it, and one Chromium page on it. */
export interface LabInBrowser {
  readonly h: LabHarness;
  readonly browser: Browser;
  readonly page: Page;
  readonly close: () => Promise<void>;
}

/** Starts the cluster, the Lab and Chromium; the page's console errors go into `errors`. */
export async function openLabInBrowser(
  options: { basePort: number; labPort: number; viewport: { width: number; height: number }; peerBasePort?: number; adminToken?: string },
  errors: string[],
): Promise<LabInBrowser> {
  const h = await startLabHarness({
    basePort: options.basePort,
    labPort: options.labPort,
    web: true,
    ...(options.peerBasePort !== undefined ? { peerBasePort: options.peerBasePort } : {}),
    ...(options.adminToken !== undefined ? { adminToken: options.adminToken } : {}),
  });
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: options.viewport });
  collectErrors(page, errors);
  return {
    h,
    browser,
    page,
    close: async () => {
      await browser.close();
      await h.close();
    },
  };
}
