/**
 * @file The model registry's resolution table: every reference form (none, model id, pack id, pack folder,
 * folder name under packs/, adapter id, prefix, name, file, none), missing, partial and stale packs, several
 * packs, and the adapter a model uses after `adapters activate`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { upsertModelPack, updateModelPack, type ModelVariant } from '../../../../main/db/models';
import { openDatabase } from '../../../../main/db/open';
import { activateAdapter, insertAdapter } from '../../../../main/db/training';
import { DEMO_LABEL } from '../../../../main/models/demo-label';
import { defaultPack, findAdapter, installedPacks, loadRequestFor, ModelNotFoundError, resolveModel, type ModelNotFoundCode } from '../../../../main/models/registry';
import { PACK_FORMAT_VERSION } from '../../../../model/pack-manifest';

let dir: string;
let db: Database.Database;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ml-registry-'));
  db = openDatabase(':memory:');
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function writeManifest(folder: string, modelId: string, variant: ModelVariant, version: number = PACK_FORMAT_VERSION): void {
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'manifest.json'), JSON.stringify({ formatVersion: version, modelId, variant }));
}

/** A ready pack row with its folder under <dir>/models/packs, updated at `at`. */
function pack(modelId: string, variant: ModelVariant, at: number, opts: { manifest?: 'ok' | 'missing' | 'stale'; state?: 'ready' | 'converting' | 'failed' } = {}): string {
  const folder = join(dir, 'models', 'packs', `${modelId}@${variant}`);
  if ((opts.manifest ?? 'ok') !== 'missing') writeManifest(folder, modelId, variant, opts.manifest === 'stale' ? PACK_FORMAT_VERSION - 1 : PACK_FORMAT_VERSION);
  upsertModelPack(db, { modelId, variant, state: 'downloaded', sourcePath: join(dir, 'src', modelId) }, at);
  updateModelPack(db, `${modelId}@${variant}`, { state: opts.state ?? 'ready', path: folder, ...(opts.state === 'failed' ? { error: 'disk full' } : {}) }, at);
  return folder;
}

function adapter(id: string, modelId: string, name = `Run of ${id}`): string {
  const path = join(dir, 'adapters', `${id}.safetensors`);
  mkdirSync(join(dir, 'adapters'), { recursive: true });
  writeFileSync(path, 'x');
  insertAdapter(db, { id, modelId, name, parentId: null, runId: null, path, sha256: 'aa', inDim: 64, outDim: 64, heldOutLoss: 1.5 });
  return path;
}

function codeOf(fn: () => unknown): ModelNotFoundCode | 'no error' | string {
  try {
    fn();
    return 'no error';
  } catch (e) {
    return e instanceof ModelNotFoundError ? e.code : `other: ${(e as Error).message}`;
  }
}

describe('model references', () => {
  it('says how to get a model when none is installed', () => {
    expect(codeOf(() => resolveModel(db, dir))).toBe('no-pack');
    expect(() => resolveModel(db, dir)).toThrow(/musilingo models demo/);
  });

  it('resolves every reference form to a pack folder', () => {
    const demo = pack('demo', 'float32', 1000);
    const tinyInt4 = pack('tiny', 'int4', 2000);
    const tinyF16 = pack('tiny', 'float16', 3000);
    const byId = (ref?: string): string => resolveModel(db, dir, ref).pack.packDir;
    expect(byId('demo')).toBe(demo);
    expect(byId('demo@float32')).toBe(demo);
    expect(byId('tiny@int4')).toBe(tinyInt4);
    expect(byId('tiny')).toBe(tinyF16); // a model id: its newest usable pack
    expect(byId(tinyInt4)).toBe(tinyInt4); // a pack folder of a known pack
    expect(resolveModel(db, dir, tinyInt4).ref).toBe('tiny@int4'); // stored as its pack id
    // A folder outside the table, by path and by name under packs/.
    const loose = join(dir, 'elsewhere', 'mine');
    writeManifest(loose, 'mine', 'float16');
    expect(resolveModel(db, dir, loose)).toMatchObject({ ref: loose, pack: { packId: null, modelId: 'mine', variant: 'float16' } });
    writeManifest(join(dir, 'models', 'packs', 'copied'), 'copied', 'int4');
    expect(resolveModel(db, dir, 'copied').pack.modelId).toBe('copied');
    expect(resolveModel(db, dir, 'demo').pack.label).toBe(DEMO_LABEL);
  });

  it('takes the newest real pack by default, the demo only when it is alone', () => {
    pack('demo', 'float32', 1000);
    expect(defaultPack(db).id).toBe('demo@float32');
    pack('tiny', 'int4', 500);
    expect(defaultPack(db).id).toBe('tiny@int4');
    pack('other', 'float16', 800);
    expect(resolveModel(db, dir).ref).toBe('other@float16');
  });

  it('refuses missing, partial and stale packs with their own codes, naming the pack', () => {
    pack('gone', 'float32', 1000, { manifest: 'missing' });
    pack('old', 'float32', 1000, { manifest: 'stale' });
    pack('busy', 'float32', 1000, { state: 'converting' });
    pack('broke', 'float32', 1000, { state: 'failed' });
    expect(codeOf(() => resolveModel(db, dir, 'gone'))).toBe('missing-files');
    expect(codeOf(() => resolveModel(db, dir, 'old@float32'))).toBe('stale');
    expect(() => resolveModel(db, dir, 'old@float32')).toThrow(/models convert old@float32 --force/);
    expect(codeOf(() => resolveModel(db, dir, 'busy'))).toBe('not-ready');
    expect(() => resolveModel(db, dir, 'broke')).toThrow(/failed \(disk full\)/);
    expect(codeOf(() => resolveModel(db, dir, 'nothing'))).toBe('not-installed');
    expect(() => resolveModel(db, dir, 'nothing')).toThrow(/Installed: .*gone@float32/);
    expect(codeOf(() => resolveModel(db, dir, join(dir, 'no-such-folder')))).toBe('not-installed');
    // None usable: the default says why each one cannot be used.
    expect(codeOf(() => resolveModel(db, dir))).toBe('no-pack');
    expect(() => resolveModel(db, dir)).toThrow(/old@float32: .*format version/);
    expect(installedPacks(db).every((p) => !p.isUsable)).toBe(true);
    // A usable pack of a model wins over a broken one of the same model.
    pack('gone', 'int4', 500);
    expect(resolveModel(db, dir, 'gone').ref).toBe('gone@int4');
  });
});

describe('adapter references', () => {
  it("uses the model's active adapter unless told otherwise", () => {
    pack('demo', 'float32', 1000);
    pack('tiny', 'int4', 2000);
    const p1 = adapter('adp-1', 'demo', 'first');
    const p2 = adapter('adp-2', 'demo', 'second');
    adapter('adp-3', 'tiny');
    expect(resolveModel(db, dir, 'demo').adapter).toEqual({ id: '', path: null, name: null });
    activateAdapter(db, 'adp-2');
    expect(resolveModel(db, dir, 'demo').adapter).toEqual({ id: 'adp-2', path: p2, name: 'second' });
    expect(resolveModel(db, dir, 'tiny').adapter.id).toBe(''); // another model's active adapter is not ours
    expect(resolveModel(db, dir, 'demo', 'none').adapter.id).toBe('');
    expect(resolveModel(db, dir, 'demo', '').adapter.id).toBe('');
    expect(resolveModel(db, dir, 'demo', 'adp-1').adapter.path).toBe(p1);
    expect(resolveModel(db, dir, 'demo', 'first').adapter.id).toBe('adp-1'); // by name
    expect(resolveModel(db, dir, 'demo', p1).adapter.id).toBe('adp-1'); // a registered file keeps its id
    expect(codeOf(() => resolveModel(db, dir, 'demo', 'adp-'))).toBe('ambiguous');
    expect(codeOf(() => resolveModel(db, dir, 'demo', 'adp-3'))).toBe('adapter-mismatch');
    expect(codeOf(() => resolveModel(db, dir, 'demo', 'nope'))).toBe('no-adapter');
    expect(codeOf(() => resolveModel(db, dir, 'demo', join(dir, 'none.safetensors')))).toBe('no-adapter');
    const loose = join(dir, 'loose.safetensors');
    writeFileSync(loose, 'x');
    expect(resolveModel(db, dir, 'demo', loose).adapter).toEqual({ id: loose, path: loose, name: null });
    rmSync(p1);
    expect(codeOf(() => resolveModel(db, dir, 'demo', 'adp-1'))).toBe('no-adapter');
  });

  it('finds an adapter of any model by id, name or unique prefix (adapters activate|show|export)', () => {
    adapter('adp-a1', 'demo', 'Run 1 (20 steps)');
    adapter('adp-b2', 'tiny', 'Run 2 (5 steps)');
    expect(findAdapter(db, 'adp-a1').modelId).toBe('demo');
    expect(findAdapter(db, 'Run 2 (5 steps)').id).toBe('adp-b2');
    expect(findAdapter(db, 'adp-b').id).toBe('adp-b2');
    expect(codeOf(() => findAdapter(db, 'adp-'))).toBe('ambiguous');
    expect(codeOf(() => findAdapter(db, 'Run 3'))).toBe('no-adapter');
  });

  it('gives the inference service the pack folder and the adapter id captions record', () => {
    const folder = pack('demo', 'float32', 1000);
    const p = adapter('adp-9', 'demo');
    activateAdapter(db, 'adp-9');
    expect(loadRequestFor(resolveModel(db, dir), { threads: 2, executionProvider: 'cpu' })).toEqual({ packDir: folder, adapterPath: p, adapterId: 'adp-9', executionProvider: 'cpu', threads: 2 });
    expect(loadRequestFor(resolveModel(db, dir, undefined, 'none'), { executionProvider: 'cpu' })).toEqual({ packDir: folder, executionProvider: 'cpu', threads: 0 });
  });
});
