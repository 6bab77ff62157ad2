/**
 * @file The ONNX training graph against the reference goldens (tiny-llama, tiny-llama-gqa, tiny-musilingo):
 * train_loss, grad_inputs_embeds and the adapter gradients (per tensor max error ≤ 1e-3 · max|golden|).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCheckpoint, type Checkpoint } from '../../../model/safetensors';
import { accumulateAdapterGrads, applyAdapter, zeroAdapterGrads } from '../../../trainer/adapter';
import { createOrtEngine, type GradientEngine } from '../../../trainer/engine';
import { checkpointEmbedder, checkpointWeightSource, readLlamaDims } from '../../../trainer/graph/checkpoint-source';
import { buildLlamaTrainingGraph } from '../../../trainer/graph/llama-train-graph';

const FIX = join(import.meta.dirname, '../../fixtures');

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] ?? 0));
  return m;
}
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
  return m;
}
function expectClose(ours: ArrayLike<number>, golden: ArrayLike<number>, rel = 1e-3): void {
  const g = maxAbs(golden);
  expect(g).toBeGreaterThan(0);
  expect(maxDiff(ours, golden)).toBeLessThanOrEqual(rel * g);
}

async function engineFor(dir: string): Promise<{ engine: GradientEngine; ck: Checkpoint; hidden: number }> {
  const dims = await readLlamaDims(dir);
  const ck = await openCheckpoint(dir);
  const g = await buildLlamaTrainingGraph(checkpointWeightSource(ck, dims));
  const engine = await createOrtEngine(g.toBytes('unused.data'), dims.hiddenSize);
  return { engine, ck, hidden: dims.hiddenSize };
}

for (const variant of ['tiny-llama', 'tiny-llama-gqa']) {
  describe(`training graph vs ${variant} goldens`, () => {
    let engine: GradientEngine;
    let ck: Checkpoint;
    let golden: Checkpoint;
    beforeAll(async () => {
      ({ engine, ck } = await engineFor(join(FIX, variant)));
      golden = await openCheckpoint(join(FIX, variant, 'golden.safetensors'));
    });
    afterAll(async () => {
      await engine.release();
      await ck.close();
      await golden.close();
    });
    it('gives train_loss, grad_inputs_embeds and the adapter gradients', async () => {
      const meta = JSON.parse(readFileSync(join(FIX, variant, 'golden.json'), 'utf8')) as { labels: number[]; train_loss: number };
      const x = await golden.readF32('train_inputs_embeds');
      const { loss, grad } = await engine.lossAndGrad(x, meta.labels);
      expect(Math.abs(loss - meta.train_loss)).toBeLessThan(1e-4 * Math.abs(meta.train_loss));
      expectClose(grad, await golden.readF32('grad_inputs_embeds'));
      // Adapter gradient from the music rows 1..3.
      const feats = await golden.readF32('adapter_features');
      const acc = zeroAdapterGrads({ inDim: 32, outDim: 64 });
      accumulateAdapterGrads(acc, grad, 1, feats, 3, { inDim: 32, outDim: 64 });
      expectClose(acc.weight, await golden.readF32('grad_adapter_weight'));
      expectClose(acc.bias, await golden.readF32('grad_adapter_bias'));
    });
  });
}

describe('training graph vs tiny-musilingo goldens', () => {
  it('gives the adapter gradients of the whole MusiLingo prompt layout', async () => {
    const { engine, ck, hidden } = await engineFor(join(FIX, 'tiny-llama'));
    const golden = await openCheckpoint(join(FIX, 'tiny-musilingo', 'golden.safetensors'));
    const mert = await openCheckpoint(join(FIX, 'tiny-mert', 'golden.safetensors'));
    try {
      const meta = JSON.parse(readFileSync(join(FIX, 'tiny-musilingo', 'golden.json'), 'utf8')) as {
        p_before_ids: number[];
        answer_ids: number[];
        train_loss: number;
      };
      const pooled = await mert.readF32('pooled'); // [3, 64]
      const adapter = { inDim: 64, outDim: 64, weight: await golden.readF32('adapter_weight'), bias: await golden.readF32('adapter_bias') };
      const prefix = await golden.readF32('inputs_embeds'); // [28, 64]
      const offset = 1 + meta.p_before_ids.length;
      // Our adapter output sits where the reference put its music embeddings.
      expectClose(applyAdapter(adapter, pooled, 3), prefix.subarray(offset * hidden, (offset + 3) * hidden), 1e-4);
      const answer = await checkpointEmbedder(ck, hidden)(meta.answer_ids);
      const x = new Float32Array(prefix.length + answer.length);
      x.set(prefix);
      x.set(answer, prefix.length);
      const labels = [...new Array<number>(prefix.length / hidden).fill(-100), ...meta.answer_ids];
      const { loss, grad } = await engine.lossAndGrad(x, labels);
      expect(Math.abs(loss - meta.train_loss)).toBeLessThan(1e-4 * Math.abs(meta.train_loss));
      const acc = zeroAdapterGrads(adapter);
      accumulateAdapterGrads(acc, grad, offset, pooled, 3, adapter);
      expectClose(acc.weight, await golden.readF32('grad_adapter_weight'));
      expectClose(acc.bias, await golden.readF32('grad_adapter_bias'));
    } finally {
      await engine.release();
      await ck.close();
      await golden.close();
      await mert.close();
    }
  });
});
