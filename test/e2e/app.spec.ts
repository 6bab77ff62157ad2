/**
 * @file End-to-end: the real renderer in Debian's Chromium, against the real backend through the WebSocket
 * bridge (real SQLite, scanner, watcher, handlers). Saves a screenshot of every page to
 * test-results/screenshots/.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { addPoint, createRun, finishRun } from '../../main/db/training';
import { startBridge, type Bridge } from './bridge/server';
import { writeTones } from './support/audio';
import { HAS_CHROMIUM, launchChromium, screenshot, registerSuiteTeardown, collectPageErrors } from './support/browser';
import { ensureRendererBuilt } from './support/renderer-build';

// Skipped only where Debian's chromium is not installed (.ci/run installs it).
describe.skipIf(!HAS_CHROMIUM)('desktop UI in Chromium against the real backend', () => {
  let browser: Browser;
  let bridge: Bridge;
  let page: Page;
  let dataDir: string;
  let musicDir: string;
  let consoleErrors: string[] = [];

  beforeAll(async () => {
    const [rendererDir, b] = await Promise.all([ensureRendererBuilt(), launchChromium()]);
    browser = b;
    dataDir = mkdtempSync(join(tmpdir(), 'musilingo-e2e-data-'));
    musicDir = mkdtempSync(join(tmpdir(), 'musilingo-e2e-music-'));
    writeTones(musicDir, [
      { file: 'Calm/piano-ballad.mp3', title: 'Quiet Piano Ballad', artist: 'Ada Keys', album: 'Night Songs', genre: 'Jazz', frequencyHz: 262, seconds: 2 },
      { file: 'Calm/rain.ogg', title: 'Rain on Glass', artist: 'Ada Keys', album: 'Night Songs', genre: 'Ambient', frequencyHz: 330, seconds: 2 },
      { file: 'Loud/drive.mp3', title: 'Highway Drive', artist: 'The Engines', album: 'Full Throttle', genre: 'Rock', frequencyHz: 440, seconds: 2 },
      { file: 'Loud/sprint.flac', title: 'Sprint', artist: 'The Engines', album: 'Full Throttle', genre: 'Rock', frequencyHz: 523, seconds: 2 },
      { file: 'march.wav', title: 'Brass March', artist: 'City Band', album: 'Parade', genre: 'Classical', frequencyHz: 392, seconds: 1 },
    ]);
    // Not audio at all, though it says .mp3: the scanner records it and the Folders page explains it.
    writeFileSync(join(musicDir, 'Loud/broken.mp3'), Buffer.from('this is not an mp3 file, just text'));
    bridge = await startBridge({ rendererDir, dataDir });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
    consoleErrors = collectPageErrors(page);
    await page.goto(bridge.url);
  });

  registerSuiteTeardown(() => ({ page, browser, bridge, dirs: [dataDir, musicDir] }));

  it('starts on an empty library that says what to do next', async () => {
    await page.getByRole('heading', { name: 'Your library is empty' }).waitFor();
    // Nothing to search yet: the search box and filters are hidden, not just empty.
    expect(await page.getByTestId('search').isVisible()).toBe(false);
    await screenshot(page, 'library-empty');
    await page.getByRole('button', { name: 'Add a music folder' }).click();
    await page.getByRole('heading', { name: 'Folders', level: 1 }).waitFor();
    await expect(page.getByRole('heading', { name: 'No music folders yet' }).isVisible()).resolves.toBe(true);
  });

  it('explains a bad folder path without losing the form', async () => {
    const missing = join(musicDir, 'does-not-exist');
    await page.getByLabel('Add a music folder').fill(missing);
    await page.getByRole('button', { name: 'Add folder' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('does not exist');
    expect(await page.getByLabel('Add a music folder').inputValue()).toBe(missing);
  });

  it('adds a folder by typed path and the library fills', async () => {
    await page.getByLabel('Add a music folder').fill(musicDir);
    await page.getByRole('button', { name: 'Add folder' }).click();
    const folder = page.getByTestId('folder');
    await folder.waitFor();
    await expect.poll(() => folder.textContent(), { timeout: 20_000 }).toContain('5 tracks');
    await folder.getByRole('button', { name: '1 unreadable file' }).click();
    const problems = folder.getByRole('table');
    await problems.waitFor();
    expect(await problems.textContent()).toContain('broken.mp3');
    await screenshot(page, 'folders');

    await page.getByRole('button', { name: 'Library' }).click();
    await expect.poll(() => page.getByTestId('track-count').textContent(), { timeout: 10_000 }).toBe('5 tracks');
    await expect.poll(() => page.locator('[role=row][data-track-id]').count()).toBe(5);
    expect(await page.getByRole('grid').textContent()).toContain('Quiet Piano Ballad');
    await screenshot(page, 'library');
  });

  it('narrows the table as the user types a search', async () => {
    await page.keyboard.press('Control+f');
    await expect.poll(() => page.evaluate("document.activeElement?.getAttribute('type')")).toBe('search');
    await page.keyboard.type('engin');
    await expect.poll(() => page.getByTestId('track-count').textContent()).toBe('2 tracks');
    const titles = await page.locator('[role=row][data-track-id] .c-title').allTextContents();
    expect(titles.sort()).toEqual(['Highway Drive', 'Sprint']);
    await page.getByTestId('search').fill('nothing-like-this');
    await page.getByRole('heading', { name: 'No tracks match' }).waitFor();
    await page.getByTestId('search').fill('piano');
    await expect.poll(() => page.getByTestId('track-count').textContent()).toBe('1 track');
  });

  it('sorts by a column and opens a track from the keyboard', async () => {
    await page.getByTestId('search').fill('');
    await expect.poll(() => page.getByTestId('track-count').textContent()).toBe('5 tracks');
    await page.getByRole('button', { name: /^Artist/ }).click();
    await expect
      .poll(async () => (await page.locator('[role=row][data-track-id] .c-artist').allTextContents()).join('|'))
      .toBe('Ada Keys|Ada Keys|City Band|The Engines|The Engines');
    expect(await page.getByRole('columnheader', { name: /Artist/ }).getAttribute('aria-sort')).toBe('ascending');

    await page.getByTestId('track-grid').focus();
    await page.keyboard.press('End');
    await page.keyboard.press('ArrowUp');
    const active = page.locator('[role=row][aria-selected=true]');
    const expectedTitle = await active.locator('.c-title').textContent();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: expectedTitle ?? '' }).waitFor();
    expect(await page.getByText('Full Throttle').first().isVisible()).toBe(true);
    await screenshot(page, 'track');
    await page.keyboard.press('Escape');
    await page.getByRole('heading', { name: 'Library', level: 1 }).waitFor();
  });

  it('shows every other page, in light and dark', async () => {
    for (const [shortcut, name] of [['Control+3', 'models'], ['Control+4', 'jobs'], ['Control+5', 'training']] as const) {
      // (models.spec.ts and the test below take the detailed shots of Models and Training.)
      await page.keyboard.press(shortcut);
      await page.getByRole('heading', { level: 1, name: name[0]!.toUpperCase() + name.slice(1) }).waitFor();
      // Each page shows either real data or an honest empty state; never a spinner forever.
      await expect.poll(async () => (await page.locator('main').textContent())?.includes('Loading…')).toBe(false);
      await screenshot(page, `${name}-start`);
    }
    await page.keyboard.press('Control+Shift+L');
    await expect.poll(() => page.evaluate('document.documentElement.dataset.theme')).toBe('dark');
    await page.keyboard.press('Control+1');
    await page.getByRole('heading', { name: 'Library', level: 1 }).waitFor();
    await screenshot(page, 'library-dark');
    // The theme is a stored setting: a reload keeps it.
    await page.reload();
    await expect.poll(() => page.evaluate('document.documentElement.dataset.theme')).toBe('dark');
  });

  it('draws a stored run\'s loss curve and switches the active adapter', async () => {
    // Two finished runs as the trainer records them (real repository, real rows).
    const db = bridge.services.db;
    for (const n of [1, 2]) {
      const runId = createRun(db, { modelId: 'musilingo-long', modelPath: '/packs/long', encoderModelId: 'mert', parentAdapterId: null, config: '{}', dataReport: null, totalSteps: 40, checkpointPath: null });
      for (let step = 1; step <= 40; step++) addPoint(db, runId, { kind: 'train', step, loss: 3 / Math.sqrt(step) + 0.05 * n, lr: 3e-5, gradNorm: 1, tokens: 100 });
      for (const step of [0, 20, 40]) addPoint(db, runId, { kind: 'held_out', step, loss: 3.2 / Math.sqrt(step + 1) + 0.1, lr: null, gradNorm: null, tokens: null });
      finishRun(db, runId, { id: `adapter-${n}`, name: `Run ${n} adapter`, path: `/adapters/${n}.safetensors`, sha256: 'x'.repeat(64), inDim: 1024, outDim: 4096, heldOutLoss: 0.5 / n }, { step: 40, activate: n === 1 });
    }
    await page.keyboard.press('Control+5');
    await page.getByRole('heading', { name: 'Training', level: 1 }).waitFor();
    await page.locator('.uplot canvas').first().waitFor();
    await expect.poll(() => page.locator('.summary').textContent()).toContain('Step 40: training loss');
    const adapters = page.getByRole('table').filter({ hasText: 'Held-out loss' });
    expect(await adapters.locator('tr', { hasText: 'Run 1 adapter' }).textContent()).toContain('active');
    await screenshot(page, 'training');
    await adapters.locator('tr', { hasText: 'Run 2 adapter' }).getByRole('button', { name: 'Use this adapter' }).click();
    await expect.poll(() => adapters.locator('tr', { hasText: 'Run 2 adapter' }).textContent()).toContain('active');
    expect(await adapters.locator('tr', { hasText: 'Run 1 adapter' }).textContent()).not.toContain('active');
  });

  it('removes a folder after confirmation, and its tracks leave the library', async () => {
    await page.keyboard.press('Control+2');
    await page.getByRole('heading', { name: 'Folders', level: 1 }).waitFor();
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: `Remove ${musicDir}` }).click();
    await page.getByRole('heading', { name: 'No music folders yet' }).waitFor();
    await page.keyboard.press('Control+1');
    await page.getByRole('heading', { name: 'Your library is empty' }).waitFor();
  });

  it('logged no errors in the page', () => {
    expect(consoleErrors).toEqual([]);
  });
});
