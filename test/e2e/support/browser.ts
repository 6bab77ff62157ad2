/**
 * @file Launches Debian's Chromium with playwright-core for the E2E suite, and saves screenshots (plain Node).
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach } from 'vitest';

/** The Chromium binary CI installs (apt: chromium). */
export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
/** True when the browser is installed; the suite is skipped with a reason otherwise. */
export const HAS_CHROMIUM = existsSync(CHROMIUM_PATH);

/** Where screenshots go (a CI artifact). */
export const SCREENSHOT_DIR = resolve(import.meta.dirname, '../../../test-results/screenshots');

/** Starts headless Chromium with everything that phones home switched off. */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** Saves a full-window screenshot as test-results/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** On a failed test: saves a screenshot and the backend's log lines next to the other artifacts (Signal does the same). */
export async function saveFailureArtifacts(page: Page | undefined, testName: string, logs: readonly string[]): Promise<void> {
  const safe = testName.replace(/[^a-z0-9]+/gi, '-').slice(0, 80);
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  writeFileSync(join(SCREENSHOT_DIR, `FAILED-${safe}.log`), logs.join('\n'));
  if (page && !page.isClosed()) await page.screenshot({ path: join(SCREENSHOT_DIR, `FAILED-${safe}.png`) }).catch(() => undefined);
}

/** Collects the page's console errors and uncaught exceptions; the suites assert it stays empty. */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}

/** What a UI suite has open, read when its hooks run (fields may be unset if beforeAll failed). */
export interface SuiteResources {
  readonly page: Page | undefined;
  readonly browser: Browser | undefined;
  readonly bridge: { readonly logs: readonly string[]; close(): Promise<void> } | undefined;
  /** Servers and the like to close after the bridge. */
  readonly others?: readonly ({ close(): Promise<void> } | undefined)[];
  /** Folders to delete last. */
  readonly dirs?: readonly (string | undefined)[];
}

/**
 * Registers the hooks every UI suite shares: after a failed test, a screenshot and the backend log; at the end,
 * page, browser, bridge and other servers closed and the suite's folders deleted.
 */
export function registerSuiteTeardown(get: () => SuiteResources): void {
  afterEach(async (ctx) => {
    const r = get();
    if (ctx.task.result?.state === 'fail') await saveFailureArtifacts(r.page, ctx.task.name, r.bridge?.logs ?? []);
  });
  afterAll(async () => {
    const r = get();
    await r.page?.close();
    await r.browser?.close();
    await r.bridge?.close();
    for (const o of r.others ?? []) await o?.close();
    for (const d of r.dirs ?? []) if (d) rmSync(d, { recursive: true, force: true });
  });
}
