/**
 * @file The fine-tune journey in the app (Chromium, real renderer, bridge with the real job runner, inference
 * worker and the CLI trainer): the demo model captions a fresh library → the Training page trains a run whose
 * adapter becomes active → the page offers "Re-caption N tracks written by an older adapter" → after the click
 * the Library shows the captions the new adapter wrote, every track's caption recorded with its id.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { captionsForTrack } from '../../main/db/captions';
import { openDatabase } from '../../main/db/open';
import { listAdapters } from '../../main/db/training';
import { DEMO_LABEL, installDemoModel } from '../../main/models/demo';
import { defaultDbPath, modelsDir } from '../../main/paths';
import { nodeLaunchers, type NodeLaunchers } from './bridge/node-launchers';
import { startBridge, type Bridge } from './bridge/server';
import { writeTones } from './support/audio';
import { collectPageErrors, HAS_CHROMIUM, launchChromium, registerSuiteTeardown, screenshot } from './support/browser';
import { ensureRendererBuilt } from './support/renderer-build';

describe.skipIf(!HAS_CHROMIUM)('the fine-tune journey in Chromium with the demo model', () => {
  let browser: Browser;
  let bridge: Bridge;
  let page: Page;
  let workers: NodeLaunchers;
  let work: string;
  let consoleErrors: string[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'musilingo-e2e-ft-'));
    const dataDir = join(work, 'data');
    const musicDir = join(work, 'music');
    writeTones(musicDir, [
      { file: 'organ.wav', title: 'Organ Drone', artist: 'Low Notes', album: 'Tones', genre: 'Ambient', frequencyHz: 110, seconds: 3 },
      { file: 'whistle.wav', title: 'Whistle Tune', artist: 'High Notes', album: 'Tones', genre: 'Folk', frequencyHz: 880, seconds: 3 },
      { file: 'hum.wav', title: 'Mains Hum', artist: 'Grid', album: 'Tones', genre: 'Noise', frequencyHz: 50, seconds: 3 },
    ]);
    const db = openDatabase(defaultDbPath(dataDir));
    try {
      await installDemoModel({ db, modelsDir: modelsDir(dataDir) });
    } finally {
      db.close();
    }
    const [rendererDir, b] = await Promise.all([ensureRendererBuilt(), launchChromium()]);
    browser = b;
    workers = nodeLaunchers((line) => bridge?.logs.push(line));
    bridge = await startBridge({ rendererDir, dataDir, launchers: workers.launchers, jobPollMs: 100 });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    consoleErrors = collectPageErrors(page);
    await page.goto(bridge.url);
    await page.getByRole('button', { name: 'Folders' }).click();
    await page.getByLabel('Add a music folder').fill(musicDir);
    await page.getByRole('button', { name: 'Add folder' }).click();
  });

  registerSuiteTeardown(() => ({ page, browser, bridge, dirs: [work] }));

  const captionCells = async (): Promise<string[]> => (await page.locator('[role=row][data-track-id] .c-caption').allTextContents()).map((t) => t.trim());

  it('captions the library with the demo model', async () => {
    await page.getByRole('button', { name: 'Library' }).click();
    await expect.poll(() => page.getByTestId('track-count').textContent(), { timeout: 20_000 }).toBe('3 tracks');
    await expect.poll(async () => (await captionCells()).filter((t) => t && !/caption/i.test(t)).length, { timeout: 60_000 }).toBe(3);
  });

  it('trains from the Training page, activates the adapter and offers to re-caption', async () => {
    await page.keyboard.press('Control+5');
    await page.getByRole('heading', { name: 'Training', level: 1 }).waitFor();
    expect(await page.getByRole('button', { name: /^Re-caption/ }).count()).toBe(0); // nothing is stale yet
    // The demo is labelled as what it is wherever it is listed.
    expect(await page.getByLabel('Model').locator('option').allTextContents()).toEqual([DEMO_LABEL]);
    await page.getByLabel('Steps').fill('5');
    await page.getByRole('button', { name: 'Start training' }).click();
    await expect.poll(() => page.locator('main').textContent(), { timeout: 60_000 }).toMatch(/Step 5 of 5/);
    await expect.poll(() => page.getByRole('table').filter({ hasText: 'Held-out loss' }).locator('.badge', { hasText: 'active' }).count(), { timeout: 60_000 }).toBe(1);
    const offer = page.getByRole('button', { name: 'Re-caption 3 tracks written by an older adapter' });
    await offer.waitFor({ timeout: 30_000 });
    await screenshot(page, 'recaption-offer');
    await offer.click();
    await page.getByRole('status').filter({ hasText: 'Queued 3 new captions' }).waitFor();
  });

  it('shows the new captions in the Library, each recorded with the new adapter', async () => {
    const db = bridge.services.db;
    const adapter = listAdapters(db).find((a) => a.isActive);
    expect(adapter).toBeDefined();
    const ids = (db.prepare('SELECT id FROM tracks ORDER BY id').all() as { id: number }[]).map((r) => r.id);
    await expect.poll(() => ids.every((id) => captionsForTrack(db, id).some((c) => c.adapterId === adapter!.id)), { timeout: 60_000 }).toBe(true);
    const newest = ids.map((id) => captionsForTrack(db, id).find((c) => c.adapterId === adapter!.id)!.text.trim());
    await page.getByRole('button', { name: 'Library' }).click();
    await expect.poll(async () => (await captionCells()).sort(), { timeout: 30_000 }).toEqual([...newest].sort());
    await screenshot(page, 'library-recaptioned');
    // The offer is gone: nothing is left from the older adapter.
    await page.keyboard.press('Control+5');
    await page.getByRole('heading', { name: 'Training', level: 1 }).waitFor();
    expect(await page.getByRole('button', { name: /^Re-caption/ }).count()).toBe(0);
  });

  it('logged no errors in the page', () => {
    expect(consoleErrors).toEqual([]);
  });
});
