/**
 * @file Generation loop on the tiny decoders: greedy tokens equal the reference's, a left-padded batch
 * equals single prompts, stop sequences, cancellation and seeded sampling.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLlamaDecoder } from '../../../../model/llama/build-decoder';
import { readLlamaConfig } from '../../../../model/llama/config';
import { checkpointEmbedder, generateTokens, sampleToken, tableEmbedder } from '../../../../model/llama/generate';
import { mulberry32 } from '../../../../model/random';
import type { DecoderHandle } from '../../../../model/llama/generate';
import { openCheckpoint } from '../../../../model/safetensors';
import type { Checkpoint } from '../../../../model/safetensors';
import { FIXTURES, loadGolden } from './decoder-helpers';

let dir: string;
const decoders = new Map<string, DecoderHandle & { ck: Checkpoint }>();

async function decoder(fixture: string, lastTokenLogitsOnly = false): Promise<DecoderHandle> {
  const key = `${fixture}-${lastTokenLogitsOnly}`;
  const hit = decoders.get(key);
  if (hit) return hit;
  const ck = await openCheckpoint(join(FIXTURES, fixture));
  const config = await readLlamaConfig(join(FIXTURES, fixture, 'config.json'));
  const outPath = join(dir, `${key}.onnx`);
  const spec = await buildLlamaDecoder({ checkpoint: ck, config, variant: 'float32', outPath, lastTokenLogitsOnly });
  const session = await ort.InferenceSession.create(outPath, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
  const d = { session, spec, embedder: checkpointEmbedder(ck, 'model.embed_tokens.weight'), ck };
  decoders.set(key, d);
  return d;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gen-test-'));
});
afterAll(async () => {
  for (const d of decoders.values()) await Promise.all([d.session.release(), d.ck.close()]);
  await rm(dir, { recursive: true, force: true });
});

describe('generateTokens', () => {
  for (const fixture of ['tiny-llama', 'tiny-llama-gqa']) {
    it(`${fixture}: greedy tokens equal the reference's greedy_new_tokens`, async () => {
      const { json, tensors } = await loadGolden(fixture);
      const expected = json.greedy_new_tokens as number[];
      for (const lastOnly of [false, true]) {
        const d = await decoder(fixture, lastOnly);
        const [res] = await generateTokens(d, [tensors.get('inputs_embeds')!.data], { maxNewTokens: expected.length, stopSequences: [], eosTokenIds: [] });
        expect(res!.tokens).toEqual(expected);
        expect(res!.stopReason).toBe('max-tokens');
      }
    });
  }

  it('tiny-musilingo: greedy tokens after the full MusiLingo prompt equal the reference', async () => {
    const { json, tensors } = await loadGolden('tiny-musilingo');
    const d = await decoder('tiny-llama', true);
    const expected = json.greedy_new_tokens as number[];
    const [res] = await generateTokens(d, [tensors.get('inputs_embeds')!.data], { maxNewTokens: expected.length, stopSequences: [], eosTokenIds: [] });
    expect(res!.tokens).toEqual(expected);
  });

  it('a left-padded batch gives each prompt the tokens it gets alone', async () => {
    const d = await decoder('tiny-llama-gqa', true);
    const { tensors } = await loadGolden('tiny-llama-gqa');
    const emb = tensors.get('inputs_embeds')!.data;
    const H = d.spec.hiddenSize;
    const prompts = [emb, emb.slice(3 * H), emb.slice(0, 5 * H)];
    const opts = { maxNewTokens: 12, stopSequences: [], eosTokenIds: [] };
    const batch = await generateTokens(d, prompts, opts);
    for (let i = 0; i < prompts.length; i++) {
      const [alone] = await generateTokens(d, [prompts[i]!], opts);
      expect(batch[i]!.tokens).toEqual(alone!.tokens);
    }
  });

  it('stops on stop sequences and eos, streams tokens, and honours cancellation', async () => {
    const d = await decoder('tiny-llama', true);
    const { json, tensors } = await loadGolden('tiny-llama');
    const emb = tensors.get('inputs_embeds')!.data;
    const greedy = json.greedy_new_tokens as number[];
    const streamed: number[] = [];
    const [a] = await generateTokens(d, [emb], { stopSequences: [[greedy[3]!, greedy[4]!]], onToken: (e) => streamed.push(e.token) });
    expect(a).toEqual({ tokens: greedy.slice(0, 5), stopReason: 'stop-sequence' });
    expect(streamed).toEqual(greedy.slice(0, 5));
    const [b] = await generateTokens(d, [emb], { stopSequences: [], eosTokenIds: [greedy[2]!] });
    expect(b).toEqual({ tokens: greedy.slice(0, 3), stopReason: 'eos' });
    const ac = new AbortController();
    const [c] = await generateTokens(d, [emb], { stopSequences: [], onToken: (e) => e.index === 1 && ac.abort(), signal: ac.signal });
    expect(c).toEqual({ tokens: greedy.slice(0, 2), stopReason: 'cancelled' });
  });

  it('samples reproducibly from a seed, and top-k 1 equals greedy', async () => {
    const d = await decoder('tiny-llama', true);
    const { json, tensors } = await loadGolden('tiny-llama');
    const emb = tensors.get('inputs_embeds')!.data;
    const opts = { maxNewTokens: 8, stopSequences: [], eosTokenIds: [], temperature: 1.5, topP: 0.95 };
    const [x] = await generateTokens(d, [emb], { ...opts, seed: 7 });
    const [y] = await generateTokens(d, [emb], { ...opts, seed: 7 });
    expect(x!.tokens).toEqual(y!.tokens);
    const [k1] = await generateTokens(d, [emb], { ...opts, topK: 1 });
    expect(k1!.tokens).toEqual((json.greedy_new_tokens as number[]).slice(0, 8));
  });
});

describe('tableEmbedder', () => {
  it('looks up rows like the checkpoint embedder and rejects ids outside the table', async () => {
    const d = await decoder('tiny-llama', true);
    const ck = await openCheckpoint(join(FIXTURES, 'tiny-llama'));
    const table = tableEmbedder(await ck.readF32('model.embed_tokens.weight'), 64);
    await ck.close();
    expect([...(await table.embed([5, 31999]))]).toEqual([...(await d.embedder.embed([5, 31999]))]);
    await expect(table.embed([32000])).rejects.toThrow(/Token id 32000 is outside the embedding table \(32000 rows\)/);
  });
});

describe('sampleToken', () => {
  it('draws according to the tempered, truncated distribution', () => {
    const logits = new Float32Array([Math.log(0.5), Math.log(0.3), Math.log(0.2)]);
    const rnd = mulberry32(1);
    const counts = [0, 0, 0];
    for (let i = 0; i < 20000; i++) counts[sampleToken(logits, { temperature: 1, topK: 0, topP: 1 }, rnd)]!++;
    expect(counts[0]! / 20000).toBeCloseTo(0.5, 1);
    expect(counts[2]! / 20000).toBeCloseTo(0.2, 1);
    const top = [0, 0, 0];
    for (let i = 0; i < 5000; i++) top[sampleToken(logits, { temperature: 1, topK: 0, topP: 0.6 }, rnd)]!++;
    expect(top[2]).toBe(0); // 0.5 + 0.3 covers 0.6: the 0.2 token is cut
    expect(top[1]).toBeGreaterThan(0);
  });
});
