/**
 * @file Benchmark of one adapter training step (forward + backward to inputs_embeds) on the CPU.
 * `npm run bench -- train-step [--mid]`
 *
 * 1. Tiny Llama (hidden 64, 2 layers, vocab 32000, ~40 tokens): steps/s of the ONNX training graph per weight
 *    storage, against the float64 TS reference engine measured in the same run (the baseline).
 * 2. With --mid, a mid-size config (hidden 1024, 4 layers, MLP 2816, vocab 32000; ~84 M frozen parameters):
 *    model size and memory of the two int4 layouts the backward can use (a second int4 copy of Wᵀ vs.
 *    dequantizing the forward's blocks), beside dense float32. The graphs are built first; each then loads and
 *    runs in its own child process, so its peak RSS is the session's alone.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOrtEngine, createReferenceEngine, type GradientEngine } from '../trainer/engine';
import { arrayWeightSource, buildLlamaTrainingGraph, type WeightStorage } from '../trainer/graph/llama-train-graph';
import { randomLlamaWeights, type LlamaDims } from '../trainer/reference/llama-reference';
import { mulberry32 } from '../model/random';

const TINY: LlamaDims = { hiddenSize: 64, intermediateSize: 172, numLayers: 2, numHeads: 4, numKvHeads: 4, headDim: 16, vocabSize: 32000, rmsNormEps: 1e-6, ropeTheta: 10000 };
const MID: LlamaDims = { hiddenSize: 1024, intermediateSize: 2816, numLayers: 4, numHeads: 16, numKvHeads: 16, headDim: 64, vocabSize: 32000, rmsNormEps: 1e-6, ropeTheta: 10000 };

function input(dims: LlamaDims, s: number): { x: Float32Array; labels: number[] } {
  const r = mulberry32(1);
  return {
    x: Float32Array.from({ length: s * dims.hiddenSize }, () => (r() - 0.5) * 0.1),
    labels: Array.from({ length: s }, (_, i) => (i < s - 12 ? -100 : Math.floor(r() * dims.vocabSize))),
  };
}

async function stepsPerSecond(engine: GradientEngine, dims: LlamaDims, s: number, minMs = 1500): Promise<number> {
  const { x, labels } = input(dims, s);
  await engine.lossAndGrad(x, labels); // warm-up
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < minMs || n < 3) {
    await engine.lossAndGrad(x, labels);
    n++;
  }
  return (n * 1000) / (performance.now() - t0);
}

/** Builds the mid-size graphs (in this process) so each child only loads and runs one. */
async function buildMid(dir: string): Promise<Record<string, { bytes: number; buildMs: number }>> {
  const w = randomLlamaWeights(MID, 5, 0.02);
  const out: Record<string, { bytes: number; buildMs: number }> = {};
  for (const storage of ['dense', 'int4-transposed', 'int4-dequant'] as const) {
    const path = join(dir, `train-${storage}.onnx`);
    const t0 = performance.now();
    const g = await buildLlamaTrainingGraph(arrayWeightSource(w), { weights: storage, outPath: path });
    await g.save();
    out[storage] = { bytes: statSync(path).size + (existsSync(`${path}.data`) ? statSync(`${path}.data`).size : 0), buildMs: performance.now() - t0 };
  }
  return out;
}

/** Child: load one graph, run one step, report memory (its peak RSS is the session's alone). */
async function child(storage: WeightStorage, dir: string): Promise<void> {
  const path = join(dir, `train-${storage}.onnx`);
  const rss0 = process.memoryUsage().rss;
  const engine = await createOrtEngine(path, MID.hiddenSize, { threads: 2 });
  const rssLoaded = process.memoryUsage().rss;
  const { x, labels } = input(MID, 200);
  await engine.lossAndGrad(x, labels);
  const t1 = performance.now();
  await engine.lossAndGrad(x, labels);
  const stepMs = performance.now() - t1;
  await engine.release();
  process.stdout.write(`${JSON.stringify({ loadedMb: (rssLoaded - rss0) / 2 ** 20, peakRssMb: process.resourceUsage().maxRSS / 1024, baseMb: rss0 / 2 ** 20, stepMs })}\n`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') return child(args[1] as WeightStorage, args[2]!);
  const S = 40;
  console.log(`Tiny Llama (hidden ${TINY.hiddenSize}, ${TINY.numLayers} layers, vocab ${TINY.vocabSize}), ${S} tokens, 1 CPU thread`);
  const w = randomLlamaWeights(TINY, 3);
  const ref = await stepsPerSecond(createReferenceEngine(w), TINY, S, 3000);
  console.log(`  baseline: float64 TS reference     ${ref.toFixed(2)} steps/s`);
  for (const storage of ['dense', 'int4-transposed', 'int4-dequant'] as const) {
    const g = await buildLlamaTrainingGraph(arrayWeightSource(w), { weights: storage });
    const bytes = g.toBytes('unused.data');
    const engine = await createOrtEngine(bytes, TINY.hiddenSize, { threads: 1 });
    const sps = await stepsPerSecond(engine, TINY, S);
    await engine.release();
    console.log(`  ONNX float32 ${storage.padEnd(16)} ${sps.toFixed(2)} steps/s (${(sps / ref).toFixed(1)}× baseline), model ${(bytes.byteLength / 2 ** 20).toFixed(1)} MiB`);
  }
  if (!args.includes('--mid')) {
    console.log('(add --mid for the int4 layout memory comparison on a mid-size config)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'bench-train-'));
  try {
    console.log(`Mid-size Llama (hidden ${MID.hiddenSize}, ${MID.numLayers} layers, MLP ${MID.intermediateSize}, vocab ${MID.vocabSize}), 200 tokens, 2 CPU threads, float32 activations`);
    const built = await buildMid(dir);
    const rows: Record<string, { bytes: number; loadedMb: number; peakRssMb: number; baseMb: number; stepMs: number; buildMs: number }> = {};
    for (const storage of ['dense', 'int4-transposed', 'int4-dequant'] as const) {
      const r = spawnSync(process.execPath, [process.argv[1]!, '--child', storage, dir], { encoding: 'utf8' });
      const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
      if (!line) {
        console.log(`  ${storage}: failed (${r.stderr.trim().split('\n').slice(-3).join(' | ')})`);
        continue;
      }
      rows[storage] = { ...built[storage]!, ...(JSON.parse(line) as Omit<(typeof rows)[string], 'bytes' | 'buildMs'>) };
    }
    const base = rows['dense'];
    for (const [storage, r] of Object.entries(rows)) {
      const peak = r.peakRssMb - r.baseMb;
      const rel = base ? ` (${(r.bytes / base.bytes).toFixed(2)}× dense size, ${(peak / (base.peakRssMb - base.baseMb)).toFixed(2)}× dense peak)` : '';
      console.log(`  ${storage.padEnd(16)} model ${(r.bytes / 2 ** 20).toFixed(0)} MiB, session +${r.loadedMb.toFixed(0)} MiB, peak +${peak.toFixed(0)} MiB over the bare process, step ${r.stepMs.toFixed(0)} ms, build ${(r.buildMs / 1000).toFixed(1)} s${rel}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
