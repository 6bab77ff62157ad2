/**
 * @file Smoke test of the packaged Electron app with Playwright's `_electron` driver: the window opens with the
 * built renderer, `window.api` is the preload's (and nothing else leaks into the page), IPC answers through the
 * Result envelope, navigation away is blocked, and a second launch does not open a second instance.
 *
 * Runs only where the Electron binary is installed (node_modules/electron/dist, which `npm ci` downloads
 * unless ELECTRON_SKIP_BINARY_DOWNLOAD is set) and the app is built (`npm run build`). Elsewhere — CI here has
 * no Electron binary — it is skipped, and the same renderer and handlers are covered in Chromium by the bridge
 * suites (app.spec.ts, analysis.spec.ts, models.spec.ts, big-library.spec.ts).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

/** The Electron executable, without requiring the `electron` package (its index tries to download the binary). */
function electronBinary(): string | null {
  const pathFile = join(ROOT, 'node_modules/electron/path.txt');
  if (!existsSync(pathFile)) return null;
  const bin = join(ROOT, 'node_modules/electron/dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(bin) ? bin : null;
}

const ELECTRON = electronBinary();
const IS_BUILT = existsSync(join(ROOT, 'out/main/index.js')) && existsSync(join(ROOT, 'out/preload/index.cjs'));
const SKIP_REASON = ELECTRON === null ? 'the Electron binary is not installed' : !IS_BUILT ? 'the app is not built (npm run build)' : '';

describe.skipIf(SKIP_REASON !== '')(`Electron app smoke test${SKIP_REASON ? ` (skipped: ${SKIP_REASON})` : ''}`, () => {
  let app: ElectronApplication;
  let page: Page;
  let home: string;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'musilingo-electron-'));
    app = await _electron.launch({
      executablePath: ELECTRON ?? '',
      args: [ROOT, ...(process.platform === 'linux' ? ['--no-sandbox', '--disable-gpu'] : [])],
      env: { ...process.env, MUSILINGO_HOME: home, ELECTRON_RENDERER_URL: '' },
    });
    page = await app.firstWindow();
    await page.getByRole('heading', { name: 'Library', level: 1 }).waitFor();
  });

  afterAll(async () => {
    await app?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('exposes exactly invoke and on, and answers through the Result envelope', async () => {
    expect(await page.evaluate('Object.keys(window.api).sort().join(",")')).toBe('invoke,on');
    expect(await page.evaluate('typeof require')).toBe('undefined');
    expect(await page.evaluate('typeof process')).toBe('undefined');
    const info = (await page.evaluate("window.api.invoke('app:info')")) as { ok: boolean; value: { hasNativeDialogs: boolean; dataDir: string } };
    expect(info.ok).toBe(true);
    expect(info.value.hasNativeDialogs).toBe(true);
    expect(info.value.dataDir).toBe(home);
    const bad = (await page.evaluate("window.api.invoke('track:get', 'x')")) as { ok: boolean; error: { code: string } };
    expect(bad).toMatchObject({ ok: false, error: { code: 'invalid-argument' } });
  });

  it('blocks navigation away from the app', async () => {
    const before = page.url();
    await page.evaluate("location.href = 'https://example.com/'").catch(() => undefined);
    await new Promise((r) => setTimeout(r, 500));
    expect(page.url()).toBe(before);
  });

  it('keeps a single instance: a second launch exits and leaves one window', async () => {
    const second = spawn(ELECTRON ?? '', [ROOT, ...(process.platform === 'linux' ? ['--no-sandbox'] : [])], {
      env: { ...process.env, MUSILINGO_HOME: home },
      stdio: 'ignore',
    });
    const exited = await new Promise<boolean>((ok) => {
      second.once('exit', () => ok(true));
      setTimeout(() => ok(false), 15_000);
    });
    if (!exited) second.kill();
    expect(exited).toBe(true);
    expect(app.windows()).toHaveLength(1);
  });
});
