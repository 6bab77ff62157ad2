/**
 * @file Each installer carries the bundled ffmpeg/ffprobe for its own OS and arch only, unpacked from the asar
 * ([Note: One platform's ffmpeg per installer] in electron-builder.yml). The installers cannot be built here (no
 * Electron binary), so this runs electron-builder's own file matchers (the ones it applies to node_modules and
 * to asarUnpack) over every ffmpeg/ffprobe package in package-lock.json, as if all were installed, per target.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { binaryFileName, bundledPackageName } from '../../../model/audio/decoders';

const require = createRequire(import.meta.url);
const ROOT = resolve(import.meta.dirname, '../../..');

type Platform = 'linux' | 'darwin' | 'win32';
interface PlatformConfig { files?: string[] }
interface BuilderConfig { files: string[]; asarUnpack: string[]; linux: PlatformConfig; mac: PlatformConfig; win: PlatformConfig }
interface LockEntry { version: string; os?: string[]; cpu?: string[]; optional?: boolean; license?: string }

const SECTION: Record<Platform, 'linux' | 'mac' | 'win'> = { linux: 'linux', darwin: 'mac', win32: 'win' };
/** The targets worth shipping; electron-builder's ${arch} uses Node's names for these. */
const TARGETS: [Platform, string][] = [['linux', 'x64'], ['linux', 'arm64'], ['darwin', 'x64'], ['darwin', 'arm64'], ['win32', 'x64']];

interface Matcher { createFilter(): (file: string, stat: { isDirectory(): boolean; moduleFullFilePath?: string }) => boolean }
const fm = require('app-builder-lib/out/fileMatcher') as {
  getNodeModuleFileMatcher(appDir: string, dest: string, expand: (s: string) => string, platformOptions: PlatformConfig, packager: unknown): Matcher;
  FileMatcher: new (from: string, to: string, expand: (s: string) => string, patterns: string[]) => Matcher;
};

function loadConfig(): BuilderConfig {
  const yaml = require('js-yaml') as { load(text: string): unknown };
  return yaml.load(readFileSync(resolve(ROOT, 'electron-builder.yml'), 'utf8')) as BuilderConfig;
}

/** Every @ffmpeg-installer / @ffprobe-installer platform package in the lockfile, with its binary's path. */
function lockedBinaries(): { pkg: string; file: string; os: string[]; cpu: string[]; license: string }[] {
  const lock = JSON.parse(readFileSync(resolve(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  return Object.entries(lock.packages)
    .filter(([k, v]) => /^node_modules\/@(ffmpeg|ffprobe)-installer\/[a-z0-9]+-[a-z0-9]+$/.test(k) && v.os !== undefined)
    .map(([k, v]) => {
      const pkg = k.slice('node_modules/'.length);
      const tool = pkg.startsWith('@ffmpeg') ? 'ffmpeg' : 'ffprobe';
      return { pkg, file: `${k}/${binaryFileName(tool, v.os![0])}`, os: v.os!, cpu: v.cpu ?? [], license: v.license ?? '?' };
    });
}

type Filter = ReturnType<Matcher['createFilter']>;
const file = { isDirectory: () => false };
const dir = { isDirectory: () => true };

/** electron-builder's two filters for one target: what of node_modules it copies, and what it unpacks. */
function filtersFor(c: BuilderConfig, platform: Platform, arch: string): { keep: Filter; unpack: Filter } {
  const expand = (s: string): string => s.replace(/\$\{arch\}/g, arch).replace(/\$\{os\}/g, SECTION[platform]);
  const packager = { config: c, debugLogger: { isEnabled: false } };
  return {
    keep: fm.getNodeModuleFileMatcher(ROOT, '/dest', expand, c[SECTION[platform]], packager).createFilter(),
    unpack: new fm.FileMatcher(ROOT, '/dest', expand, c.asarUnpack).createFilter(),
  };
}

function shipped(c: BuilderConfig, platform: Platform, arch: string): { files: string[]; unpacked: string[] } {
  const appDir = ROOT;
  const { keep, unpack } = filtersFor(c, platform, arch);
  const files = lockedBinaries().filter((b) => {
    // The copier walks folders: a dropped package folder drops its binary too.
    const pkgDir = resolve(appDir, 'node_modules', b.pkg);
    return keep(pkgDir, dir) && keep(resolve(appDir, b.file), file);
  }).map((b) => b.file);
  return { files, unpacked: files.filter((f) => unpack(resolve(appDir, f), file)) };
}

describe('bundled ffmpeg in the installers', () => {
  const c = loadConfig();
  const locked = lockedBinaries();

  it('the lockfile pins both tools for every target OS/arch', () => {
    for (const [platform, arch] of TARGETS) {
      for (const tool of ['ffmpeg', 'ffprobe'] as const) {
        const name = bundledPackageName(tool, platform, arch);
        const entry = locked.find((b) => b.pkg === name);
        expect(entry, name).toBeDefined();
        expect(entry!.os).toEqual([platform]);
        expect(entry!.cpu).toEqual([arch]);
      }
    }
  });

  for (const [platform, arch] of TARGETS) {
    it(`${platform}-${arch}: carries its own ffmpeg and ffprobe only, outside the asar`, () => {
      const { files, unpacked } = shipped(c, platform, arch);
      const own = (['ffmpeg', 'ffprobe'] as const).map((t) => `node_modules/${bundledPackageName(t, platform, arch)}/${binaryFileName(t, platform)}`);
      expect(files.sort()).toEqual(own.sort());
      expect(unpacked.sort()).toEqual(own.sort());
    });
  }

  it('keeps the rest of node_modules (the exclusions name only the ffmpeg packages)', () => {
    for (const [platform, arch] of TARGETS) {
      const { keep } = filtersFor(c, platform, arch);
      for (const f of ['node_modules/music-metadata/package.json', 'node_modules/@ffmpeg-installer/ffmpeg/package.json', 'node_modules/zod/index.js']) {
        expect(keep(resolve(ROOT, f), file), `${platform}-${arch} ${f}`).toBe(true);
      }
    }
  });
});

// The same matchers over ONNX Runtime's native folders: bin/napi-v6/<os>/<arch>/ holds the N-API addon and the
// runtime library it loads. A global `!…/bin/**` plus a platform `files` entry adding one folder back does not
// work for node_modules (only exclusions are applied there), so every installer lost its ONNX Runtime.
describe('ONNX Runtime in the installers', () => {
  const c = loadConfig();
  const ORT = 'node_modules/onnxruntime-node/bin/napi-v6';
  const ALL: [string, string][] = [['linux', 'x64'], ['linux', 'arm64'], ['darwin', 'x64'], ['darwin', 'arm64'], ['win32', 'x64'], ['win32', 'arm64']];
  for (const [platform, arch] of TARGETS) {
    it(`${platform}-${arch}: carries its own onnxruntime_binding.node only, outside the asar`, () => {
      const { keep, unpack } = filtersFor(c, platform, arch);
      const kept = ALL.filter(([os, a]) => {
        const folder = resolve(ROOT, `${ORT}/${os}/${a}`);
        return keep(resolve(ROOT, ORT), dir) && keep(folder, dir) && keep(`${folder}/onnxruntime_binding.node`, file);
      }).map(([os, a]) => `${os}-${a}`);
      expect(kept).toEqual([`${platform}-${arch}`]);
      expect(unpack(resolve(ROOT, `${ORT}/${platform}/${arch}/onnxruntime_binding.node`), file)).toBe(true);
    });
  }
});
