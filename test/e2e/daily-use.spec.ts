/**
 * @file End-to-end: what a daily user of the Library needs, in Chromium against the real backend through the
 * bridge: the Library keeps its place across Back and restarts, selection with bulk actions, the no-model
 * banner, failures shown where the user acted, narrow windows. Synthetic tracks go straight into the database
 * (support/big-library.ts); there is no model installed, which is the state a new user starts in.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createViewStore } from '../../main/app/view-state';
import { addPoint, createRun } from '../../main/db/training';
import { openDatabase } from '../../main/db/open';
import { defaultDbPath } from '../../main/paths';
import { nodeLaunchers } from './bridge/node-launchers';
import { startBridge, type Bridge } from './bridge/server';
import { insertSyntheticTracks } from './support/big-library';
import { collectPageErrors, HAS_CHROMIUM, launchChromium, registerSuiteTeardown, screenshot } from './support/browser';
import { axeViolations, horizontalClipping, misalignedColumns } from './support/page-checks';
import { ensureRendererBuilt } from './support/renderer-build';

const COUNT = 600;

describe.skipIf(!HAS_CHROMIUM)('the app for daily use', () => {
  let browser: Browser;
  let bridge: Bridge;
  let page: Page;
  let work: string;
  let dataDir: string;
  let rendererDir: string;
  let consoleErrors: string[] = [];
  const mediaMisses: string[] = [];

  async function openApp(): Promise<void> {
    page = await browser.newPage({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
    consoleErrors = collectPageErrors(page);
    // The synthetic tracks have no files: the player's 404s for them are expected (the page says so).
    page.on('console', (m) => {
      if (m.type() === 'error' && m.location().url.includes('/__bridge/media/')) mediaMisses.push(m.text());
    });
    await page.goto(bridge.url);
  }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'musilingo-e2e-daily-'));
    dataDir = join(work, 'data');
    const db = openDatabase(defaultDbPath(dataDir));
    insertSyntheticTracks(db, COUNT);
    db.close();
    const [dir, b] = await Promise.all([ensureRendererBuilt(), launchChromium()]);
    rendererDir = dir;
    browser = b;
    bridge = await startBridge({ rendererDir, dataDir, launchers: nodeLaunchers((line) => bridge?.logs.push(line)).launchers, jobPollMs: 100 });
    await openApp();
  });

  registerSuiteTeardown(() => ({ page, browser, bridge, dirs: [work] }));

  /** The title of the first row whose top is inside the table's viewport (the scroll anchor). */
  async function goTo(shortcut: string, heading: string): Promise<void> {
    await page.keyboard.press(shortcut);
    await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
  }

  const rows = (): ReturnType<Page['locator']> => page.locator('[role=row][data-track-id]');
  const firstRowInView = (): Promise<string | null> =>
    page.evaluate(`(() => {
      const vp = document.querySelector('[data-testid="track-viewport"]');
      if (!vp) return null;
      const top = vp.getBoundingClientRect().top;
      const inView = [...vp.querySelectorAll('[role=row][data-track-id]')]
        .filter((r) => r.getBoundingClientRect().top >= top - 1)
        .sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top);
      return inView[0]?.querySelector('.c-title')?.textContent ?? null;
    })()`);

  async function expectPlaceKept(expected: { firstTitle: string; selected: string[] }): Promise<void> {
    await expect.poll(() => page.getByTestId('track-count').textContent(), { timeout: 20_000 }).toBe('75 tracks');
    expect(await page.getByTestId('search').inputValue()).toBe('track');
    expect(await page.getByRole('combobox', { name: 'Genre' }).inputValue()).toBe('Jazz');
    expect(await page.getByRole('columnheader', { name: /Year/ }).getAttribute('aria-sort')).toBe('descending');
    await expect.poll(firstRowInView, { timeout: 10_000 }).toBe(expected.firstTitle);
    await expect
      .poll(async () => (await page.locator('[role=row][aria-selected=true] .c-title').allTextContents()).sort())
      .toEqual(expected.selected);
  }

  it('keeps query, filters, sort, selection and scroll across Back and a restart', async () => {
    await expect.poll(() => page.getByTestId('track-count').textContent(), { timeout: 20_000 }).toBe('600 tracks');
    await page.getByTestId('search').fill('track');
    await page.getByRole('combobox', { name: 'Genre' }).selectOption('Jazz');
    await page.getByRole('button', { name: /^Year/ }).click();
    await page.getByRole('button', { name: /^Year/ }).click();
    await expect.poll(() => page.getByRole('columnheader', { name: /Year/ }).getAttribute('aria-sort')).toBe('descending');
    await expect.poll(() => page.getByTestId('track-count').textContent()).toBe('75 tracks');

    // Scroll about 30 rows down and select two rows there (click, Ctrl+click).
    await page.getByTestId('track-viewport').evaluate((el) => (el.scrollTop = 30 * 34));
    await expect.poll(firstRowInView).not.toBe(null);
    const firstTitle = (await firstRowInView())!;
    const inView = page.locator('[role=row][data-track-id]').filter({ hasText: firstTitle });
    await inView.locator('.c-artist').click();
    const second = page.locator('#track-row-33');
    const secondTitle = (await second.locator('.c-title').textContent())!;
    await second.locator('.c-artist').click({ modifiers: ['Control'] });
    const selected = [firstTitle, secondTitle].sort();
    await expect.poll(async () => (await page.locator('[role=row][aria-selected=true] .c-title').allTextContents()).sort()).toEqual(selected);

    // Open a track and come Back.
    await inView.locator('.c-title button').click();
    await page.getByRole('heading', { level: 1, name: firstTitle }).waitFor();
    await page.getByRole('button', { name: '← Back' }).click();
    await page.getByRole('heading', { name: 'Library', level: 1 }).waitFor();
    await expectPlaceKept({ firstTitle, selected });

    // Restart: a new backend on the same data folder and a new browser page.
    // The view is saved once changes settle.
    await expect.poll(() => createViewStore(bridge.services.db).getLibrary()?.selectedIds.length).toBe(2);
    await page.close();
    await bridge.close();
    bridge = await startBridge({ rendererDir, dataDir, launchers: nodeLaunchers((line) => bridge?.logs.push(line)).launchers, jobPollMs: 100 });
    await openApp();
    await expectPlaceKept({ firstTitle, selected });
    await screenshot(page, 'library-restored');
  });

  it('says no model is installed, links to the Models page, and disables what needs a model with the reason', async () => {
    await page.keyboard.press('Control+1');
    const banner = page.getByTestId('no-model-banner');
    await banner.waitFor();
    expect(await banner.textContent()).toContain('No model is installed yet');
    // The table does not repeat "No caption yet" on every row when the banner already says why.
    await rows().first().waitFor();
    expect(await page.getByRole('grid').textContent()).not.toContain('No caption yet');

    await rows().first().locator('.c-title button').click();
    await page.locator('h1', { hasText: 'Track' }).waitFor();
    const describedBy = async (name: string | RegExp, role: 'button' | 'textbox' = 'button'): Promise<string> => {
      const el = page.getByRole(role, { name });
      expect(await el.isDisabled()).toBe(true);
      const id = await el.getAttribute('aria-describedby');
      return id ? ((await page.locator(`#${id}`).textContent()) ?? '') : '';
    };
    expect(await describedBy('Write caption')).toContain('No model is installed yet');
    expect(await describedBy('Ask')).toContain('No model is installed yet');
    expect(await describedBy('Your question', 'textbox')).toContain('No model is installed yet');
    expect(await describedBy('Find')).toContain('No model is installed yet');
    await screenshot(page, 'track-no-model');

    await banner.getByRole('link', { name: 'Models page' }).click();
    await page.getByRole('heading', { name: 'Models', level: 1 }).waitFor();
    await page.keyboard.press('Control+1');
    await page.getByRole('heading', { name: 'Library', level: 1 }).waitFor();
  });

  it('shows a run\'s real step with a progress bar, and a loss chart with a fixed x-axis, a legend and smoothing', async () => {
    // A run the trainer recorded up to step 23 of 30 (its row's own step lags: it moves at checkpoints).
    const db = bridge.services.db;
    const runId = createRun(db, { modelId: 'tiny', modelPath: '/packs/tiny', encoderModelId: 'mert', parentAdapterId: null, config: '{}', dataReport: null, totalSteps: 30, checkpointPath: null });
    for (let step = 1; step <= 23; step++) addPoint(db, runId, { kind: 'train', step, loss: 3 / Math.sqrt(step) + 0.2 * Math.sin(step), lr: 3e-5, gradNorm: 1, tokens: 100 });
    await page.keyboard.press('Control+5');
    await page.getByRole('heading', { name: 'Training', level: 1 }).waitFor();
    await expect.poll(() => page.getByTestId('train-status').textContent()).toContain('Step 23 of 30');
    expect(await page.getByTestId('train-progress').getAttribute('value')).toBe('23');
    expect(await page.getByTestId('train-progress').getAttribute('max')).toBe('30');
    // The x-axis spans the whole run, not just the points so far.
    await expect.poll(() => page.locator('[data-x-max]').getAttribute('data-x-max')).toBe('30');
    const legend = (await page.locator('.u-legend').textContent()) ?? '';
    expect(legend).toContain('training loss, smoothed');
    expect(legend).not.toContain('--');
    await page.getByLabel('Smoothing').selectOption({ label: 'Off' });
    await screenshot(page, 'training-progress');
    // The Jobs page lists training runs too.
    await goTo('Control+4', 'Jobs');
    await expect.poll(() => page.getByTestId('training-run').first().textContent()).toContain('Step 23 of 30');
  });

  it('scores a predictions file on the Evaluation page, beside the paper\'s row, with every pair sorted by score', async () => {
    const predictions = join(work, 'predictions.jsonl');
    const pairs = [
      { reference: 'A calm piano ballad with soft strings.', candidate: 'A calm piano ballad with soft strings.' },
      { reference: 'Loud rock with distorted guitars and fast drums.', candidate: 'A quiet folk song.' },
      { reference: 'An upbeat jazz tune with a walking bass.', candidate: 'An upbeat jazz song with a bass.' },
    ];
    writeFileSync(predictions, pairs.map((p) => JSON.stringify(p)).join('\n') + '\n');
    await goTo('Control+6', 'Evaluation');
    await page.getByTestId('eval-predictions').fill(predictions);
    await page.getByRole('combobox', { name: /Dataset/ }).selectOption('musiccaps');
    await page.getByRole('button', { name: 'Run evaluation' }).click();
    await page.getByTestId('eval-table').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('eval-paper-row').textContent()).toContain('Table 2, MusicCaps captioning');
    // The paper's own figures for MusiLingo on MusicCaps (Table 2 of the paper), none "n/a".
    expect(await page.getByTestId('eval-paper-row').locator('td').allTextContents()).toEqual(['30.80', '21.60', '21.70', '86.80']);
    // And the paper's whole Table 2 beside this run, in print order.
    const paperTable = await page.getByTestId('eval-paper-table-row').locator('th').allTextContents();
    expect(paperTable).toEqual(['MusCaps (Manco et al., 2021)', 'LTU (Gong et al., 2023b)', 'LTU-AS (Gong et al., 2023a)', 'LP-MusicCaps (Doh et al., 2023a)', 'MusiLingo Pre-trained', 'MusiLingo / MusicCaps']);
    expect(await page.getByTestId('eval-paper-table-row').filter({ hasText: 'LP-MusicCaps' }).locator('td').allTextContents()).toEqual(['14.70', '22.40', '21.50', '87.80']);
    // The result with the paper's table fits 800×600 and passes axe in both themes.
    const problems: string[] = [];
    await page.setViewportSize({ width: 800, height: 600 });
    for (const theme of ['light', 'dark'] as const) {
      await page.getByRole('combobox', { name: 'Theme' }).selectOption(theme);
      for (const c of await horizontalClipping(page)) problems.push(`evaluation result ${theme}: clipped ${c}`);
      for (const v of await axeViolations(page)) problems.push(`evaluation result ${theme}: ${v}`);
    }
    await page.getByRole('combobox', { name: 'Theme' }).selectOption('light');
    await page.setViewportSize({ width: 1280, height: 800 });
    expect(problems).toEqual([]);
    const measured = await page.getByTestId('eval-measured-row').locator('td').allTextContents();
    // B-U, M-R and R-L are measured (BERT-S was not asked for).
    expect(measured.slice(0, 3).every((v) => /^\d+\.\d\d$/.test(v))).toBe(true);
    expect(measured[3]).toBe('n/a');
    // Worst first: scores ascend, and the identical pair comes last.
    const scores = (await page.getByTestId('eval-pair').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-score'))))) as number[];
    expect(scores).toHaveLength(3);
    expect([...scores].sort((a, b) => a - b)).toEqual(scores);
    expect(await page.getByTestId('eval-pair').last().textContent()).toContain('A calm piano ballad');
    await screenshot(page, 'evaluation');
  });

  it('focuses the heading on Ctrl+1 after an earlier Ctrl+F, and Tab from a track\'s heading reaches Back', async () => {
    await page.keyboard.press('Control+f');
    await expect.poll(() => page.evaluate("document.activeElement?.getAttribute('type')")).toBe('search');
    await goTo('Control+2', 'Folders');
    await goTo('Control+1', 'Library');
    await expect.poll(() => page.evaluate('document.activeElement?.tagName')).toBe('H1');

    await rows().first().locator('.c-title button').click();
    await page.getByRole('button', { name: '← Back' }).waitFor();
    await expect.poll(() => page.evaluate('document.activeElement?.tagName')).toBe('H1');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent?.trim()')).toBe('← Back');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Library', level: 1 }).waitFor();
  });

  it('fits 800×600 and 1280×800 without clipping, header and rows aligned, and passes axe (WCAG 2.2 AA) on every page in both themes', async () => {
    const problems: string[] = [];
    const pages: { name: string; open: () => Promise<void> }[] = [
      { name: 'library', open: () => goTo('Control+1', 'Library') },
      {
        name: 'track',
        open: async () => {
          await goTo('Control+1', 'Library');
          await rows().first().locator('.c-title button').click();
          await page.getByRole('button', { name: '← Back' }).waitFor();
        },
      },
      { name: 'folders', open: () => goTo('Control+2', 'Folders') },
      { name: 'models', open: () => goTo('Control+3', 'Models') },
      { name: 'jobs', open: () => goTo('Control+4', 'Jobs') },
      { name: 'training', open: () => goTo('Control+5', 'Training') },
      { name: 'evaluation', open: () => goTo('Control+6', 'Evaluation') },
    ];
    for (const size of [{ width: 1280, height: 800 }, { width: 800, height: 600 }]) {
      await page.setViewportSize(size);
      for (const theme of ['light', 'dark'] as const) {
        await page.getByRole('combobox', { name: 'Theme' }).selectOption(theme);
        await expect.poll(() => page.evaluate('document.documentElement.dataset.theme')).toBe(theme);
        for (const p of pages) {
          await p.open();
          await expect.poll(async () => (await page.locator('main').textContent())?.includes('Loading…')).toBe(false);
          const where = `${p.name} ${theme} ${size.width}×${size.height}`;
          for (const c of await horizontalClipping(page)) problems.push(`${where}: clipped ${c}`);
          for (const v of await axeViolations(page)) problems.push(`${where}: axe ${v}`);
          if (p.name === 'library') for (const m of await misalignedColumns(page)) problems.push(`${where}: misaligned ${m}`);
          await screenshot(page, `${p.name}-${theme}-${size.width}x${size.height}`);
        }
      }
    }
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.getByRole('combobox', { name: 'Theme' }).selectOption('light');
    expect(problems).toEqual([]);
  });

  it('shows Track and Disc columns, hides a column, and resizes one from the keyboard, header and rows staying aligned', async () => {
    await goTo('Control+1', 'Library');
    const headers = async (): Promise<string[]> => (await page.getByRole('columnheader').allTextContents()).map((t) => t.replace(/[▲▼]/g, '').trim());
    expect(await headers()).not.toContain('Track');
    await page.getByText('Columns', { exact: true }).click();
    await page.getByRole('checkbox', { name: 'Track' }).check();
    await page.getByRole('checkbox', { name: 'Disc' }).check();
    await page.getByRole('checkbox', { name: 'Caption' }).uncheck();
    await expect.poll(headers).toEqual(['Title', 'Artist', 'Album', 'Track', 'Disc', 'Genre', 'Year', 'Length']);
    await page.getByText('Columns', { exact: true }).click();

    const title = page.getByRole('columnheader', { name: /^Title/ });
    const before = (await title.boundingBox())!.width;
    await page.getByRole('separator', { name: /Resize the Title column/ }).focus();
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight');
    await expect.poll(async () => Math.round((await title.boundingBox())!.width - before)).toBeGreaterThanOrEqual(29);
    expect(await misalignedColumns(page)).toEqual([]);
    // The layout is part of the stored view.
    await expect.poll(() => createViewStore(bridge.services.db).getLibrary()?.hiddenColumns).toEqual(['caption']);
    expect(createViewStore(bridge.services.db).getLibrary()?.columnWidths.title).toBeGreaterThan(before);
  });

  it('logged no errors in the page', () => {
    const unexpected = [...consoleErrors];
    for (const m of mediaMisses) unexpected.splice(unexpected.indexOf(m), 1);
    expect(unexpected).toEqual([]);
  });
});
