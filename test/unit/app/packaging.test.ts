/**
 * @file electron-builder.yml passes electron-builder's own schema, unpacks native code from the asar, and ships
 * each platform only its own ONNX Runtime binaries.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const ROOT = resolve(import.meta.dirname, '../../..');

interface PlatformConfig {
  files?: string[];
  target?: string[];
}
interface BuilderConfig {
  files: string[];
  asarUnpack: string[];
  npmRebuild: boolean;
  linux: PlatformConfig;
  mac: PlatformConfig;
  win: PlatformConfig;
}

function loadConfig(): BuilderConfig {
  const yaml = require('js-yaml') as { load(text: string): unknown };
  return yaml.load(readFileSync(resolve(ROOT, 'electron-builder.yml'), 'utf8')) as BuilderConfig;
}

describe('electron-builder.yml', () => {
  it('is valid for electron-builder', async () => {
    const { validateConfiguration } = require('app-builder-lib/out/util/config/config') as {
      validateConfiguration(c: unknown, logger: unknown): Promise<void>;
    };
    const { DebugLogger } = require('builder-util') as { DebugLogger: new (enabled: boolean) => unknown };
    await expect(validateConfiguration(loadConfig(), new DebugLogger(false))).resolves.toBeUndefined();
  });

  it('builds the promised installers and rebuilds native addons for Electron', () => {
    const c = loadConfig();
    expect(c.linux.target).toEqual(['AppImage', 'deb']);
    expect(c.mac.target).toEqual(['dmg']);
    expect(c.win.target).toEqual(['nsis']);
    expect(c.npmRebuild).toBe(true);
    expect(c.asarUnpack).toContain('**/*.node');
    expect(c.asarUnpack).toContain('node_modules/onnxruntime-node/bin/**');
  });

  // Which ONNX Runtime binaries each installer keeps is checked with electron-builder's own matchers in
  // packaging-ffmpeg.test.ts; here only the rule that made every installer lose them: no global drop of bin/**.
  it('drops other platforms\' ONNX Runtime binaries per platform, never all of them globally', () => {
    const c = loadConfig();
    expect(c.files.filter((f) => f.includes('onnxruntime-node'))).toEqual([]);
    const ort = (p: PlatformConfig): string[] => (p.files ?? []).filter((f) => f.includes('onnxruntime-node'));
    for (const p of [c.linux, c.mac, c.win]) expect(ort(p).every((f) => f.startsWith('!'))).toBe(true);
  });
});
