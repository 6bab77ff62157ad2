/**
 * @file The Electron fuses the installers flip (electron-builder.yml `electronFuses`; the Electron binary is not
 * needed), and CI mode for the test run (.ci/run). See [Note: Electron fuses].
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const ROOT = resolve(import.meta.dirname, '../../..');

function builderConfig(): { electronFuses?: Record<string, boolean> } {
  const yaml = require('js-yaml') as { load(text: string): unknown };
  return yaml.load(readFileSync(join(ROOT, 'electron-builder.yml'), 'utf8')) as { electronFuses?: Record<string, boolean> };
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => join(ROOT, dir, f));
}

describe('Electron fuses', () => {
  it('close NODE_OPTIONS, --inspect and loose app code, and encrypt cookies', () => {
    expect(builderConfig().electronFuses).toMatchObject({
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableCookieEncryption: true,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
    });
  });

  it('keep RunAsNode on exactly while some main-process code still relies on ELECTRON_RUN_AS_NODE', () => {
    const users = sourceFiles('main').filter((f) => /ELECTRON_RUN_AS_NODE: '1'/.test(readFileSync(f, 'utf8')));
    expect(builderConfig().electronFuses?.runAsNode).toBe(users.length > 0);
  });
});

describe('.ci/run', () => {
  it('runs the tests in CI mode, so a missing snapshot fails instead of being written', () => {
    const script = readFileSync(join(ROOT, '.ci/run'), 'utf8');
    const ci = script.indexOf('export CI=true');
    expect(ci).toBeGreaterThan(0);
    expect(ci).toBeLessThan(script.indexOf('npm test'));
  });
});
