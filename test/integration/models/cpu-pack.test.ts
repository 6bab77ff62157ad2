/**
 * @file CPU packs ([Note: CPU int4 packs] in main/models/convert.ts): an int4 pack with float32 activations is
 * built with GroupQueryAttention and accuracy level 4 without being asked, and the pack loader runs it on the
 * CPU EP with the KV cache in place (model/llama/generate.ts [Note: KV cache in place]).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertCheckpoint } from '../../../main/models/convert';
import type { PackManifest } from '../../../main/models/pack';
import { loadModelPack } from '../../../model/inference/pack';
import { writeLlamaTokenizer } from '../captions/tiny-pack';
import { musilingoRepoFiles } from '../../support/models/tiny-repo';

let dir: string;
let ckDir: string;
let tokDir: string;
let cpuPack: string;
let manifest: PackManifest;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ml-cpu-pack-'));
  ckDir = join(dir, 'ckpt');
  tokDir = join(dir, 'tok');
  await mkdir(ckDir, { recursive: true });
  for (const [name, bytes] of await musilingoRepoFiles({ sharded: true })) await writeFile(join(ckDir, name), bytes);
  await writeLlamaTokenizer(tokDir);
  cpuPack = join(dir, 'cpu');
  manifest = await convertCheckpoint({ modelId: 'tiny', sources: ckDir, tokenizerDir: tokDir, outDir: cpuPack, variant: 'int4', activationDtype: 'float32' });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A session factory that records, for every decoder run, whether present.0.key was bound to the past buffer. */
function recordingFactory(): { create: (path: string, o: ort.InferenceSession.SessionOptions) => Promise<ort.InferenceSession>; decoderRuns: boolean[] } {
  const decoderRuns: boolean[] = [];
  const create = async (path: string, o: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> => {
    const session = await ort.InferenceSession.create(path, o);
    if (!session.inputNames.includes('past_key_values.0.key')) return session;
    return new Proxy(session, {
      get(target, prop, receiver) {
        if (prop !== 'run') return Reflect.get(target, prop, receiver) as unknown;
        return async (feeds: Record<string, ort.Tensor>, fetches?: Record<string, ort.Tensor | null>) => {
          decoderRuns.push(fetches !== undefined && fetches['present.0.key'] !== undefined && fetches['present.0.key'] === feeds['past_key_values.0.key']);
          return fetches ? target.run(feeds, fetches) : target.run(feeds);
        };
      },
    });
  };
  return { create, decoderRuns };
}

describe('CPU packs', () => {
  it('are built with GroupQueryAttention and accuracy level 4 by default', () => {
    expect(manifest.decoder).toMatchObject({ dtype: 'float32', attention: 'gqa', accuracyLevel: 4 });
  });

  it('run on the CPU EP with the KV cache in place', async () => {
    const rec = recordingFactory();
    const pack = await loadModelPack({ packDir: cpuPack, executionProvider: 'cpu', threads: 1 }, { createSession: rec.create });
    try {
      const prompt = await pack.embedTokens([1, 450, 4696, 338]);
      const [tokens] = await pack.generate({ prompts: [prompt], maxNewTokens: 6, isDone: () => false });
      expect(tokens!.length).toBeGreaterThan(0);
      // The prefill and every decode step bind present.* to the preallocated past buffers.
      expect(rec.decoderRuns.length).toBe(tokens!.length);
      expect(rec.decoderRuns.every(Boolean)).toBe(true);
    } finally {
      await pack.dispose();
    }
  });

  it('keep ops attention for GPU int4 packs and float32 packs', async () => {
    const f32 = await convertCheckpoint({ modelId: 'tiny', sources: ckDir, tokenizerDir: tokDir, outDir: join(dir, 'f32'), variant: 'float32' });
    expect(f32.decoder.attention).toBe('ops');
    expect(f32.decoder.accuracyLevel).toBeUndefined();
    const gpu = await convertCheckpoint({ modelId: 'tiny', sources: ckDir, tokenizerDir: tokDir, outDir: join(dir, 'gpu'), variant: 'int4', activationDtype: 'float16' });
    expect(gpu.decoder).toMatchObject({ dtype: 'float16', attention: 'ops' });
    expect(gpu.decoder.accuracyLevel).toBeUndefined();
  });
});
