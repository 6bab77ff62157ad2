/**
 * @file The training graph on the WebGPU execution provider against the tiny-llama goldens (float32, float16,
 * int4 storages). Needs a GPU: skipped unless MUSILINGO_GPU is set (CI has none; see bench/gpu/train for the
 * full-size check on an NVIDIA machine).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCheckpoint } from '../../../model/safetensors';
import { createOrtEngine } from '../../../trainer/engine';
import { checkpointWeightSource, readLlamaDims } from '../../../trainer/graph/checkpoint-source';
import { buildLlamaTrainingGraph, type TrainingGraphOptions } from '../../../trainer/graph/llama-train-graph';

const DIR = join(import.meta.dirname, '../../fixtures/tiny-llama');

function relErr(got: Float32Array, want: Float32Array): number {
  let e = 0;
  let m = 0;
  want.forEach((v, i) => {
    e = Math.max(e, Math.abs(v - (got[i] ?? NaN)));
    m = Math.max(m, Math.abs(v));
  });
  return e / m;
}

describe('training graph on WebGPU', () => {
  // Each graph on WebGPU against the same graph on the CPU EP (and float32 also against the golden).
  const cases: [string, TrainingGraphOptions, number][] = [
    ['float32 dense', {}, 1e-3],
    ['float16 dense', { dtype: 'float16' }, 2e-2],
    ['float16 int4-dequant', { dtype: 'float16', weights: 'int4-dequant' }, 2e-2],
    ['float16 int4-transposed', { dtype: 'float16', weights: 'int4-transposed' }, 2e-2],
  ];
  for (const [name, opts, tol] of cases) {
    // A GPU is needed; the CPU suite covers the same graphs.
    it.skipIf(!process.env['MUSILINGO_GPU'])(`${name} matches the CPU EP and the goldens`, async () => {
      const dims = await readLlamaDims(DIR);
      const ck = await openCheckpoint(DIR);
      const golden = await openCheckpoint(join(DIR, 'golden.safetensors'));
      const meta = JSON.parse(readFileSync(join(DIR, 'golden.json'), 'utf8')) as { labels: number[]; train_loss: number };
      const bytes = (await buildLlamaTrainingGraph(checkpointWeightSource(ck, dims), opts)).toBytes('unused.data');
      const gpu = await createOrtEngine(bytes, dims.hiddenSize, { executionProviders: ['webgpu'] });
      const cpu = await createOrtEngine(bytes, dims.hiddenSize);
      try {
        const x = await golden.readF32('train_inputs_embeds');
        const a = await gpu.lossAndGrad(x, meta.labels);
        const b = await cpu.lossAndGrad(x, meta.labels);
        expect(Math.abs(a.loss - b.loss)).toBeLessThan(tol * b.loss);
        expect(relErr(a.grad, b.grad)).toBeLessThan(tol);
        if (name === 'float32 dense') {
          expect(Math.abs(a.loss - meta.train_loss)).toBeLessThan(1e-4 * meta.train_loss);
          expect(relErr(a.grad, await golden.readF32('grad_inputs_embeds'))).toBeLessThan(1e-3);
        }
      } finally {
        await gpu.release();
        await cpu.release();
        await ck.close();
        await golden.close();
      }
    });
  }
});
