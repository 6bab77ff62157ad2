/**
 * @file GPU benchmark and numeric check of the adapter training graph (run by bench/gpu/train/run.sh on an
 * NVIDIA machine, bundled by prepare.sh). Builds the training graph from the Vicuna-7B-shaped random checkpoint
 * torch_train_ref.py wrote, per weight variant (float16 dense, int4 with a transposed copy, int4 with
 * dequantized blocks), runs one training step of ~200 tokens on the WebGPU EP, and prints time, model size and
 * peak GPU memory (nvidia-smi, sampled every 50 ms) beside the PyTorch step measured on the same GPU.
 * Usage: node train-gpu.mjs <work dir>   env: VARIANTS=f16-dense,int4-transposed,int4-dequant  EP=webgpu
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { readLlamaConfig } from '../../../model/llama/config';
import { openCheckpoint } from '../../../model/safetensors';
import { createOrtEngine } from '../../../trainer/engine';
import { checkpointWeightSource } from '../../../trainer/graph/checkpoint-source';
import { buildLlamaTrainingGraph, type WeightStorage } from '../../../trainer/graph/llama-train-graph';

const dir = process.argv[2] ?? '/tmp/train';
const ep = process.env.EP ?? 'webgpu';
const only = (process.env.VARIANTS ?? 'f16-dense,int4-transposed,int4-dequant').split(',');
const lines: string[] = [];
function log(s: string): void {
  lines.push(s);
  console.log(s);
}

/** Samples nvidia-smi's used memory (MiB) until stopped; returns the peak. */
function gpuMemorySampler(): { stop: () => Promise<number> } {
  let peak = 0;
  let closed = false;
  const p = spawn('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits', '-lms', '50']);
  p.stdout.on('data', (d: Buffer) => {
    for (const l of d.toString().split('\n')) if (l.trim()) peak = Math.max(peak, Number(l.trim()));
  });
  p.on('error', () => (closed = true)); // no nvidia-smi: peak stays 0
  p.on('close', () => (closed = true));
  return {
    stop: () =>
      new Promise((r) => {
        if (closed) return r(peak);
        p.once('close', () => r(peak));
        p.kill();
      }),
  };
}

const torch = JSON.parse(readFileSync(join(dir, 'torch.json'), 'utf8')) as Record<string, number | string>;
const cfg = await readLlamaConfig(join(dir, 'config.json'));
const xb = readFileSync(join(dir, 'inputs_embeds.f32'));
const x = new Float32Array(xb.buffer.slice(xb.byteOffset, xb.byteOffset + xb.byteLength));
const lb = readFileSync(join(dir, 'labels.i64'));
const labels = Array.from(new BigInt64Array(lb.buffer.slice(lb.byteOffset, lb.byteOffset + lb.byteLength)), Number);
const tb = readFileSync(join(dir, 'torch_grad.f32'));
const torchGrad = new Float32Array(tb.buffer.slice(tb.byteOffset, tb.byteOffset + tb.byteLength));
log(`train-gpu: Llama ${cfg.numLayers} layers × hidden ${cfg.hiddenSize}, ${labels.length} tokens, EP ${ep}; ort ${ort.env.versions.common}`);
log(`  torch (${String(torch['device'])}, fp16): step ${Number(torch['step_ms']).toFixed(1)} ms, loss ${Number(torch['loss']).toFixed(5)}, weights ${Number(torch['weights_gib']).toFixed(2)} GiB, peak ${Number(torch['peak_gib']).toFixed(2)} GiB`);

const variants: { name: string; dtype: 'float16' | 'float32'; weights: WeightStorage }[] = [
  { name: 'f16-dense', dtype: 'float16', weights: 'dense' },
  { name: 'int4-transposed', dtype: 'float16', weights: 'int4-transposed' },
  { name: 'int4-dequant', dtype: 'float16', weights: 'int4-dequant' },
];
const ck = await openCheckpoint(join(dir, 'model.safetensors'));
const idle = await (async () => {
  const s = gpuMemorySampler();
  await new Promise((r) => setTimeout(r, 300));
  return s.stop();
})();
for (const v of variants) {
  if (!only.includes(v.name)) continue;
  const path = join(dir, `train-${v.name}.onnx`);
  try {
    const t0 = performance.now();
    const g = await buildLlamaTrainingGraph(checkpointWeightSource(ck, cfg), { dtype: v.dtype, weights: v.weights, outPath: path });
    await g.save();
    const buildS = (performance.now() - t0) / 1000;
    const bytes = statSync(path).size + (existsSync(`${path}.data`) ? statSync(`${path}.data`).size : 0);
    const sampler = gpuMemorySampler();
    const t1 = performance.now();
    const engine = await createOrtEngine(path, cfg.hiddenSize, { executionProviders: [ep], threads: 4 });
    const loadS = (performance.now() - t1) / 1000;
    const first = await engine.lossAndGrad(x, labels);
    const times: number[] = [];
    let last = first;
    for (let i = 0; i < 3; i++) {
      const a = performance.now();
      last = await engine.lossAndGrad(x, labels);
      times.push(performance.now() - a);
    }
    const peak = await sampler.stop();
    await engine.release();
    times.sort((a, b) => a - b);
    let e = 0;
    let m = 0;
    for (let i = 0; i < torchGrad.length; i++) {
      e = Math.max(e, Math.abs(last.grad[i]! - torchGrad[i]!));
      m = Math.max(m, Math.abs(torchGrad[i]!));
    }
    log(`  ${v.name.padEnd(16)} model ${(bytes / 2 ** 30).toFixed(2)} GiB, build ${buildS.toFixed(0)} s, load ${loadS.toFixed(1)} s, step median ${times[1]!.toFixed(1)} ms (${(times[1]! / Number(torch['step_ms'])).toFixed(2)}× torch), ` +
      `peak GPU ${((peak - idle) / 1024).toFixed(2)} GiB over idle, loss ${last.loss.toFixed(5)} (torch ${Number(torch['loss']).toFixed(5)}), grad max err ${(e / m).toExponential(2)} × max|torch|`);
  } catch (err) {
    log(`  ${v.name}: FAILED ${String((err as Error).message ?? err).slice(0, 400)}`);
  } finally {
    rmSync(path, { force: true });
    rmSync(`${path}.data`, { force: true });
  }
}
await ck.close();
writeFileSync(join(process.env.OUT ?? '/tmp', 'train_gpu.txt'), `${lines.join('\n')}\n`);
