/**
 * @file [Note: float16 KV cache on the CPU]: a float32 GroupQueryAttention decoder built with
 * `kvCacheDtype: 'float16'` keeps past/present in float16 (Casts around the op), stays within the bound
 * docs/model-core.md reports of the float32-cache graph over a prefill and KV steps (teacher-forced with the
 * golden inputs_embeds), and generates with the cache in place exactly as its copying loop does.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLlamaDecoder, decoderSpec } from '../../../../model/llama/build-decoder';
import { readLlamaConfig } from '../../../../model/llama/config';
import { checkpointEmbedder, generateTokens } from '../../../../model/llama/generate';
import type { DecoderHandle } from '../../../../model/llama/generate';
import { openCheckpoint } from '../../../../model/safetensors';
import { FIXTURES, loadGolden, relMaxErr, runDecoder } from './decoder-helpers';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kv-f16-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Measured (onnxruntime-node 1.30, CPU): 6.2e-4 (tiny-llama), 6.4e-4 (tiny-llama-gqa) over prefill + KV steps; bound with headroom. */
const FLOAT16_KV_BOUND = 2e-3;

describe('float16 KV cache in a float32 GroupQueryAttention decoder (CPU EP)', () => {
  it('is refused where the CPU has no kernel for it', async () => {
    const config = await readLlamaConfig(join(FIXTURES, 'tiny-llama', 'config.json'));
    expect(() => decoderSpec(config, 'float32', { kvCacheDtype: 'float16' })).toThrow(/needs float32 activations and attention "gqa"/);
    expect(() => decoderSpec(config, 'float16', { attention: 'gqa', kvCacheDtype: 'float16' })).toThrow(/got float16 activations/);
  });

  for (const fixture of ['tiny-llama', 'tiny-llama-gqa']) {
    it(`${fixture}: float16 past/present, logits within ${FLOAT16_KV_BOUND} · max|logits| of the float32 cache, in place = copying`, async () => {
      const config = await readLlamaConfig(join(FIXTURES, fixture, 'config.json'));
      const ck = await openCheckpoint(join(FIXTURES, fixture));
      const f32Path = join(dir, `${fixture}-f32kv.onnx`);
      const f16Path = join(dir, `${fixture}-f16kv.onnx`);
      const spec32 = await buildLlamaDecoder({ checkpoint: ck, config, variant: 'float32', outPath: f32Path, attention: 'gqa' });
      const spec16 = await buildLlamaDecoder({ checkpoint: ck, config, variant: 'float32', outPath: f16Path, attention: 'gqa', kvCacheDtype: 'float16' });
      expect(spec16).toMatchObject({ dtype: 'float32', kvDtype: 'float16', attention: 'gqa' });
      const opts = { executionProviders: ['cpu'], intraOpNumThreads: 1 };
      const s32 = await ort.InferenceSession.create(f32Path, opts);
      const s16 = await ort.InferenceSession.create(f16Path, opts);
      const emb = (await loadGolden(fixture)).tensors.get('inputs_embeds')!.data;
      const H = spec32.hiddenSize;
      const S = emb.length / H;
      const prefill = 7;
      let a = await runDecoder(s32, spec32, emb.subarray(0, prefill * H), 1, new Array(prefill).fill(1));
      let b = await runDecoder(s16, spec16, emb.subarray(0, prefill * H), 1, new Array(prefill).fill(1));
      expect(b.present['present.0.key']!.type).toBe('float16');
      let worst = relMaxErr(b.logits, a.logits);
      for (let t = prefill; t < S; t++) {
        a = await runDecoder(s32, spec32, emb.subarray(t * H, (t + 1) * H), 1, new Array(t + 1).fill(1), a.present);
        b = await runDecoder(s16, spec16, emb.subarray(t * H, (t + 1) * H), 1, new Array(t + 1).fill(1), b.present);
        worst = Math.max(worst, relMaxErr(b.logits, a.logits));
      }
      console.log(`${fixture}: float16 KV cache error ${worst.toExponential(2)} · max|logits|`);
      // Nonzero: the cache really is float16 (a graph that ignored the option would match exactly).
      expect(worst).toBeGreaterThan(0);
      expect(worst).toBeLessThanOrEqual(FLOAT16_KV_BOUND);

      // generateTokens: float16 buffers bound in place give the copying loop's tokens and logits.
      const embedder = checkpointEmbedder(ck, 'model.embed_tokens.weight');
      const logits: Float32Array[][] = [[], []];
      const rec = (k: number): ort.InferenceSession => ({
        async run(feeds: Record<string, ort.Tensor>, fetches?: Record<string, ort.Tensor | null>) {
          const out = fetches ? await s16.run(feeds, fetches) : await s16.run(feeds);
          logits[k]!.push((out.logits!.data as Float32Array).slice());
          return out;
        },
      }) as unknown as ort.InferenceSession;
      const o = { maxNewTokens: 6, stopSequences: [], eosTokenIds: [] };
      const dCopy: DecoderHandle = { session: rec(0), spec: spec16, embedder };
      const dInPlace: DecoderHandle = { session: rec(1), spec: spec16, embedder, executionProvider: 'cpu' };
      const [x] = await generateTokens(dCopy, [emb], o);
      const [y] = await generateTokens(dInPlace, [emb], o);
      expect(y!.tokens).toEqual(x!.tokens);
      expect(logits[1]!.map((l) => Array.from(l))).toEqual(logits[0]!.map((l) => Array.from(l)));
      await Promise.all([s32.release(), s16.release(), ck.close()]);
    });
  }
});
