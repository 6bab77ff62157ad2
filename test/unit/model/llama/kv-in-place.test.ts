/**
 * @file [Note: KV cache in place]: on the CPU EP a GroupQueryAttention decoder generates with its KV cache in
 * preallocated buffers bound as both past and present; logits equal the copying loop's exactly, greedy
 * tokens equal the golden, and a batch of equal-length prompts gives each row its tokens alone.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLlamaDecoder } from '../../../../model/llama/build-decoder';
import type { DecoderVariant } from '../../../../model/llama/build-decoder';
import { readLlamaConfig } from '../../../../model/llama/config';
import { checkpointEmbedder, generateTokens, usesKvInPlace } from '../../../../model/llama/generate';
import type { DecoderHandle } from '../../../../model/llama/generate';
import { openCheckpoint } from '../../../../model/safetensors';
import { FIXTURES, loadGolden } from './decoder-helpers';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kv-in-place-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Wraps a session: records every step's logits and whether past and present were the same tensors. */
function recording(session: ort.InferenceSession): { session: ort.InferenceSession; logits: Float32Array[]; shared: boolean[] } {
  const logits: Float32Array[] = [];
  const shared: boolean[] = [];
  const wrapped = {
    async run(feeds: Record<string, ort.Tensor>, fetches?: Record<string, ort.Tensor | null>) {
      const out = fetches ? await session.run(feeds, fetches) : await session.run(feeds);
      logits.push((out.logits!.data as Float32Array).slice());
      shared.push(fetches !== undefined && fetches['present.0.key'] === feeds['past_key_values.0.key']);
      return out;
    },
  } as unknown as ort.InferenceSession;
  return { session: wrapped, logits, shared };
}

for (const [fixture, variant] of [['tiny-llama', 'float32'], ['tiny-llama-gqa', 'float32'], ['tiny-llama-gqa', 'int4']] as const) {
  describe(`${fixture} ${variant}, GroupQueryAttention on the CPU EP`, () => {
    it('generates with the cache in place: same logits as the copying loop, golden greedy tokens, batch = alone', async () => {
      const ck = await openCheckpoint(join(FIXTURES, fixture));
      const config = await readLlamaConfig(join(FIXTURES, fixture, 'config.json'));
      const outPath = join(dir, `${fixture}-${variant}.onnx`);
      const spec = await buildLlamaDecoder({ checkpoint: ck, config, variant: variant as DecoderVariant, outPath, attention: 'gqa', int4ActivationDtype: 'float32' });
      const session = await ort.InferenceSession.create(outPath, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
      const { json, tensors } = await loadGolden(fixture);
      const emb = tensors.get('inputs_embeds')!.data;
      const embedder = checkpointEmbedder(ck, 'model.embed_tokens.weight');
      const expected = json.greedy_new_tokens as number[];
      const opts = { maxNewTokens: expected.length, stopSequences: [], eosTokenIds: [] };

      const copying = recording(session);
      const inPlace = recording(session);
      const dCopy: DecoderHandle = { session: copying.session, spec, embedder };
      const dInPlace: DecoderHandle = { session: inPlace.session, spec, embedder, executionProvider: 'cpu' };
      expect(usesKvInPlace(dCopy)).toBe(false);
      expect(usesKvInPlace(dInPlace)).toBe(true);
      expect(usesKvInPlace({ spec: { ...spec, attention: 'ops' }, executionProvider: 'cpu' })).toBe(false);
      const [a] = await generateTokens(dCopy, [emb], opts);
      const [b] = await generateTokens(dInPlace, [emb], opts);
      expect(inPlace.shared.every(Boolean)).toBe(true);
      expect(copying.shared.some(Boolean)).toBe(false);
      expect(inPlace.logits).toHaveLength(copying.logits.length);
      inPlace.logits.forEach((l, i) => expect(Array.from(l)).toEqual(Array.from(copying.logits[i]!)));
      expect(b!.tokens).toEqual(a!.tokens);
      if (variant === 'float32') expect(b!.tokens).toEqual(expected);

      // Two different prompts of equal length in one batch: each row as alone.
      const H = spec.hiddenSize;
      const other = emb.slice().reverse();
      const [alone] = await generateTokens(dInPlace, [other], opts);
      const both = await generateTokens(dInPlace, [emb, other], opts);
      expect(both.map((r) => r.tokens)).toEqual([b!.tokens, alone!.tokens]);
      expect(emb.length % H).toBe(0);
      await Promise.all([session.release(), ck.close()]);
    });
  });
}
