/**
 * @file Benchmark: the MERT encoder graph on the CPU EP with the tiny-mert fixture, 30 s windows, in × real
 * time. Baseline (same run): the float32 plain-op attention graph; compared: MultiHeadAttention, float16.
 * Run: `node bench/run.mjs mert-encoder [runs]`. Full-size GPU figures: bench/gpu/mert/.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readMertConfig } from '../model/mert/config';
import { createMertSession, encodeWindow } from '../model/mert/encode';
import { buildMertEncoder } from '../model/mert/encoder-graph';
import { openCheckpoint } from '../model/safetensors';

const runs = Number(process.argv[2] ?? 5);
const fixture = join(process.cwd(), 'test/fixtures/tiny-mert');
const dir = mkdtempSync(join(tmpdir(), 'bench-mert-'));
try {
  const config = await readMertConfig(join(fixture, 'config.json'));
  const ck = await openCheckpoint(join(fixture, 'model.safetensors'));
  const variants = [
    { label: 'float32 ops (baseline)', variant: 'float32', attention: 'ops' },
    { label: 'float32 MultiHeadAttention', variant: 'float32', attention: 'mha' },
    { label: 'float16 ops', variant: 'float16', attention: 'ops' },
  ] as const;
  for (const v of variants) {
    await buildMertEncoder({ checkpoint: ck, config, variant: v.variant, attention: v.attention, outPath: join(dir, `${v.variant}-${v.attention}.onnx`) });
  }
  await ck.close();
  const audio = Float32Array.from({ length: 30 * 24000 }, (_, i) => 0.3 * Math.sin(i * 0.05) + 0.1 * Math.sin(i * 0.0123));
  console.log(`mert-encoder: tiny-mert (width ${config.hiddenSize}, ${config.numLayers} layers), 30 s window, CPU EP, best of ${runs}`);
  let baseMs = 0;
  for (const v of variants) {
    const s = await createMertSession(join(dir, `${v.variant}-${v.attention}.onnx`));
    await encodeWindow(s, audio);
    let best = Infinity;
    for (let i = 0; i < runs; i++) best = Math.min(best, (await encodeWindow(s, audio)).runMs);
    await s.release();
    if (baseMs === 0) baseMs = best;
    console.log(`  ${v.label.padEnd(28)} ${best.toFixed(1).padStart(7)} ms  ${(30 / (best / 1000)).toFixed(0).padStart(6)}× real time  speed vs baseline ${(baseMs / best).toFixed(2)}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
