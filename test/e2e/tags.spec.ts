/**
 * @file End-to-end tagger in Chromium against the real backend: the Tags card on the Track page (suggestions
 * with evidence, accept, edit), the Library's tag review (bulk accept with its count, preview, Write, Undo last
 * batch), and the files checked with ffprobe after the write and after the undo.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { upsertModelCaption } from '../../main/db/captions';
import { TracksRepo } from '../../main/db/tracks';
import { startBridge, type Bridge } from './bridge/server';
import { writeTones } from './support/audio';
import { HAS_CHROMIUM, collectPageErrors, launchChromium, registerSuiteTeardown, screenshot } from './support/browser';
import { ensureRendererBuilt } from './support/renderer-build';

function ffprobeTags(path: string): Record<string, string> {
  const out = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format_tags', '-of', 'json', path], { encoding: 'utf8' });
  const tags = (JSON.parse(out) as { format?: { tags?: Record<string, string> } }).format?.tags ?? {};
  return Object.fromEntries(Object.entries(tags).map(([k, v]) => [k.toLowerCase(), v]));
}

describe.skipIf(!HAS_CHROMIUM)('tagger UI in Chromium against the real backend', () => {
  let browser: Browser;
  let bridge: Bridge;
  let page: Page;
  let work: string;
  let files: string[];
  let consoleErrors: string[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'musilingo-e2e-tags-'));
    const musicDir = join(work, 'music');
    files = writeTones(musicDir, [
      { file: 'rock.mp3', title: 'Loud One', artist: 'Band', album: 'A', genre: 'Rock', frequencyHz: 440, seconds: 1 },
      { file: 'quiet.flac', title: 'Quiet One', artist: 'Band', album: 'A', genre: '', frequencyHz: 262, seconds: 1 },
    ]);
    const [rendererDir, b] = await Promise.all([ensureRendererBuilt(), launchChromium()]);
    browser = b;
    bridge = await startBridge({ rendererDir, dataDir: join(work, 'data') });
    await bridge.services.library!.addFolder(musicDir);
    const tracks = new TracksRepo(bridge.services.db);
    for (let i = 0; tracks.count().present < 2; i++) {
      if (i > 400) throw new Error('the scan did not find the two test files within 20 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const t of tracks.list()) {
      upsertModelCaption(bridge.services.db, {
        trackId: t.id, startMs: 0, lengthMs: 1000, modelId: 'musilingo-test', adapterId: '',
        text: 'A calm jazz piece with piano and upright bass, slow tempo.',
      });
    }
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    consoleErrors = collectPageErrors(page);
    await page.goto(bridge.url);
  });

  registerSuiteTeardown(() => ({ page, browser, bridge, dirs: [work] }));

  it('the Tags card shows suggestions with evidence; accept and edit set what will be written', async () => {
    await expect.poll(() => page.getByTestId('track-count').textContent(), { timeout: 20_000 }).toBe('2 tracks');
    await page.getByRole('grid').locator('.c-title .link', { hasText: 'Quiet One' }).click();
    const card = page.locator('.tags-card');
    const genre = card.locator('tr[data-field=genre]');
    await genre.getByTestId('suggestion').first().waitFor();
    expect(await genre.getByTestId('suggestion').first().getAttribute('title')).toContain('A calm jazz piece with piano and upright bass');
    await card.getByRole('button', { name: 'Accept genre jazz' }).click();
    await expect.poll(() => genre.getByTestId('pending').textContent()).toBe('jazz');
    await card.getByRole('button', { name: 'Edit mood' }).click();
    await card.getByLabel('Value of mood').fill('dreamy');
    await card.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => card.locator('tr[data-field=mood]').getByTestId('pending').textContent()).toBe('dreamy');
    await screenshot(page, 'track-tags-card');
    expect(consoleErrors).toEqual([]);
  });

  it('bulk accept by field shows its count, then preview → Write → Undo last batch', async () => {
    await page.getByRole('button', { name: '← Back' }).click();
    await page.getByText('Review tags').click();
    await page.getByRole('button', { name: 'Suggest from captions' }).click();
    await expect.poll(() => page.getByTestId('tag-status').textContent()).toMatch(/^\d+ suggestions from captions\.$/);
    await page.getByLabel('Field to accept').selectOption('instruments');
    await expect.poll(() => page.getByTestId('bulk-count').textContent()).toBe('2 tracks will change');
    await page.getByRole('button', { name: 'Accept instruments' }).click();
    await expect.poll(() => page.getByTestId('tag-status').textContent()).toBe('Accepted instruments on 2 tracks.');
    await expect.poll(() => page.getByTestId('bulk-count').textContent()).toBe('0 tracks will change');

    await page.getByRole('button', { name: 'Preview' }).click();
    const preview = page.getByTestId('tag-preview');
    await preview.waitFor();
    expect(await preview.textContent()).toContain('genre (GENRE): (none) → jazz');
    expect(await preview.textContent()).toContain('instruments (TXXX:MUSILINGO_INSTRUMENTS): (none) → piano; double bass');
    await screenshot(page, 'library-tag-preview');

    await page.getByRole('button', { name: 'Write' }).click();
    await expect.poll(() => page.getByTestId('tag-status').textContent(), { timeout: 20_000 }).toMatch(/2 written, 0 unchanged, 0 skipped, 0 failed/);
    const [mp3, flac] = files as [string, string];
    expect(ffprobeTags(flac)).toMatchObject({ genre: 'jazz', mood: 'dreamy' });
    expect(ffprobeTags(mp3).genre).toBe('Rock');

    await page.getByRole('button', { name: 'Undo last batch' }).click();
    await expect.poll(() => page.getByTestId('tag-status').textContent(), { timeout: 20_000 }).toBe('Undone: 2 restored, 0 unchanged, 0 skipped, 0 failed.');
    expect(ffprobeTags(flac).genre).toBeUndefined();
    expect(ffprobeTags(flac).mood).toBeUndefined();
    expect(consoleErrors).toEqual([]);
  });
});
