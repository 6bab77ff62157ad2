/**
 * @file The library table at 100,000 tracks in Chromium: only the visible rows are in the DOM, scrolling to
 * the end and keyboard navigation answer quickly, and search narrows the whole library.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../main/db/open';
import { defaultDbPath } from '../../main/paths';
import { startBridge, type Bridge } from './bridge/server';
import { insertSyntheticTracks } from './support/big-library';
import { HAS_CHROMIUM, launchChromium, screenshot, registerSuiteTeardown } from './support/browser';
import { ensureRendererBuilt } from './support/renderer-build';

const COUNT = 100_000;

describe.skipIf(!HAS_CHROMIUM)(`library table with ${COUNT.toLocaleString('en')} tracks`, () => {
  let browser: Browser;
  let bridge: Bridge;
  let page: Page;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'musilingo-e2e-big-'));
    const dataDir = join(work, 'data');
    const db = openDatabase(defaultDbPath(dataDir));
    insertSyntheticTracks(db, COUNT);
    db.close();
    const [rendererDir, b] = await Promise.all([ensureRendererBuilt(), launchChromium()]);
    browser = b;
    bridge = await startBridge({ rendererDir, dataDir });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(bridge.url);
  });

  registerSuiteTeardown(() => ({ page, browser, bridge, dirs: [work] }));

  const rows = (): ReturnType<Page['locator']> => page.locator('[role=row][data-track-id]');

  it('renders only the rows in view', async () => {
    await expect.poll(() => page.getByTestId('track-count').textContent(), { timeout: 20_000 }).toBe('100,000 tracks');
    await rows().first().waitFor();
    const n = await rows().count();
    expect(n).toBeGreaterThan(10);
    expect(n).toBeLessThan(80);
    expect(await page.getByRole('grid').getAttribute('aria-rowcount')).toBe(String(COUNT + 1));
  });

  it('jumps to the last track with End and opens it with Enter', async () => {
    await page.getByTestId('track-grid').focus();
    await page.keyboard.press('End');
    await expect.poll(() => page.locator('[role=row][aria-selected=true] .c-title').textContent(), { timeout: 10_000 }).toBe('Track 100000');
    expect(await rows().count()).toBeLessThan(80);
    await page.keyboard.press('PageUp');
    await page.keyboard.press('ArrowUp');
    await expect.poll(() => page.locator('[role=row][aria-selected=true]').getAttribute('aria-rowindex')).not.toBe(String(COUNT + 1));
    await screenshot(page, 'library-100k-end');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: /^Track 0999\d\d$/ }).waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('heading', { name: 'Library', level: 1 }).waitFor();
  });

  // Speed is measured by bench/library-table.ts, not asserted here (timed tests flake on busy machines).
  it('scrolls through the middle: each screen fills with the right rows and the DOM stays small', async () => {
    await page.getByTestId('track-grid').focus();
    await page.keyboard.press('Home');
    const viewport = page.getByTestId('track-viewport');
    for (const fraction of [0.25, 0.5, 0.75, 0.33]) {
      await viewport.evaluate((el, f) => {
        el.scrollTop = el.scrollHeight * f;
      }, fraction);
      // The rows in view become the tracks at that position of the title order (Track 000001 … 100000).
      const expected = Math.floor(COUNT * fraction) + 1;
      await expect
        .poll(async () => {
          const titles = await rows().locator('.c-title').allTextContents();
          return titles.some((t) => Math.abs(Number(t.replace('Track ', '')) - expected) <= 40);
        })
        .toBe(true);
      await expect.poll(async () => (await rows().allTextContents()).filter((t) => t.includes('Loading')).length).toBe(0);
      expect(await rows().count()).toBeLessThan(80);
    }
  });

  it('searches all 100,000 tracks as the user types', async () => {
    await page.getByTestId('search').fill('Track 004242');
    await expect.poll(() => page.getByTestId('track-count').textContent()).toBe('1 track');
    // As-you-type: the last word is a prefix, so a shorter number matches every title that starts with it.
    await page.getByTestId('search').fill('Track 04242');
    await expect.poll(() => page.getByTestId('track-count').textContent()).toBe('10 tracks');
    await page.getByTestId('search').fill('Jazz');
    await expect.poll(() => page.getByTestId('track-count').textContent()).toBe('12,500 tracks');
  });
});
