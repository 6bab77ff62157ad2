/**
 * @file Converter: a MusiLingo-like 3-shard checkpoint with wrapper prefixes becomes a model pack that
 * reproduces the tiny-musilingo goldens (inputs_embeds, greedy tokens); a killed conversion resumes from its
 * finished artefacts; a single-file checkpoint converts to int4; stale and broken inputs fail clearly.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyAdapter, loadAdapter } from '../../../model/adapter';
import { encodeWindow } from '../../../model/mert/encode';
import { openCheckpoint } from '../../../model/safetensors';
import { checkpointFiles } from '../../../main/models/checkpoint-files';
import { convertCheckpoint, type ConvertProgress } from '../../../main/models/convert';
import { BadCheckpointError } from '../../../main/models/errors';
import { isStalePackError, readPackManifest } from '../../../main/models/pack';
import { FIXTURES, musilingoRepoFiles, tokenizerRepoFiles } from '../../support/models/tiny-repo';

let dir: string;
let ckDir: string;
let tokDir: string;

async function writeFiles(to: string, files: Map<string, Uint8Array>): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const [name, bytes] of files) await writeFile(join(to, name), bytes);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ml-conv-'));
  ckDir = join(dir, 'ckpt');
  tokDir = join(dir, 'tok');
  await writeFiles(ckDir, await musilingoRepoFiles({ sharded: true }));
  await writeFiles(tokDir, tokenizerRepoFiles());
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

describe('convertCheckpoint', () => {
  it('turns a sharded, prefixed checkpoint into a pack that reproduces the tiny-musilingo goldens', async () => {
    const out = join(dir, 'pack32');
    const stages: ConvertProgress[] = [];
    const manifest = await convertCheckpoint({ modelId: 'tiny', sources: ckDir, tokenizerDir: tokDir, outDir: out, variant: 'float32', onProgress: (p) => stages.push(p) });
    expect(manifest.formatVersion).toBe(1);
    expect(manifest.decoder).toMatchObject({ dtype: 'float32', numLayers: 2, numHeads: 4, headDim: 16, hiddenSize: 64, attention: 'ops' });
    expect(manifest.tokenizer?.files).toEqual(['tokenizer.model', 'tokenizer_config.json', 'special_tokens_map.json']);
    expect(Object.keys(manifest.source.files).sort()).toEqual(['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors']);
    expect(manifest.smoke.encoderTokens).toBe(1);
    expect(stages.at(-1)).toMatchObject({ stage: 'done', fraction: 1 });
    expect(await readPackManifest(out)).toEqual(manifest);

    // inputs_embeds = [embed(BOS), embed(p_before), adapter(pooled(MERT(audio))), embed(p_after)] from the pack alone.
    const golden = JSON.parse(await readFile(join(FIXTURES, 'tiny-musilingo', 'golden.json'), 'utf8')) as {
      p_before_ids: number[]; p_after_ids: number[]; greedy_new_tokens: number[];
    };
    const gm = await openCheckpoint(join(FIXTURES, 'tiny-mert', 'golden.safetensors'));
    const audio = await gm.readF32('audio');
    await gm.close();
    const gl = await openCheckpoint(join(FIXTURES, 'tiny-musilingo', 'golden.safetensors'));
    const goldenEmbeds = await gl.readF32('inputs_embeds');
    await gl.close();

    const enc = await ort.InferenceSession.create(join(out, 'encoder.onnx'), { executionProviders: ['cpu'] });
    const encoded = await encodeWindow(enc, audio);
    await enc.release();
    const ack = await openCheckpoint(join(out, 'adapter.safetensors'));
    const adapter = await loadAdapter(ack);
    await ack.close();
    const music = applyAdapter(adapter, encoded.pooled, encoded.tokens);
    const eck = await openCheckpoint(join(out, 'embed.safetensors'));
    const rows = async (ids: number[]): Promise<Float32Array> => {
      const o = new Float32Array(ids.length * 64);
      for (const [i, id] of ids.entries()) o.set(await eck.readRowsF32('embed_tokens.weight', id, 1), i * 64);
      return o;
    };
    const parts = [await rows([1]), await rows(golden.p_before_ids), music, await rows(golden.p_after_ids)];
    const embeds = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    let off = 0;
    for (const p of parts) {
      embeds.set(p, off);
      off += p.length;
    }
    expect(embeds.length).toBe(goldenEmbeds.length);
    const tol = 1e-4 * maxAbs(goldenEmbeds);
    let worst = 0;
    for (let i = 0; i < embeds.length; i++) worst = Math.max(worst, Math.abs((embeds[i] ?? 0) - (goldenEmbeds[i] ?? 0)));
    expect(worst).toBeLessThanOrEqual(tol);

    // 24 greedy tokens with the KV cache, fed from the golden inputs_embeds.
    const dec = await ort.InferenceSession.create(join(out, 'decoder.onnx'), { executionProviders: ['cpu'] });
    const n = goldenEmbeds.length / 64;
    let feeds: Record<string, ort.Tensor> = {
      inputs_embeds: new ort.Tensor('float32', embeds, [1, n, 64]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
    };
    for (let l = 0; l < 2; l++) {
      feeds[`past_key_values.${l}.key`] = new ort.Tensor('float32', new Float32Array(0), [1, 4, 0, 16]);
      feeds[`past_key_values.${l}.value`] = new ort.Tensor('float32', new Float32Array(0), [1, 4, 0, 16]);
    }
    const tokens: number[] = [];
    let total = n;
    for (let step = 0; step < golden.greedy_new_tokens.length; step++) {
      const res = await dec.run(feeds);
      const logits = res.logits!.data as Float32Array;
      const V = logits.length / (feeds.inputs_embeds!.dims[1] ?? 1);
      const last = logits.subarray(logits.length - V);
      let best = 0;
      for (let v = 1; v < V; v++) if ((last[v] ?? 0) > (last[best] ?? 0)) best = v;
      tokens.push(best);
      total++;
      feeds = {
        inputs_embeds: new ort.Tensor('float32', await rows([best]), [1, 1, 64]),
        attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
      };
      for (let l = 0; l < 2; l++) {
        feeds[`past_key_values.${l}.key`] = res[`present.${l}.key`]!;
        feeds[`past_key_values.${l}.value`] = res[`present.${l}.value`]!;
      }
    }
    await dec.release();
    await eck.close();
    expect(tokens).toEqual(golden.greedy_new_tokens);
  });

  it('resumes a killed conversion from its finished artefacts', async () => {
    const out = join(dir, 'pack-resume');
    const err = await convertCheckpoint({
      modelId: 'tiny', sources: ckDir, tokenizerDir: tokDir, outDir: out, variant: 'float16',
      afterArtefact: (name) => {
        if (name === 'encoder.onnx') throw new Error('killed');
      },
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('killed');
    await expect(readPackManifest(out)).rejects.toThrow(/no manifest\.json/);
    const before = JSON.parse(await readFile(join(out, '.convert-state.json'), 'utf8')) as { done: Record<string, { sha256: string }> };
    expect(Object.keys(before.done)).toContain('encoder.onnx');
    expect(Object.keys(before.done)).not.toContain('decoder.onnx');

    // What a kill in the middle of the decoder build leaves behind.
    await mkdir(join(out, '.build-decoder'), { recursive: true });
    await writeFile(join(out, '.build-decoder', 'decoder.onnx.data.partial'), 'half-written');

    const stages: ConvertProgress[] = [];
    const manifest = await convertCheckpoint({ modelId: 'tiny', sources: ckDir, tokenizerDir: tokDir, outDir: out, variant: 'float16', onProgress: (p) => stages.push(p) });
    expect(existsSync(join(out, '.build-decoder'))).toBe(false);
    expect(existsSync(join(out, '.convert-state.json'))).toBe(false);
    const resumed = stages.filter((s) => s.isResumed).map((s) => s.stage);
    expect(resumed).toEqual(['adapter', 'embeddings', 'encoder']);
    expect(manifest.files['encoder.onnx']?.sha256).toBe(before.done['encoder.onnx']?.sha256);
    expect(manifest.decoder.dtype).toBe('float16');
    expect(manifest.embeddings.dtype).toBe('F16');
  });

  it('converts a single-file checkpoint with other prefixes to int4 and smoke-tests it', async () => {
    const single = join(dir, 'single');
    await writeFiles(single, await musilingoRepoFiles({ sharded: false, prefixes: { mert: 'musilingo.mert_model.', llama: 'musilingo.llama.', proj: 'musilingo.' } }));
    const out = join(dir, 'pack-int4');
    const manifest = await convertCheckpoint({
      modelId: 'single', sources: single, tokenizerDir: tokDir, outDir: out, variant: 'int4', activationDtype: 'float32', attention: 'gqa',
      // A provider that cannot start falls through to the CPU for the smoke run.
      smokeExecutionProviders: ['no-such-provider', 'cpu'],
    });
    expect(manifest.smoke.executionProvider).toBe('cpu');
    expect(manifest).toMatchObject({ variant: 'int4', decoder: { dtype: 'float32', attention: 'gqa' }, encoder: { dtype: 'float32' } });
    expect(manifest.smoke.decodeStepMs).toBeGreaterThan(0);
    // A float32-activation int4 pack is a CPU pack: int8 activations in MatMulNBits ([Note: CPU int4 packs]).
    expect(manifest.decoder.accuracyLevel).toBe(4);
    const graph = await readFile(join(out, 'decoder.onnx'));
    expect(graph.includes(Buffer.from('accuracy_level'))).toBe(true);
  });

  it('refuses a pack of another format version as stale', async () => {
    const out = join(dir, 'stale');
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'manifest.json'), JSON.stringify({ format: 'musilingo-pack', formatVersion: 0 }));
    const err = await readPackManifest(out).catch((e: unknown) => e);
    expect(isStalePackError(err)).toBe(true);
    expect((err as Error).message).toContain('converted again');
  });

  it('names the missing shard of an incomplete checkpoint', async () => {
    const broken = join(dir, 'broken');
    const files = await musilingoRepoFiles({ sharded: true });
    files.delete('model-00002-of-00003.safetensors');
    await writeFiles(broken, files);
    const err = await checkpointFiles(broken).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadCheckpointError);
    expect((err as Error).message).toContain('model-00002-of-00003.safetensors');
  });
});
