/**
 * @file Builds the renderer once for the E2E suites (plain Node, test setup): the same Svelte sources and
 * index.html (with its CSP) the Electron build uses. The output folder is named after a hash of the sources,
 * built under a temporary name and renamed into place, so suites running in parallel never see a half-written
 * build and an unchanged renderer is not rebuilt.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { build } from 'vite';

const ROOT = resolve(import.meta.dirname, '../../..');
const OUT = join(ROOT, 'out/e2e-renderer');

function hashSources(): string {
  const h = createHash('sha256');
  const files: string[] = [join(ROOT, 'preload/contract.ts')];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk(join(ROOT, 'renderer'));
  for (const f of files) h.update(f).update(readFileSync(f));
  return h.digest('hex').slice(0, 16);
}

/** Returns the folder of a renderer build of the current sources, building it when there is none. */
export async function ensureRendererBuilt(): Promise<string> {
  const dir = join(OUT, hashSources());
  if (existsSync(join(dir, 'index.html'))) return dir;
  mkdirSync(OUT, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  await build({
    root: join(ROOT, 'renderer'),
    configFile: false,
    logLevel: 'warn',
    base: './',
    plugins: [svelte({ onwarn: () => {} })],
    build: { outDir: tmp, emptyOutDir: true, minify: false, reportCompressedSize: false },
  });
  try {
    renameSync(tmp, dir);
  } catch {
    // Another suite finished the same build first: use theirs.
    rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}
