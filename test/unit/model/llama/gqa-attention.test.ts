/**
 * @file Decoders built with com.microsoft GroupQueryAttention (attention: 'gqa') against the goldens: logits,
 * KV-cache steps and greedy tokens, float32 on the CPU EP; float16 loads and runs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLlamaDecoder } from '../../../../model/llama/build-decoder';
import type { DecoderVariant } from '../../../../model/llama/build-decoder';
import { readLlamaConfig } from '../../../../model/llama/config';
import { checkpointEmbedder, generateTokens } from '../../../../model/llama/generate';
import { openCheckpoint } from '../../../../model/safetensors';
import { FIXTURES, loadGolden, relMaxErr, runDecoder } from './decoder-helpers';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gqa-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

for (const fixture of ['tiny-llama', 'tiny-llama-gqa']) {
  describe(`${fixture} with GroupQueryAttention`, () => {
    for (const variant of ['float32', 'float16'] as DecoderVariant[]) {
      it(`${variant}: logits, cache steps and greedy tokens match the golden`, async () => {
        const ck = await openCheckpoint(join(FIXTURES, fixture));
        const config = await readLlamaConfig(join(FIXTURES, fixture, 'config.json'));
        const outPath = join(dir, `${fixture}-${variant}.onnx`);
        const spec = await buildLlamaDecoder({ checkpoint: ck, config, variant, outPath, attention: 'gqa' });
        expect(spec.attention).toBe('gqa');
        const session = await ort.InferenceSession.create(outPath, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
        const { json, tensors } = await loadGolden(fixture);
        const emb = tensors.get('inputs_embeds')!.data;
        const golden = tensors.get('embeds_logits')!.data;
        const H = spec.hiddenSize;
        const V = spec.vocabSize;
        const S = emb.length / H;
        const tol = variant === 'float32' ? 1e-4 : 2e-2;
        const full = await runDecoder(session, spec, emb, 1, new Array(S).fill(1));
        expect(relMaxErr(full.logits, golden)).toBeLessThanOrEqual(tol);
        let step = await runDecoder(session, spec, emb.subarray(0, 6 * H), 1, new Array(6).fill(1));
        for (let t = 6; t < S; t++) {
          step = await runDecoder(session, spec, emb.subarray(t * H, (t + 1) * H), 1, new Array(t + 1).fill(1), step.present);
          expect(relMaxErr(step.logits, golden.subarray(t * V, (t + 1) * V))).toBeLessThanOrEqual(tol);
        }
        if (variant === 'float32') {
          const d = { session, spec, embedder: checkpointEmbedder(ck, 'model.embed_tokens.weight') };
          const expected = json.greedy_new_tokens as number[];
          const [r] = await generateTokens(d, [emb], { maxNewTokens: expected.length, stopSequences: [], eosTokenIds: [] });
          expect(r!.tokens).toEqual(expected);
          await expect(generateTokens(d, [emb, emb.slice(H)])).rejects.toThrow(/GroupQueryAttention, which cannot take left-padded prompts/);
        }
        await Promise.all([session.release(), ck.close()]);
      });
    }
  });
}
