/**
 * @file Llama decoder graph vs the reference implementation's goldens (tiny-llama, tiny-llama-gqa), KV-cache
 * consistency, float16/int4 variants, and bad checkpoints. CPU EP, float32 unless stated.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLlamaConfig } from '../../../../model/llama/config';
import { buildLlamaDecoder } from '../../../../model/llama/build-decoder';
import type { DecoderSpec, DecoderVariant } from '../../../../model/llama/build-decoder';
import { openCheckpoint } from '../../../../model/safetensors';
import { FIXTURES, loadGolden, relMaxErr, runDecoder } from './decoder-helpers';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llama-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function build(fixture: string, variant: DecoderVariant, extra: { int4ActivationDtype?: 'float32' | 'float16'; quantizeLmHead?: boolean } = {}): Promise<{ session: ort.InferenceSession; spec: DecoderSpec; embedRows: (ids: number[]) => Promise<Float32Array> }> {
  const ck = await openCheckpoint(join(FIXTURES, fixture));
  const config = await readLlamaConfig(join(FIXTURES, fixture, 'config.json'));
  const outPath = join(dir, `${fixture}-${variant}-${Object.values(extra).join('-')}.onnx`);
  const spec = await buildLlamaDecoder({ checkpoint: ck, config, variant, outPath, ...extra });
  const table = await ck.readF32('model.embed_tokens.weight');
  await ck.close();
  const session = await ort.InferenceSession.create(outPath, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
  const H = spec.hiddenSize;
  const embedRows = async (ids: number[]): Promise<Float32Array> => {
    const out = new Float32Array(ids.length * H);
    ids.forEach((id, i) => out.set(table.subarray(id * H, (id + 1) * H), i * H));
    return out;
  };
  return { session, spec, embedRows };
}

for (const fixture of ['tiny-llama', 'tiny-llama-gqa']) {
  describe(`${fixture} float32`, () => {
    it('matches ids_logits and embeds_logits within 1e-4 of max|golden|, and KV-cache decoding equals full recomputation', async () => {
      const { session, spec, embedRows } = await build(fixture, 'float32');
      const { json, tensors } = await loadGolden(fixture);
      const ids = json.ids as number[];
      const full = await runDecoder(session, spec, await embedRows(ids), 1, ids.map(() => 1));
      expect(relMaxErr(full.logits, tensors.get('ids_logits')!.data)).toBeLessThanOrEqual(1e-4);

      const emb = tensors.get('inputs_embeds')!.data;
      const S = emb.length / spec.hiddenSize;
      const byEmbeds = await runDecoder(session, spec, emb, 1, new Array(S).fill(1));
      expect(relMaxErr(byEmbeds.logits, tensors.get('embeds_logits')!.data)).toBeLessThanOrEqual(1e-4);

      // Prefill 7, then one token at a time with the cache.
      const V = spec.vocabSize;
      const H = spec.hiddenSize;
      let step = await runDecoder(session, spec, emb.subarray(0, 7 * H), 1, new Array(7).fill(1));
      expect(relMaxErr(step.logits, byEmbeds.logits.subarray(0, 7 * V))).toBeLessThanOrEqual(1e-5);
      for (let t = 7; t < S; t++) {
        step = await runDecoder(session, spec, emb.subarray(t * H, (t + 1) * H), 1, new Array(t + 1).fill(1), step.present);
        expect(step.present['present.0.key']!.dims).toEqual([1, spec.numKvHeads, t + 1, spec.headDim]);
        expect(relMaxErr(step.logits, byEmbeds.logits.subarray(t * V, (t + 1) * V))).toBeLessThanOrEqual(1e-5);
      }
      await session.release();
    });

    // [Note: int4 accuracy on the tiny fixtures] Round-to-nearest 4-bit weights of these random 64-wide
    // models move logits by up to ~0.3·max|golden| while the golden top-1 margins are ~0.07 (median), so
    // top-1 agreement is only ~45% — a float64 reference forward with the same dequantized weights agrees
    // just as little, so that is the quantization, not the graph. int4-dequant.test.ts checks the graph
    // exactly (int4 == float32 graph of the dequantized weights); here the error is only bounded.
    it('float16 and int4 graphs load and run close to the golden', async () => {
      const { json, tensors } = await loadGolden(fixture);
      const golden = tensors.get('embeds_logits')!.data;
      const idsGolden = tensors.get('ids_logits')!.data;
      const emb = tensors.get('inputs_embeds')!.data;
      const ids = json.ids as number[];
      for (const [variant, extra, tol] of [
        ['float16', {}, 2e-2],
        ['int4', { int4ActivationDtype: 'float32' }, 0.4],
        ['int4', { int4ActivationDtype: 'float16' }, 0.4],
        // lm_head kept in the activation dtype (float32 here) while the layers are int4.
        ['int4', { int4ActivationDtype: 'float32', quantizeLmHead: false }, 0.4],
      ] as const) {
        const { session, spec, embedRows } = await build(fixture, variant, extra);
        const a = await runDecoder(session, spec, emb, 1, new Array(emb.length / spec.hiddenSize).fill(1));
        const b = await runDecoder(session, spec, await embedRows(ids), 1, ids.map(() => 1));
        const err = Math.max(relMaxErr(a.logits, golden), relMaxErr(b.logits, idsGolden));
        expect(err, `${variant} ${JSON.stringify(extra)}`).toBeLessThanOrEqual(tol);
        await session.release();
      }
    });
  });
}
