/**
 * @file Launches Debian's Chromium with playwright-core for the E2E suite, and saves screenshots (plain Node).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

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
