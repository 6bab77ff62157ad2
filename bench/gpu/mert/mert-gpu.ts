/**
 * @file GPU benchmark and numeric check (run by bench/gpu/mert/run.sh on an NVIDIA machine, bundled by
 * prepare.sh): builds MERT-v1-330M-shaped encoder graphs from the random checkpoint that torch_ref.py wrote,
 * runs them on the WebGPU EP (and once on the CPU EP) with 30 s windows, and compares the pooled vectors and
 * speed with the PyTorch reference measured on the same GPU in the same run.
 * Usage: node mert-gpu.mjs <work dir with model.safetensors, config.json, audio.f32, torch_*.f32, torch.json>
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { parseMertConfig } from '../../../model/mert/config';
import { buildMertEncoder } from '../../../model/mert/encoder-graph';
import { poolFrames } from '../../../model/mert/pool';
import { openCheckpoint } from '../../../model/safetensors';

const dir = process.argv[2] ?? '/tmp/mert';
const only = process.env.MERT_VARIANTS?.split(',');
const lines: string[] = [];
function log(s: string): void {
  lines.push(s);
  console.log(s);
}

function readF32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

function relMaxErr(got: Float32Array, want: Float32Array): number {
  let e = 0;
  let m = 0;
  for (let i = 0; i < want.length; i++) {
    e = Math.max(e, Math.abs(got[i]! - want[i]!));
    m = Math.max(m, Math.abs(want[i]!));
  }
  return got.length === want.length ? e / m : Infinity;
}

const cfg = parseMertConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), join(dir, 'config.json'));
const audio = readF32(join(dir, 'audio.f32'));
const torch = JSON.parse(readFileSync(join(dir, 'torch.json'), 'utf8')) as Record<string, number | string>;
const seconds = audio.length / 24000;
log(`mert-gpu: MERT-330M shape (hidden ${cfg.hiddenSize}, ${cfg.numLayers} layers), random weights, ${seconds} s windows; ort ${ort.env.versions.common}`);
for (const [k, v] of Object.entries(torch)) log(`  torch ${k}: ${v}`);

const variants = [
  { name: 'fp32-mha', variant: 'float32', attention: 'mha', eps: ['webgpu', 'cpu'] },
  { name: 'fp32-ops', variant: 'float32', attention: 'ops', eps: ['webgpu'] },
  { name: 'fp16-ops', variant: 'float16', attention: 'ops', eps: ['webgpu'] },
  { name: 'fp16-mha', variant: 'float16', attention: 'mha', eps: ['webgpu'] },
] as const;

const ck = await openCheckpoint(join(dir, 'model.safetensors'));
for (const v of variants) {
  if (only && !only.includes(v.name)) continue;
  const onnx = join(dir, `${v.name}.onnx`);
  const t0 = performance.now();
  try {
    await buildMertEncoder({ checkpoint: ck, config: cfg, variant: v.variant, attention: v.attention, outPath: onnx });
  } catch (e) {
    log(`  ${v.name}: build FAILED ${(e as Error).message}`);
    continue;
  }
  log(`  ${v.name}: built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const want = readF32(join(dir, v.variant === 'float16' ? 'torch_pooled_fp16.f32' : 'torch_pooled_fp32.f32'));
  const wantF32 = readF32(join(dir, 'torch_pooled_fp32.f32'));
  for (const ep of v.eps) {
    try {
      const c0 = performance.now();
      const s = await ort.InferenceSession.create(onnx, { executionProviders: [ep], graphOptimizationLevel: 'all', enableCpuMemArena: true });
      const createMs = performance.now() - c0;
      for (const batch of ep === 'cpu' ? [1] : [1, 4]) {
        const x = new Float32Array(batch * audio.length);
        for (let b = 0; b < batch; b++) x.set(audio, b * audio.length);
        const feeds = { audio: new ort.Tensor('float32', x, [batch, audio.length]) };
        let out = await s.run(feeds); // warm-up (shader compilation)
        const times: number[] = [];
        const reps = ep === 'cpu' ? 2 : 5;
        for (let i = 0; i < reps; i++) {
          const a = performance.now();
          out = await s.run(feeds);
          times.push(performance.now() - a);
        }
        times.sort((p, q) => p - q);
        const med = times[Math.floor(times.length / 2)]!;
        const lm = out.layer_mean!;
        const [, frames, dim] = lm.dims as [number, number, number];
        const first = (lm.data as Float32Array).subarray(0, frames * dim);
        const pooled = poolFrames(first, frames, dim);
        writeFileSync(join(dir, `ort_${v.name}_${ep}.f32`), pooled);
        log(`  ${v.name} ${ep} batch ${batch}: session ${createMs.toFixed(0)} ms, run median ${med.toFixed(1)} ms ` +
          `→ ${((batch * seconds) / (med / 1000)).toFixed(0)}× real time; pooled rel err vs torch ${v.variant === 'float16' ? 'fp16' : 'fp32'} ` +
          `${relMaxErr(pooled, want).toExponential(2)}, vs torch fp32 ${relMaxErr(pooled, wantF32).toExponential(2)}`);
      }
      await s.release();
    } catch (e) {
      log(`  ${v.name} ${ep}: FAILED ${String((e as Error).message).slice(0, 400)}`);
    }
  }
}
await ck.close();
writeFileSync(join(process.env.OUT ?? dir, 'mert_gpu.txt'), lines.join('\n') + '\n');
