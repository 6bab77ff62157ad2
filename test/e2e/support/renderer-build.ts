/**
 * @file Builds the renderer once for the E2E suite (plain Node, test setup): the same Svelte sources and
 * index.html (with its CSP) the Electron build uses, into out/e2e-renderer. Rebuilt only when a renderer
 * source is newer than the last build.
 */
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { build } from 'vite';

const ROOT = resolve(import.meta.dirname, '../../..');
/** Where the E2E renderer build goes. */
export const E2E_RENDERER_DIR = join(ROOT, 'out/e2e-renderer');

function newestMtimeMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtimeMs(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds the renderer unless the existing build is newer than every source; returns the output folder. */
export async function ensureRendererBuilt(): Promise<string> {
  const stamp = join(E2E_RENDERER_DIR, '.built');
  const sources = Math.max(newestMtimeMs(join(ROOT, 'renderer')), statSync(join(ROOT, 'preload/contract.ts')).mtimeMs);
  if (existsSync(stamp) && statSync(stamp).mtimeMs > sources) return E2E_RENDERER_DIR;
  await build({
    root: join(ROOT, 'renderer'),
    configFile: false,
    logLevel: 'warn',
    base: './',
    plugins: [svelte({ onwarn: () => {} })],
    build: { outDir: E2E_RENDERER_DIR, emptyOutDir: true, minify: false, reportCompressedSize: false },
  });
  writeFileSync(stamp, new Date().toISOString());
  return E2E_RENDERER_DIR;
}
