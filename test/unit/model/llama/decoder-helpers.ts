/** @file Test helpers for the Llama decoder tests: fixture loading and direct session runs. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { DecoderSpec } from '../../../../model/llama/build-decoder';
import { openCheckpoint } from '../../../../model/safetensors';
import { f16ToF32, f32ToF16 } from '../../../../model/tensor/half';

export const FIXTURES = join(import.meta.dirname, '../../../fixtures');

/** Golden tensors and json of a tiny-llama fixture. */
export async function loadGolden(name: string): Promise<{ json: Record<string, unknown>; tensors: Map<string, { data: Float32Array; shape: number[] }> }> {
  const json = JSON.parse(await readFile(join(FIXTURES, name, 'golden.json'), 'utf8')) as Record<string, unknown>;
  const ck = await openCheckpoint(join(FIXTURES, name, 'golden.safetensors'));
  const tensors = new Map<string, { data: Float32Array; shape: number[] }>();
  for (const n of ck.names()) tensors.set(n, { data: (await ck.readF32(n)).slice(), shape: ck.info(n).shape });
  await ck.close();
  return { json, tensors };
}

/** max |a - b| / max |b|. */
export function relMaxErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let err = 0;
  let ref = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    ref = Math.max(ref, Math.abs(b[i]!));
  }
  return err / ref;
}

/** Argmax of each row of [rows, cols]. */
export function argmaxRows(x: ArrayLike<number>, rows: number, cols: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (x[r * cols + c]! > x[r * cols + best]!) best = c;
    out.push(best);
  }
  return out;
}

/** One decoder run; past = undefined means an empty cache. Returns logits and the present tensors. */
export async function runDecoder(
  session: ort.InferenceSession,
  spec: DecoderSpec,
  embeds: Float32Array,
  batch: number,
  mask: number[],
  past?: Record<string, ort.Tensor>,
): Promise<{ logits: Float32Array; present: Record<string, ort.Tensor> }> {
  const S = embeds.length / batch / spec.hiddenSize;
  const feeds: Record<string, ort.Tensor> = {
    inputs_embeds: spec.dtype === 'float16'
      ? new ort.Tensor('float16', f32ToF16(embeds), [batch, S, spec.hiddenSize])
      : new ort.Tensor('float32', embeds, [batch, S, spec.hiddenSize]),
    attention_mask: new ort.Tensor('int64', BigInt64Array.from(mask, BigInt), [batch, mask.length / batch]),
  };
  for (let i = 0; i < spec.numLayers; i++) {
    for (const kv of ['key', 'value']) {
      feeds[`past_key_values.${i}.${kv}`] = past?.[`present.${i}.${kv}`] ??
        new ort.Tensor(spec.kvDtype ?? spec.dtype, (spec.kvDtype ?? spec.dtype) === 'float16' ? new Uint16Array(0) : new Float32Array(0), [batch, spec.numKvHeads, 0, spec.headDim]);
    }
  }
  const out = await session.run(feeds);
  const present: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(out)) if (k.startsWith('present.')) present[k] = v;
  const l = out.logits!.data;
  return { logits: l instanceof Uint16Array ? f16ToF32(l) : (l as Float32Array), present };
}
