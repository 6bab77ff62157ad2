/**
 * @file The int4 (MatMulNBits) decoder must compute exactly what a float32 decoder built from the
 * dequantized weights computes: this checks packing, scales and zero points independently of how much
 * accuracy 4 bits lose on a given model.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLlamaDecoder } from '../../../../model/llama/build-decoder';
import { readLlamaConfig } from '../../../../model/llama/config';
import { dequantizeInt4, quantizeInt4 } from '../../../../model/llama/quantize';
import { openCheckpoint, writeSafetensors } from '../../../../model/safetensors';
import type { TensorToWrite } from '../../../../model/safetensors';
import { FIXTURES, loadGolden, relMaxErr, runDecoder } from './decoder-helpers';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'int4-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('int4 decoder', () => {
  it('equals the float32 decoder of its dequantized weights', async () => {
    const fixture = 'tiny-llama-gqa';
    const config = await readLlamaConfig(join(FIXTURES, fixture, 'config.json'));
    const ck = await openCheckpoint(join(FIXTURES, fixture));
    const tensors: Record<string, TensorToWrite> = {};
    for (const name of ck.names()) {
      const shape = ck.info(name).shape;
      let data = await ck.readF32(name);
      if (shape.length === 2 && !name.includes('embed_tokens')) data = dequantizeInt4(quantizeInt4(data, shape[0]!, shape[1]!));
      tensors[name] = { data, shape };
    }
    await writeSafetensors(join(dir, 'deq.safetensors'), tensors);
    const deq = await openCheckpoint(join(dir, 'deq.safetensors'));
    const specF = await buildLlamaDecoder({ checkpoint: deq, config, variant: 'float32', outPath: join(dir, 'deq.onnx') });
    const specQ = await buildLlamaDecoder({ checkpoint: ck, config, variant: 'int4', int4ActivationDtype: 'float32', outPath: join(dir, 'q.onnx') });
    await Promise.all([ck.close(), deq.close()]);
    const sF = await ort.InferenceSession.create(join(dir, 'deq.onnx'));
    const sQ = await ort.InferenceSession.create(join(dir, 'q.onnx'));
    const emb = (await loadGolden(fixture)).tensors.get('inputs_embeds')!.data;
    const mask = new Array(emb.length / config.hiddenSize).fill(1);
    const a = await runDecoder(sF, specF, emb, 1, mask);
    const b = await runDecoder(sQ, specQ, emb, 1, mask);
    expect(relMaxErr(b.logits, a.logits)).toBeLessThanOrEqual(1e-4);
    await Promise.all([sF.release(), sQ.release()]);
  });

  it('quantizes blocks symmetrically with the extreme value exact', () => {
    const w = Float32Array.from({ length: 2 * 40 }, (_, i) => Math.sin(i * 1.7) * (i % 5));
    const q = quantizeInt4(w, 2, 40);
    expect(q.blocks).toBe(2);
    const back = dequantizeInt4(q);
    for (let r = 0; r < 2; r++) {
      for (let b = 0; b < 2; b++) {
        const block = [...w.subarray(r * 40 + b * 32, r * 40 + Math.min(40, b * 32 + 32))];
        const m = block.reduce((x, y) => (Math.abs(y) > Math.abs(x) ? y : x), 0);
        const scale = Math.abs(m) / 8;
        // Values of the extreme's sign round to within half a step; the opposite end (+8 steps) clamps to +7.
        block.forEach((v, j) => expect(Math.abs(back[r * 40 + b * 32 + j]! - v)).toBeLessThanOrEqual((Math.sign(v) === Math.sign(m) ? scale / 2 : scale) + 1e-6));
        expect(back[r * 40 + b * 32 + block.indexOf(m)]).toBeCloseTo(m, 6);
      }
    }
  });
});
