/**
 * @file End-to-end with a real (tiny) model: multi-select and bulk captions with a count before they start, the
 * Jobs page's group counts, Retry and Clear finished with readable dates and titles, and a failure shown next to
 * the button that caused it. Real renderer in Chromium, real SQLite, scanner, queue and inference worker.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { getJob, listJobs } from '../../main/db/jobs';
import { qaThread, qaThreads } from '../../main/db/qa';
import { suggestionsOf } from '../../main/db/tags';
import { nodeLaunchers } from './bridge/node-launchers';
import { startBridge, type Bridge } from './bridge/server';
import { writeTones } from './support/audio';
import { collectPageErrors, HAS_CHROMIUM, launchChromium, registerSuiteTeardown, screenshot } from './support/browser';
import { axeViolations } from './support/page-checks';
import { ensureRendererBuilt } from './support/renderer-build';
import { installTinyPack } from './support/tiny-pack';

describe.skipIf(!HAS_CHROMIUM)('bulk actions, jobs and failures with a tiny model', () => {
  let browser: Browser;
  let bridge: Bridge;
  let page: Page;
  let work: string;
  let musicDir: string;
  let consoleErrors: string[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'musilingo-e2e-bulk-'));
    const dataDir = join(work, 'data');
    musicDir = join(work, 'music');
    writeTones(musicDir, [
      { file: 'a/one.wav', title: 'Tone One', artist: 'Sines', album: 'Tones', genre: 'Ambient', frequencyHz: 220, seconds: 2 },
      { file: 'a/two.wav', title: 'Tone Two', artist: 'Sines', album: 'Tones', genre: 'Ambient', frequencyHz: 330, seconds: 2 },
      { file: 'b/three.wav', title: 'Tone Three', artist: 'Sines', album: 'Tones', genre: 'Folk', frequencyHz: 440, seconds: 2 },
      { file: 'b/four.wav', title: 'Tone Four', artist: 'Sines', album: 'Tones', genre: 'Folk', frequencyHz: 550, seconds: 2 },
    ]);
    const [rendererDir, b] = await Promise.all([ensureRendererBuilt(), launchChromium(), installTinyPack(dataDir, work)]);
    browser = b;
    const workers = nodeLaunchers((line) => bridge?.logs.push(line));
    bridge = await startBridge({ rendererDir, dataDir, launchers: workers.launchers, jobPollMs: 100 });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    consoleErrors = collectPageErrors(page);
    await page.goto(bridge.url);
    await page.getByRole('button', { name: 'Folders' }).click();
    await page.getByLabel('Add a music folder').fill(musicDir);
    await page.getByRole('button', { name: 'Add folder' }).click();
  });

  registerSuiteTeardown(() => ({ page, browser, bridge, dirs: [work] }));

  const row = (title: string): ReturnType<Page['locator']> => page.locator('[role=row][data-track-id]', { hasText: title });
  const selectedTitles = async (): Promise<string[]> => (await page.locator('[role=row][aria-selected=true] .c-title').allTextContents()).sort();

  it('selects with click, Shift+click, Ctrl+click and the keyboard', async () => {
    await page.getByRole('button', { name: 'Library' }).click();
    await expect.poll(() => page.getByTestId('track-count').textContent(), { timeout: 20_000 }).toBe('4 tracks');
    // Background captioning of the library starts once the model is ready; let it finish first.
    await expect
      .poll(async () => (await page.locator('[role=row][data-track-id] .c-caption').allTextContents()).filter((t) => t.trim() && !/caption/i.test(t)).length, { timeout: 60_000 })
      .toBe(4);
    // Title order: Four, One, Three, Two.
    await row('Tone Four').locator('.c-artist').click();
    await row('Tone Three').locator('.c-artist').click({ modifiers: ['Shift'] });
    expect(await selectedTitles()).toEqual(['Tone Four', 'Tone One', 'Tone Three']);
    await row('Tone One').locator('.c-artist').click({ modifiers: ['Control'] });
    expect(await selectedTitles()).toEqual(['Tone Four', 'Tone Three']);
    await page.getByTestId('track-grid').focus();
    await page.keyboard.press('Home');
    expect(await selectedTitles()).toEqual(['Tone Four']);
    await page.keyboard.press('Shift+ArrowDown');
    await expect.poll(selectedTitles).toEqual(['Tone Four', 'Tone One']);
    await page.keyboard.press('Control+a');
    await expect.poll(selectedTitles).toEqual(['Tone Four', 'Tone One', 'Tone Three', 'Tone Two']);
    expect(await page.getByTestId('bulk-actions').textContent()).toContain('4 selected');
  });

  it('suggests tags from the captions of a selection after showing the count, and Review tags shows them', async () => {
    const db = bridge.services.db;
    const idOf = async (title: string): Promise<number> => Number(await row(title).getAttribute('data-track-id'));
    const [one, three, two] = [await idOf('Tone One'), await idOf('Tone Three'), await idOf('Tone Two')];
    // No page has asked for tags yet (the Tags card suggests on open): nothing is suggested so far.
    expect([one, three, two].map((id) => suggestionsOf(db, id).length)).toEqual([0, 0, 0]);
    await row('Tone One').locator('.c-artist').click();
    await row('Tone Three').locator('.c-artist').click({ modifiers: ['Control'] });
    await page.getByRole('button', { name: 'Suggest tags for selected…' }).click();
    const confirm = page.getByTestId('bulk-confirm');
    expect(await confirm.textContent()).toContain('Suggest tags for 2 tracks from their captions?');
    // Nothing happens before the user confirms.
    expect(suggestionsOf(db, one)).toEqual([]);
    await confirm.getByRole('button', { name: 'Start' }).click();
    await expect.poll(() => page.getByTestId('bulk-done').textContent()).toMatch(/^\d+ tag suggestions? for 2 tracks, from their captions/);
    // Only the selection: the caption itself is a suggestion for each of the two, none for the others.
    expect(suggestionsOf(db, one).some((s) => s.field === 'caption' && s.state === 'pending')).toBe(true);
    expect(suggestionsOf(db, three).some((s) => s.field === 'caption' && s.state === 'pending')).toBe(true);
    expect(suggestionsOf(db, two)).toEqual([]);
    // The review view counts them: accepting the caption field would change exactly those two tracks.
    await page.getByRole('heading', { name: 'Review tags' }).click();
    await page.getByRole('combobox', { name: 'Field to accept' }).selectOption('caption');
    await page.getByLabel('only where the file has none').uncheck();
    await expect.poll(() => page.getByTestId('bulk-count').textContent()).toBe('2 tracks will change');
    await page.getByRole('heading', { name: 'Review tags' }).click();
  });

  it('queues the model\'s tag questions for a selection as jobs when asked, and their answers become suggestions', async () => {
    const db = bridge.services.db;
    const two = Number(await row('Tone Two').getAttribute('data-track-id'));
    await row('Tone Two').locator('.c-artist').click();
    await page.getByRole('button', { name: 'Suggest tags for selected…' }).click();
    const confirm = page.getByTestId('bulk-confirm');
    expect(await confirm.textContent()).toContain('Suggest tags for 1 track from their captions?');
    await screenshot(page, 'library-suggest-tags-confirm');
    await confirm.getByRole('checkbox', { name: /Also ask the model/ }).check();
    await confirm.getByRole('button', { name: 'Start' }).click();
    await expect.poll(() => page.getByTestId('bulk-done').textContent()).toContain("The model's questions are queued for 1 track");
    // One 'suggest-tags' job for the track, run by the queue with the active model, and its answers stored.
    const jobs = listJobs(db, { states: ['queued', 'running', 'done', 'failed'], limit: 1000 }).filter((j) => j.kind === 'suggest-tags');
    expect(jobs.map((j) => (j.payload as { trackId: number }).trackId)).toEqual([two]);
    await expect.poll(() => getJob(db, jobs[0]!.id)?.state, { timeout: 60_000 }).toBe('done');
    expect(suggestionsOf(db, two).filter((s) => s.source === 'question').length).toBeGreaterThan(0);
  });

  it('re-captions a selection after showing how many tracks it will touch, as one group with counts on the Jobs page', async () => {
    await row('Tone One').locator('.c-artist').click();
    await row('Tone Two').locator('.c-artist').click({ modifiers: ['Control'] });
    expect(await page.getByTestId('bulk-actions').textContent()).toContain('2 selected');
    // Caption only touches tracks without a caption: none here, and it says so instead of starting.
    await page.getByRole('button', { name: 'Caption selected…', exact: true }).click();
    expect(await page.getByTestId('bulk-confirm').textContent()).toContain('already has a caption');
    await page.getByTestId('bulk-confirm').getByRole('button', { name: 'OK' }).click();

    const before = listJobs(bridge.services.db, { states: ['queued', 'running', 'paused', 'done', 'failed', 'cancelled'], limit: 1000 }).length;
    await page.getByRole('button', { name: 'Re-caption selected…' }).click();
    expect(await page.getByTestId('bulk-confirm').textContent()).toContain('Write new captions for 2 tracks?');
    // Nothing is queued before the user confirms.
    expect(listJobs(bridge.services.db, { states: ['queued', 'running', 'paused', 'done', 'failed', 'cancelled'], limit: 1000 }).length).toBe(before);
    await page.getByTestId('bulk-confirm').getByRole('button', { name: 'Start' }).click();
    await expect.poll(() => page.getByTestId('bulk-done').textContent()).toContain('2 tracks queued');

    await page.keyboard.press('Control+4');
    await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
    await page.getByLabel('Show finished jobs').check();
    const group = page.getByTestId('job').filter({ hasText: 'Re-caption 2 selected tracks' });
    await expect.poll(() => group.getByTestId('job-counts').textContent(), { timeout: 60_000 }).toContain('2 of 2');
    // Dates in words, not ISO timestamps.
    expect(await group.textContent()).not.toMatch(/\d{4}-\d\d-\d\dT/);
    expect(await group.textContent()).toMatch(/just now|min ago|today/);
    await screenshot(page, 'jobs-group');
  });

  it('asks one question about each selected track, and each track keeps its answer', async () => {
    await page.keyboard.press('Control+1');
    await page.getByRole('heading', { name: 'Library', level: 1 }).waitFor();
    await row('Tone Three').locator('.c-artist').click();
    await row('Tone Two').locator('.c-artist').click({ modifiers: ['Control'] });
    await page.getByRole('button', { name: 'Ask selected…' }).click();
    const confirm = page.getByTestId('bulk-confirm');
    expect(await confirm.textContent()).toContain('each of 2 tracks');
    await confirm.getByLabel('Question').fill('Is it calm?');
    await confirm.getByRole('button', { name: 'Start' }).click();
    await expect.poll(() => page.getByTestId('bulk-done').textContent()).toContain('Asked about 2 tracks');
    const db = bridge.services.db;
    const ids = (await page.locator('[role=row][aria-selected=true]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-track-id'))))) as number[];
    expect(ids).toHaveLength(2);
    // Each track gets its own thread with the question and, once answered, the answer.
    for (const id of ids) {
      await expect
        .poll(() => qaThreads(db, id).flatMap((t) => qaThread(db, id, t.threadId)).filter((m) => m.role === 'assistant' || m.text === 'Is it calm?').length, { timeout: 60_000 })
        .toBeGreaterThanOrEqual(2);
    }
  });

  it('shows a failed Regenerate next to its button, and the Jobs page retries and clears it with the title', async () => {
    await page.keyboard.press('Control+1');
    await row('Tone Four').locator('.c-title button').click();
    await page.getByRole('heading', { level: 1, name: 'Tone Four' }).waitFor();
    rmSync(join(musicDir, 'b/four.wav'));
    await page.getByRole('button', { name: 'Regenerate' }).click();
    const error = page.getByTestId('caption-error');
    await error.waitFor({ timeout: 30_000 });
    // Next to the button that caused it (same card), naming the track.
    const card = page.locator('section', { has: page.getByRole('heading', { name: 'Captions' }) });
    expect(await card.getByTestId('caption-error').count()).toBe(1);
    expect(await error.textContent()).toMatch(/four\.wav|Tone Four/);
    await screenshot(page, 'track-caption-failed');

    await page.keyboard.press('Control+4');
    await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
    const failed = page.getByTestId('job').filter({ hasText: 'Caption “Tone Four”' }).filter({ hasText: 'failed' });
    await failed.first().waitFor({ timeout: 30_000 });
    expect(await failed.first().textContent()).not.toMatch(/track \d+/);
    const jobId = Number(/#(\d+)/.exec((await failed.first().textContent()) ?? '')?.[1]);
    const firstEnd = getJob(bridge.services.db, jobId)?.finishedAt ?? 0;
    expect(firstEnd).toBeGreaterThan(0);
    await failed.first().getByRole('button', { name: /^Retry/ }).click();
    // Retried: the same job runs again and ends again (failed once more: the file is still gone).
    await expect.poll(() => getJob(bridge.services.db, jobId)?.finishedAt ?? 0, { timeout: 30_000 }).toBeGreaterThan(firstEnd);
    expect(getJob(bridge.services.db, jobId)?.state).toBe('failed');

    await page.getByRole('button', { name: 'Clear finished' }).click();
    await expect
      .poll(() => listJobs(bridge.services.db, { states: ['done', 'cancelled'], limit: 1000 }).length)
      .toBe(0);
    await expect.poll(() => page.getByTestId('job').filter({ hasText: 'Re-caption 2 selected tracks' }).count()).toBe(0);
  });

  it('plays a track through the media protocol with range requests, and plays the part a caption describes', async () => {
    await page.keyboard.press('Control+1');
    await row('Tone One').locator('.c-title button').click();
    await page.getByRole('heading', { level: 1, name: 'Tone One' }).waitFor();
    const player = page.getByTestId('player');
    await player.waitFor();
    const src = (await player.getAttribute('src')) ?? '';
    expect(src).toMatch(/\/__bridge\/media\/\d+$/);
    // The element loads the file's metadata through the protocol (2 s of audio).
    await expect.poll(() => page.evaluate(`Math.round(document.querySelector('[data-testid="player"]').duration)`)).toBe(2);
    // A range request answers just those bytes.
    const ranged = (await page.evaluate(`fetch(${JSON.stringify(src)}, { headers: { range: 'bytes=0-99' } }).then(async (r) => [r.status, r.headers.get('content-range'), (await r.arrayBuffer()).byteLength])`)) as [number, string, number];
    expect(ranged[0]).toBe(206);
    expect(ranged[1]).toMatch(/^bytes 0-99\/\d+$/);
    expect(ranged[2]).toBe(100);
    // Nothing else on disk: an id that is not a track, or a path, is refused.
    // (Asked from Node: a 404 inside the page would be logged as a console error.)
    expect((await fetch(new URL('/__bridge/media/999999', bridge.url))).status).toBe(404);
    const outside = await fetch(new URL(`/__bridge/media/${encodeURIComponent(join(musicDir, 'a/one.wav'))}`, bridge.url));
    expect(outside.status).toBe(404);

    const play = page.getByRole('button', { name: /^Play this part: 0:00–/ }).first();
    await play.click();
    await expect.poll(() => page.evaluate(`(() => { const a = document.querySelector('[data-testid="player"]'); return a.currentTime > 0 || !a.paused; })()`)).toBe(true);
    // The caption's model is named in words, not as a raw pack id.
    expect(await page.locator('.captions').textContent()).not.toContain('@float32');
  });

  it('keeps "More like this" where it is while an answer arrives in the chat', async () => {
    await page.keyboard.press('Control+1');
    await row('Tone Two').locator('.c-title button').click();
    await page.getByRole('heading', { level: 1, name: 'Tone Two' }).waitFor();
    // The Suggested tags card above loads on its own; measure once it has (this test is about the chat growing).
    await page.locator('.tags-card table').waitFor();
    const similar = page.getByRole('heading', { name: 'More like this' });
    // A caption still being written (from the re-caption above) would add its suggestion to the Tags card.
    await page.locator('.caption-text').first().waitFor({ timeout: 60_000 });
    await expect.poll(() => page.getByText('Writing a caption…').count(), { timeout: 60_000 }).toBe(0);
    await page.getByTestId('suggestion').first().waitFor();
    const title = page.getByRole('heading', { level: 1, name: 'Tone Two' });
    // Measured from the page's own heading, not the viewport: typing in the question box scrolls the page to
    // it (the Suggested tags card made the page taller than the window), which is not the card jumping.
    const offset = async (): Promise<number> => (await similar.boundingBox())!.y - (await title.boundingBox())!.y;
    const before = await offset();
    // In a wide window "More like this" may sit beside the chat; the chat card itself must not grow either.
    const chat = page.locator('section.chat');
    const chatHeight = (await chat.boundingBox())!.height;
    await page.getByTestId('question').fill('What instruments are playing?');
    await page.getByRole('button', { name: 'Ask' }).click();
    await expect.poll(() => page.locator('.msg.assistant[aria-busy=false]').count(), { timeout: 60_000 }).toBeGreaterThan(0);
    expect(Math.abs((await offset()) - before)).toBeLessThanOrEqual(1);
    expect(Math.abs((await chat.boundingBox())!.height - chatHeight)).toBeLessThanOrEqual(1);
  });

  it('passes axe (WCAG 2.2 AA) with a model: selection and confirmation, track with captions and player, jobs, in both themes', async () => {
    const problems: string[] = [];
    for (const theme of ['light', 'dark'] as const) {
      await page.getByRole('combobox', { name: 'Theme' }).selectOption(theme);
      await page.keyboard.press('Control+1');
      await page.getByRole('heading', { name: 'Library', level: 1 }).waitFor();
      await row('Tone One').locator('.c-artist').click();
      await row('Tone Two').locator('.c-artist').click({ modifiers: ['Control'] });
      await page.getByRole('button', { name: 'Re-caption selected…' }).click();
      await page.getByTestId('bulk-confirm').waitFor();
      for (const v of await axeViolations(page)) problems.push(`library ${theme}: ${v}`);
      await screenshot(page, `library-selection-${theme}`);
      await page.getByTestId('bulk-confirm').getByRole('button', { name: 'Cancel' }).click();
      await row('Tone One').locator('.c-title button').click();
      await page.getByTestId('player').waitFor();
      for (const v of await axeViolations(page)) problems.push(`track ${theme}: ${v}`);
      await screenshot(page, `track-model-${theme}`);
      await page.keyboard.press('Control+4');
      await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
      for (const v of await axeViolations(page)) problems.push(`jobs ${theme}: ${v}`);
      await page.keyboard.press('Control+3');
      await page.getByRole('heading', { name: 'Models', level: 1 }).waitFor();
      await page.getByTestId('recommendation').waitFor({ timeout: 30_000 });
      for (const v of await axeViolations(page)) problems.push(`models ${theme}: ${v}`);
      // The page leads with the doctor's recommendation, and conversion defaults to it.
      const recommended = await page.getByTestId('recommendation').locator('strong').nth(1).textContent();
      expect(await page.getByRole('combobox', { name: /^Variant for/ }).first().inputValue()).toBe(recommended);
      await screenshot(page, `models-ready-${theme}`);
    }
    await page.getByRole('combobox', { name: 'Theme' }).selectOption('light');
    expect(problems).toEqual([]);
  });

  it('logged no errors in the page', () => {
    expect(consoleErrors).toEqual([]);
  });
});
