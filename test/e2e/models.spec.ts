/**
 * @file End-to-end on the Models page: download a catalog model from the tests' local Hub server with live
 * progress, convert it (the real converter, in its own process), and make it the active model. Real renderer
 * in Chromium, real downloader, checksums, converter and SQLite.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { startHubServer, type HubServer } from '../support/hub-server';
import { musilingoRepoFiles, tokenizerRepoFiles } from '../support/models/tiny-repo';
import { startBridge, type Bridge } from './bridge/server';
import { HAS_CHROMIUM, launchChromium, screenshot, registerSuiteTeardown } from './support/browser';
import { ensureRendererBuilt } from './support/renderer-build';

describe.skipIf(!HAS_CHROMIUM)('Models page against a local Hub', () => {
  let browser: Browser;
  let bridge: Bridge;
  let hub: HubServer;
  let page: Page;
  let work: string;
  const progress: { phase: string; progress: number }[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'musilingo-e2e-models-'));
    hub = await startHubServer({
      'm-a-p/MusiLingo-long-v1': { files: await musilingoRepoFiles({ sharded: true }) },
      'lmsys/vicuna-7b-delta-v0': { files: tokenizerRepoFiles() },
    });
    const [rendererDir, b] = await Promise.all([ensureRendererBuilt(), launchChromium()]);
    browser = b;
    bridge = await startBridge({ rendererDir, dataDir: join(work, 'data'), hub: { endpoint: hub.endpoint } });
    bridge.services.events.subscribe((channel, payload) => {
      if (channel === 'models:progress') progress.push(payload as { phase: string; progress: number });
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(bridge.url);
    await page.keyboard.press('Control+3');
    await page.getByRole('heading', { name: 'Models', level: 1 }).waitFor();
  });

  registerSuiteTeardown(() => ({ page, browser, bridge, others: [hub], dirs: [work] }));

  const longModel = (): ReturnType<Page['locator']> => page.locator('[data-model-id="musilingo-long"]');

  it('shows the catalog with licences and the execution provider in use', async () => {
    await longModel().waitFor();
    expect(await longModel().textContent()).toContain('Licence');
    await expect.poll(() => page.getByTestId('ep').textContent(), { timeout: 30_000 }).toMatch(/^(cpu|cuda|webgpu)$/);
    await screenshot(page, 'models');
  });

  it('downloads a model with progress, from the Hub, verified', async () => {
    await longModel().getByRole('button', { name: /^Download/ }).click();
    await expect.poll(() => longModel().textContent(), { timeout: 30_000 }).toContain('Downloaded, not converted');
    const downloads = progress.filter((p) => p.phase === 'download' || p.phase === 'verify');
    expect(downloads.length).toBeGreaterThan(1);
    expect(downloads.some((p) => p.progress > 0 && p.progress < 1)).toBe(true);
    expect(hub.cdnGets('model-00002-of-00003.safetensors')).toBeGreaterThan(0);
    await screenshot(page, 'models-downloaded');
  });

  it('shows a failed download as failed in its own card at once, not "Downloading 0 %" until a reload', async () => {
    // The local Hub does not have this repository: the download fails with the Hub's answer.
    const shortModel = page.locator('[data-model-id="musilingo-short"]');
    await shortModel.getByRole('button', { name: /^Download/ }).click();
    await expect.poll(() => shortModel.getByTestId('model-error').count(), { timeout: 30_000 }).toBe(1);
    expect(await shortModel.textContent()).toContain('Failed');
    expect(await shortModel.textContent()).not.toContain('Downloading');
    // The error is in that model's card, not at the top of the page.
    expect(await page.locator('main > p.error').count()).toBe(0);
    await screenshot(page, 'models-download-failed');
  });

  it('converts it in its own process and makes it the active model', async () => {
    await longModel().getByLabel(/Variant for/).selectOption('float32');
    await longModel().getByRole('button', { name: 'Convert' }).click();
    await expect.poll(() => longModel().textContent(), { timeout: 60_000 }).toContain('Ready');
    expect(progress.some((p) => p.phase === 'convert')).toBe(true);
    expect(await longModel().textContent()).toContain('Packs: float32');
    // The only ready model is the active one; choosing it explicitly keeps it so.
    await expect.poll(() => longModel().locator('.badge.ok', { hasText: 'active' }).count()).toBe(1);
    await screenshot(page, 'models-ready');
  });
});
