/**
 * @file Model manager end to end against the fake Hub serving the catalog's repo names: download (model +
 * tokenizer) → convert → ready rows in the `models` table; import of a local folder; a stale pack goes back to
 * "downloaded"; remove; provider choice and doctor parsing with injected environments.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getModelPack, listModelPacks, upsertModelPack } from '../../../main/db/models';
import { openDatabase } from '../../../main/db/open';
import { parseLspci, parseNvidiaSmi, parseVulkanSummary, recommendVariant } from '../../../main/models/doctor';
import { NODE_IO } from '../../../main/models/download';
import { BadCheckpointError, DiskFullError } from '../../../main/models/errors';
import { checkPack, convertModel, downloadModel, importModel, listModels, markInterrupted, removeModel, type ModelProgress } from '../../../main/models/manager';
import { chooseExecutionProvider, staticProviderStatus, type ProviderEnvironment } from '../../../main/models/providers';
import { startHubServer, type HubServer } from '../../support/hub-server';
import { FIXTURES, musilingoRepoFiles, tokenizerRepoFiles } from '../../support/models/tiny-repo';
import { readPackManifest } from '../../../main/models/pack';

let hub: HubServer;
let dir: string;
let db: Database.Database;

beforeAll(async () => {
  hub = await startHubServer({
    'm-a-p/MusiLingo-long-v1': { files: await musilingoRepoFiles({ sharded: true }) },
    'lmsys/vicuna-7b-delta-v0': { files: tokenizerRepoFiles() },
  });
  dir = await mkdtemp(join(tmpdir(), 'ml-mgr-'));
  db = openDatabase(':memory:');
});
afterAll(async () => {
  db.close();
  await hub.close();
  await rm(dir, { recursive: true, force: true });
});

describe('model manager', () => {
  it('downloads a catalog model with its tokenizer, converts it and records each state', async () => {
    const events: ModelProgress[] = [];
    const states: string[] = [];
    const ctx = {
      db, modelsDir: join(dir, 'models'), hub: { endpoint: hub.endpoint }, env: { HF_HOME: join(dir, 'hf') },
      onProgress: (p: ModelProgress) => events.push(p), onChanged: (r: { state: string }) => states.push(r.state),
    };
    const downloaded = await downloadModel(ctx, 'musilingo-long', 'float32');
    expect(downloaded).toMatchObject({ id: 'musilingo-long@float32', state: 'downloaded', repo: 'm-a-p/MusiLingo-long-v1', progress: 1 });
    expect(downloaded.revision).toMatch(/^[0-9a-f]{40}$/);
    expect(existsSync(join(dir, 'models', 'downloads', 'lmsys--vicuna-7b-delta-v0', 'tokenizer.model'))).toBe(true);
    expect(events.some((e) => e.kind === 'download' && e.repo === 'lmsys/vicuna-7b-delta-v0')).toBe(true);

    const ready = await convertModel(ctx, 'musilingo-long', 'float32');
    expect(ready).toMatchObject({ state: 'ready', path: join(dir, 'models', 'packs', 'musilingo-long@float32') });
    expect(ready.sizeBytes).toBeGreaterThan(1_000_000);
    expect(states).toEqual(['downloading', 'downloaded', 'converting', 'ready']);
    expect(events.some((e) => e.kind === 'convert' && e.progress.stage === 'decoder')).toBe(true);
    expect(listModels({ db }).find((l) => l.modelId === 'musilingo-long')?.packs).toHaveLength(1);

    // Converting a ready, current pack again does nothing.
    const again = await convertModel(ctx, 'musilingo-long', 'float32');
    expect(again.updatedAt).toBe(ready.updatedAt);
    expect(states.at(-1)).toBe('ready');

    // Another variant reuses the downloaded checkpoint.
    const f16 = await convertModel(ctx, 'musilingo-long', 'float16');
    expect(f16).toMatchObject({ id: 'musilingo-long@float16', state: 'ready' });

    // A pack of an older format goes back to "downloaded" instead of being misread.
    await writeFile(join(f16.path ?? '', 'manifest.json'), JSON.stringify({ format: 'musilingo-pack', formatVersion: 0 }));
    expect(await checkPack(ctx, f16.id)).toMatchObject({ state: 'downloaded' });

    await removeModel(ctx, f16.id);
    expect(getModelPack(db, f16.id)).toBeUndefined();
    expect(existsSync(f16.path ?? '')).toBe(false);
    expect(existsSync(join(dir, 'models', 'downloads', 'm-a-p--MusiLingo-long-v1'))).toBe(true);
  });

  it('marks a failed download with its error, and imports a local folder', async () => {
    const ctx = { db, modelsDir: join(dir, 'models'), hub: { endpoint: hub.endpoint }, env: { HF_HOME: join(dir, 'hf') } };
    await expect(downloadModel(ctx, 'musilingo-short', 'int4')).rejects.toThrow(/MusiLingo-short-v1" was not found/);
    expect(getModelPack(db, 'musilingo-short@int4')).toMatchObject({ state: 'failed' });
    expect(getModelPack(db, 'musilingo-short@int4')?.error).toMatch(/not found/);

    const local = join(dir, 'local-ckpt');
    await mkdir(local);
    for (const [name, bytes] of await musilingoRepoFiles({ sharded: true })) await writeFile(join(local, name), bytes);
    await expect(importModel(ctx, local, 'float32', { modelId: 'mine', tokenizerDir: join(dir, 'nowhere') })).rejects.toBeInstanceOf(BadCheckpointError);
    const tok = join(dir, 'tok');
    await mkdir(tok);
    for (const [name, bytes] of tokenizerRepoFiles()) await writeFile(join(tok, name), bytes);
    const row = await importModel(ctx, local, 'float32', { modelId: 'mine', tokenizerDir: tok });
    expect(row).toMatchObject({ id: 'mine@float32', state: 'downloaded', repo: null, sourcePath: local });
    const tiny = { ...ctx, download: { io: { ...NODE_IO, freeBytes: () => Promise.resolve(1000) } } };
    const full = await convertModel(tiny, 'mine', 'float32').catch((e: unknown) => e);
    expect(full).toBeInstanceOf(DiskFullError);
    expect((full as Error).message).toMatch(/^Not enough disk space at .*mine@float32: need \d+\.\d MB, have 1\.0 kB\.$/);
    expect(getModelPack(db, 'mine@float32')).toMatchObject({ state: 'failed' });
    const ready = await convertModel(ctx, 'mine', 'float32');
    expect(ready.state).toBe('ready');
    expect(listModelPacks(db).map((r) => r.id)).toContain('mine@float32');
  });

  it('marks work left in flight by a quit as interrupted', () => {
    upsertModelPack(db, { modelId: 'musilingo-short', variant: 'float16', state: 'downloading', progress: 0.3 });
    const changedRows = markInterrupted({ db });
    expect(changedRows.map((r) => r.id)).toEqual(['musilingo-short@float16']);
    expect(getModelPack(db, 'musilingo-short@float16')).toMatchObject({ state: 'failed', progress: 0.3 });
    expect(getModelPack(db, 'musilingo-short@float16')?.error).toContain('resumes');
    expect(getModelPack(db, 'musilingo-long@float32')?.state).toBe('ready');
  });

  it('imports separate MERT, Llama and adapter checkpoints as one model', async () => {
    const ctx = { db, modelsDir: join(dir, 'models') };
    const parts = { mert: ['tiny-mert', 'model.safetensors', 'config.json'], llama: ['tiny-llama', 'model.safetensors', 'config.json'], proj: ['tiny-musilingo', 'adapter.safetensors'] };
    const dirs: string[] = [];
    for (const [name, [fixture, ...files]] of Object.entries(parts)) {
      const d = join(dir, 'separate', name);
      await mkdir(d, { recursive: true });
      for (const f of files) await copyFile(join(FIXTURES, fixture ?? '', f), join(d, f));
      dirs.push(d);
    }
    const tok = join(dir, 'tok');
    const row = await importModel(ctx, dirs, 'float32', { modelId: 'separate', tokenizerDir: tok });
    expect(row.sourcePath).toBe(join(dir, 'models', 'imports', 'separate'));
    const ready = await convertModel(ctx, 'separate', 'float32');
    expect(ready.state).toBe('ready');
    const manifest = await readPackManifest(ready.path ?? '');
    expect(manifest.encoder.config['from']).toBe(join(dirs[0] ?? '', 'config.json'));
    expect(manifest.decoder.config['from']).toBe(join(dirs[1] ?? '', 'config.json'));
    expect(manifest.source.path).toBe(dirs.join(', '));
  });
});

function fakeEnv(files: string[], env: NodeJS.ProcessEnv = {}): ProviderEnvironment {
  return {
    platform: 'linux',
    arch: 'x64',
    env,
    bindingDir: '/ort',
    fileExists: (p) => files.includes(p),
    listDir: (dir) => files.filter((f) => f.startsWith(`${dir}/`)).map((f) => f.slice(dir.length + 1)),
  };
}

describe('execution providers', () => {
  it('rules out CUDA without its provider library or driver, and WebGPU without a Vulkan loader or driver', () => {
    const none = staticProviderStatus(fakeEnv([]));
    expect(none.map((s) => [s.name, s.isUsable])).toEqual([['cuda', false], ['webgpu', false], ['cpu', true]]);
    expect(none[0]?.reason).toContain('npm run setup:cuda');
    expect(none[1]?.reason).toContain('libvulkan');
    const noDriver = staticProviderStatus(fakeEnv(['/ort/libonnxruntime_providers_cuda.so']));
    expect(noDriver[0]?.reason).toContain('NVIDIA driver');
    const loaderOnly = staticProviderStatus(fakeEnv(['/usr/lib/x86_64-linux-gnu/libvulkan.so.1']));
    expect(loaderOnly[1]).toMatchObject({ name: 'webgpu', isUsable: false });
    expect(loaderOnly[1]?.reason).toContain('no Vulkan driver');
    const all = staticProviderStatus(fakeEnv(['/ort/libonnxruntime_providers_cuda.so', '/proc/driver/nvidia/version', '/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/share/vulkan/icd.d/nvidia_icd.json']));
    expect(all.every((s) => s.isUsable)).toBe(true);
    const userDriver = staticProviderStatus(fakeEnv(['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/home/u/.local/share/vulkan/icd.d/lvp_icd.x86_64.json'], { HOME: '/home/u' }));
    expect(userDriver[1]?.isUsable).toBe(true);
  });

  it('takes the first provider whose probe passes, says why the others were skipped, and honours MUSILINGO_EP', async () => {
    const files = ['/ort/libonnxruntime_providers_cuda.so', '/proc/driver/nvidia/version', '/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/etc/vulkan/icd.d/nvidia_icd.json'];
    const failCuda = (ep: string): Promise<void> => (ep === 'cuda' ? Promise.reject(new Error('libcudnn.so.9: cannot open shared object file')) : Promise.resolve());
    const auto = await chooseExecutionProvider({ environment: fakeEnv(files), probe: failCuda });
    expect(auto.chosen).toBe('webgpu');
    expect(auto.summary).toContain('Skipped cuda: a test session failed: libcudnn.so.9');
    const forced = await chooseExecutionProvider({ environment: fakeEnv(files, { MUSILINGO_EP: 'cpu' }), probe: failCuda, setting: 'webgpu' });
    expect(forced).toMatchObject({ chosen: 'cpu', override: 'cpu' });
    const setting = await chooseExecutionProvider({ environment: fakeEnv([]), probe: false, setting: 'cuda' });
    expect(setting.chosen).toBe('cpu');
    expect(setting.summary).toContain('asked for cuda');
    await expect(chooseExecutionProvider({ environment: fakeEnv([], { MUSILINGO_EP: 'tpu' }) })).rejects.toThrow('Expected one of: auto, cuda, webgpu, cpu');
  });

  it('parses GPU tools and recommends a variant', () => {
    expect(parseNvidiaSmi('NVIDIA H200, 143771, 580.65.06\n')).toEqual([{ name: 'NVIDIA H200', memoryBytes: 143771 * 1048576, driver: '580.65.06', source: 'nvidia-smi' }]);
    expect(parseVulkanSummary('GPU0:\n\tdeviceName         = NVIDIA GeForce RTX 3070\n')[0]?.name).toBe('NVIDIA GeForce RTX 3070');
    expect(parseLspci('00:02.0 VGA compatible controller: Intel Corporation UHD Graphics 620\n00:1f.3 Audio device: Intel\n')).toEqual([{ name: 'Intel Corporation UHD Graphics 620', source: 'lspci' }]);
    expect(recommendVariant('cuda', 80e9).variant).toBe('float16');
    expect(recommendVariant('webgpu', 8e9).variant).toBe('int4');
    expect(recommendVariant('cpu', undefined).variant).toBe('int4');
  });

  it('runs the real probe on this machine: the CPU provider always works', async () => {
    const choice = await chooseExecutionProvider({ environment: fakeEnv([]) });
    expect(choice.chosen).toBe('cpu');
    // nvidia-smi may be absent; the doctor must still answer. (Just make sure the command runner copes.)
    expect(() => execFileSync('true')).not.toThrow();
  });
});
