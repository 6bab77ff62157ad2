/**
 * @file Vitest globalSetup: builds the CLI bundle (out/cli/musilingo.mjs) once before the tests when it is
 * missing or older than any source it is built from, so CLI tests run the code under test. `npm test` builds it
 * anyway; this covers `npx vitest run <file>`. The build runs under a file lock because several test runs may
 * share one working tree.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const BUNDLE = join(ROOT, 'out', 'cli', 'musilingo.mjs');
const SOURCES = ['main', 'model', 'trainer', 'preload'];
const FILES = ['vite.cli.config.ts', 'package.json'];

function newestMtime(dir: string): number {
  let newest = 0;
  if (!existsSync(dir)) return 0;
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, ent.name);
    if (ent.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (ent.isFile()) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function isStale(): boolean {
  if (!existsSync(BUNDLE) || !existsSync(join(ROOT, 'out', 'cli', 'scan.thread.mjs'))) return true;
  const built = statSync(BUNDLE).mtimeMs;
  const newest = Math.max(
    ...SOURCES.map((d) => newestMtime(join(ROOT, d))),
    ...FILES.map((f) => (existsSync(join(ROOT, f)) ? statSync(join(ROOT, f)).mtimeMs : 0)),
  );
  return newest > built;
}

/**
 * True when the command line names test files and none of them can spawn the CLI or start one of its thread
 * entries (out/cli/*.thread.mjs, e.g. the scan threads): a run of one unit test should not pay for a bundle build.
 */
function runNeedsNoCli(): boolean {
  const filters = process.argv.slice(2).filter((a) => !a.startsWith('-') && !['run', 'watch', 'dev', 'related'].includes(a) && !a.endsWith('vitest.mjs') && !a.endsWith('vitest'));
  return filters.length > 0 && !filters.some((f) => /cli|e2e|thread/i.test(f));
}

/** Builds the CLI if stale. A failed build is reported but does not stop the tests that do not need it. */
export default function setup(): void {
  if (process.env['MUSILINGO_SKIP_CLI_BUILD'] === '1' || runNeedsNoCli() || !isStale()) return;
  const r = spawnSync('flock', ['/tmp/musilingo-build-cli.lock', 'npm', 'run', '--silent', 'build:cli'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    process.stderr.write(`[build-cli] npm run build:cli failed; CLI tests will run against the old bundle or fail:\n${r.stderr ?? r.error?.message ?? ''}\n`);
  }
}
