/**
 * @file Bench: the MERT encoder on the CPU EP at the real MERT-v1-330M shape (random weights), one 30 s
 * window: seconds per window and × real time, float32 (the anchor, same run) against the int8 variant with
 * dynamically quantized Linear layers ([Note: MERT int8 on the CPU]), and each variant's error on the
 * tiny-mert goldens (layer mean and pooled vectors, max |ours − golden| / max |golden|).
 * Goal: ≥ 3× real time with pooled error ≤ 1e-2, or the int8 mode is not a CPU default.
 *
 *   npm run bench -- mert-cpu [--runs 1] [--threads 2] [--seconds 30] [--layers 24]
 *
 * About 1.3 GB of float32 weights per variant; each run takes tens of seconds on 2 cores.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MERT_V1_330M, readMertConfig } from '../model/mert/config';
import type { MertConfig } from '../model/mert/config';
import { createMertSession, encodeWindow } from '../model/mert/encode';
import { buildMertEncoder } from '../model/mert/encoder-graph';
import { openCheckpoint } from '../model/safetensors';
import { randomMertSource } from './lib/random-mert';

const { values: a } = parseArgs({
  options: {
    runs: { type: 'string', default: '1' }, threads: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '30' }, layers: { type: 'string', default: String(MERT_V1_330M.numLayers) },
  },
});

function relMaxErr(got: Float32Array, want: Float32Array): number {
  let err = 0;
  let ref = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i]! - want[i]!));
    ref = Math.max(ref, Math.abs(want[i]!));
  }
  return err / ref;
}

const variants = [
  { label: 'float32 (anchor)', file: 'f32.onnx', q: undefined },
  { label: 'int8 dynamic Linear', file: 'int8.onnx', q: 'int8-dynamic' as const },
];
const dir = await mkdtemp(join(tmpdir(), 'bench-mert-cpu-'));
try {
  // Errors on the tiny-mert goldens, per variant.
  const fixture = join(process.cwd(), 'test/fixtures/tiny-mert');
  const tinyCfg = await readMertConfig(join(fixture, 'config.json'));
  const gold = await openCheckpoint(join(fixture, 'golden.safetensors'));
  const audioGold = await gold.readF32('audio');
  const errors = new Map<string, { lm: number; pooled: number }>();
  for (const v of variants) {
    const ck = await openCheckpoint(join(fixture, 'model.safetensors'));
    await buildMertEncoder({ checkpoint: ck, config: tinyCfg, variant: 'float32', outPath: join(dir, `tiny-${v.file}`), ...(v.q ? { linearQuantization: v.q } : {}) });
    await ck.close();
    const s = await createMertSession(join(dir, `tiny-${v.file}`), { intraOpNumThreads: 1 });
    const enc = await encodeWindow(s, audioGold, { keepLayerMean: true });
    errors.set(v.file, { lm: relMaxErr(enc.layerMean!, await gold.readF32('layer_mean')), pooled: relMaxErr(enc.pooled, await gold.readF32('pooled')) });
    await s.release();
  }
  await gold.close();

  const cfg: MertConfig = { ...MERT_V1_330M, numLayers: Number(a.layers) };
  const seconds = Number(a.seconds);
  const audio = Float32Array.from({ length: seconds * cfg.sampleRateHz }, (_, i) => 0.3 * Math.sin(i * 0.05) + 0.1 * Math.sin(i * 0.0123));
  console.log(`mert-cpu: MERT-v1-330M shape (hidden ${cfg.hiddenSize}, ${cfg.numLayers} layers), random weights, one ${seconds} s window, CPU EP, ${a.threads} threads, best of ${a.runs}`);
  const rows: { label: string; s: number; pooledVsF32?: number }[] = [];
  let pooledF32: Float32Array | undefined;
  for (const v of variants) {
    const t0 = performance.now();
    await buildMertEncoder({ checkpoint: randomMertSource(cfg), config: cfg, variant: 'float32', outPath: join(dir, v.file), ...(v.q ? { linearQuantization: v.q } : {}) });
    const buildS = (performance.now() - t0) / 1000;
    const session = await createMertSession(join(dir, v.file), { intraOpNumThreads: Number(a.threads) });
    let best = Infinity;
    let pooled: Float32Array | undefined;
    const load = loadavg()[0]!;
    for (let r = 0; r < Number(a.runs); r++) {
      const enc = await encodeWindow(session, audio);
      best = Math.min(best, enc.runMs / 1000);
      pooled = enc.pooled;
    }
    await session.release();
    await rm(join(dir, v.file), { force: true });
    await rm(join(dir, `${v.file}.data`), { force: true });
    if (!v.q) pooledF32 = pooled;
    const row = { label: v.label, s: best, ...(v.q && pooledF32 && pooled ? { pooledVsF32: relMaxErr(pooled, pooledF32) } : {}) };
    rows.push(row);
    const e = errors.get(v.file)!;
    console.log(`  ${v.label.padEnd(22)} ${best.toFixed(1).padStart(6)} s/window  ${(seconds / best).toFixed(2).padStart(6)}× real time  (built in ${buildS.toFixed(0)} s; load avg ${load.toFixed(1)} on ${cpus().length} CPUs)`);
    console.log(`  ${''.padEnd(22)} tiny-mert goldens: layer_mean error ${e.lm.toExponential(2)}, pooled error ${e.pooled.toExponential(2)}${row.pooledVsF32 !== undefined ? `; pooled vs float32 at 330M shape ${row.pooledVsF32.toExponential(2)}` : ''}`);
  }
  const [f32, int8] = rows;
  if (f32 && int8) {
    const e = errors.get('int8.onnx')!;
    console.log(`ratio int8 / float32 speed: ${(f32.s / int8.s).toFixed(2)}×; int8 ${int8.s <= seconds / 3 ? 'meets' : 'misses'} ≥ 3× real time, ${e.pooled <= 1e-2 ? 'meets' : 'misses'} pooled error ≤ 1e-2 on tiny-mert`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
