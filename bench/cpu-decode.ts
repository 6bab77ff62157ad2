/**
 * @file Bench: our int4 decoder on the CPU EP against llama.cpp (node-llama-cpp 3.21.1, CPU build) on the
 * same weights: prefill and decode tokens/s at batch 1 and batch 8, session/model load time, peak RSS, and
 * the ratio ours / llama.cpp. Random Llama weights (float16 safetensors) go through the converter's
 * decoder builder (model/llama/build-decoder.ts, int4 MatMulNBits, float32 activations, as
 * main/models/convert.ts builds CPU packs); the same int4 blocks are repacked as Q4_0 into a GGUF
 * (bench/lib/gguf.ts, [Note: Q4_0 from MatMulNBits blocks]). Each contender runs in its own child process,
 * so each peak RSS is its own; llama.cpp's includes the mapped model file.
 *
 *   npm run bench -- cpu-decode [--hidden 4096] [--layers 32] [--intermediate 11008] [--vocab 32001]
 *        [--heads H/128] [--prompt 120] [--new 64,32] [--threads 2] [--batch 1,8] [--accuracy-level 4]
 *        [--attention gqa] [--kv inplace|copy] [--kv-dtype float32] [--optimized] [--reps 1] [--only ours|llama]
 *        [--keep DIR]
 *
 * --new takes one count per --batch entry (the last one repeats): 64 new tokens at batch 1 and 32 per row at
 * batch 8 by default, which keeps the 7B-shaped run inside 15 minutes on this 2-core machine.
 * --kv-dtype float16 builds 'gqa' decoders with a float16 KV cache ([Note: float16 KV cache on the CPU]); it
 * takes a comma list too (`--kv-dtype float32,float16`).
 * --optimized also saves each decoder as ORT's optimised model with its pre-packed weights
 * (optimizedModelFilePath + session.save_external_prepacked_constant_initializers) and runs that file as one
 * more contender, opened with graph optimisation disabled: its load time beside the plain graph's is the
 * "save the optimised model at convert time" lever.
 *
 * --accuracy-level and --attention take comma lists (e.g. `--accuracy-level 0,4 --attention ops,gqa`): one
 * decoder is built and run per combination. Ours runs the app's own loop (generateTokens with the session
 * on the CPU EP, so a 'gqa' graph keeps its KV cache in place, [Note: KV cache in place]; `--kv copy`
 * runs the copying loop instead, to measure that lever alone). With --reps N
 * each contender runs N times, in alternating order, and the best run counts: on a shared machine other
 * load only ever slows a run down. The load average is printed beside the results.
 *
 * Default = Vicuna-7B shape (needs about 10 GB RAM per contender and 21 GB of disk in the temp folder; took
 * 13 minutes on 2 shared cores, 4 of them preparing the files): develop with e.g. `--hidden 1024 --layers 4 --intermediate 2816 --vocab 4096`.
 * Greedy tokens of the two differ (random weights; Q/K rows are not permuted the way llama.cpp's HF
 * converter does, and llama.cpp multiplies with int8 activations): only speed is compared.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildLlamaDecoder } from '../model/llama/build-decoder';
import type { DecoderAttention, DecoderSpec } from '../model/llama/build-decoder';
import { openCheckpoint } from '../model/safetensors';
import { childLlama, childOurs, llamaConfig, newTokensAt, saveOptimizedDecoder, writeCheckpoint, writeLlamaGguf } from './lib/llama-pair';
import type { ChildResult, Shape } from './lib/llama-pair';

const { values: a } = parseArgs({
  options: {
    hidden: { type: 'string', default: '4096' }, layers: { type: 'string', default: '32' },
    intermediate: { type: 'string', default: '11008' }, vocab: { type: 'string', default: '32001' },
    heads: { type: 'string' }, prompt: { type: 'string', default: '120' }, new: { type: 'string', default: '64,32' },
    optimized: { type: 'boolean', default: false },
    threads: { type: 'string', default: '2' }, batch: { type: 'string', default: '1,8' },
    'accuracy-level': { type: 'string', default: '4' }, attention: { type: 'string', default: 'gqa' },
    reps: { type: 'string', default: '1' }, only: { type: 'string' }, keep: { type: 'string' },
    decoder: { type: 'string', default: 'decoder.onnx' }, kv: { type: 'string', default: 'inplace' },
    'kv-dtype': { type: 'string', default: 'float32' },
    // child mode
    child: { type: 'string' }, dir: { type: 'string' },
  },
});

const batches = a.batch.split(',').map(Number);
const newCounts = a.new.split(',').map(Number);
const shape: Shape = {
  H: Number(a.hidden), L: Number(a.layers), I: Number(a.intermediate), V: Number(a.vocab),
  heads: a.heads ? Number(a.heads) : Math.max(1, Number(a.hidden) / 128),
  P: Number(a.prompt), N: newCounts[0]!, threads: Number(a.threads),
  batches, newPerBatch: batches.map((_, i) => newCounts[Math.min(i, newCounts.length - 1)]!),
};
const built = a['accuracy-level'].split(',').map(Number).flatMap((acc) => a.attention.split(',').flatMap((att) => a['kv-dtype'].split(',')
  .filter((kv) => kv === 'float32' || att === 'gqa')
  .map((kv) => ({ acc, att: att as DecoderAttention, kv16: kv === 'float16', file: `decoder-a${acc}-${att}${kv === 'float16' ? '-kv16' : ''}.onnx`, optimized: false }))));
const variants = a.optimized ? built.flatMap((v) => [v, { ...v, file: v.file.replace(/\.onnx$/, '-opt.onnx'), optimized: true }]) : built;

function runChild(mode: 'ours' | 'llama', dir: string, decoder = ''): ChildResult {
  const self = fileURLToPath(import.meta.url);
  const args = process.argv.slice(2).filter((x, i, all) => x !== '--only' && all[i - 1] !== '--only');
  const r = spawnSync(process.execPath, ['--enable-source-maps', self, ...args, '--child', mode, '--dir', dir, ...(decoder ? ['--decoder', decoder] : [])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) throw new Error(`${mode} child failed (status ${r.status}): ${r.stdout.slice(-2000)}`);
  return JSON.parse(line) as ChildResult;
}

if (a.child) {
  const res = a.child === 'ours' ? await childOurs(a.dir!, shape, a.decoder, a.kv !== 'copy') : await childLlama(a.dir!, shape);
  process.stdout.write(`${JSON.stringify(res)}\n`);
  process.exit(0);
}

const dir = a.keep ?? (await mkdtemp(join(tmpdir(), 'bench-cpu-decode-')));
const benchStart = performance.now();
try {
  const s = shape;
  const cfg = llamaConfig(s);
  const ckPath = join(dir, 'model.safetensors');
  let t = performance.now();
  await writeCheckpoint(ckPath, s);
  console.log(`shape: hidden ${s.H}, ${s.L} layers, intermediate ${s.I}, vocab ${s.V}, ${s.heads} heads; prompt ${s.P}, new tokens per row ${s.batches.map((B, i) => `${newTokensAt(s, i)} at batch ${B}`).join(', ')}, greedy, ${s.threads} threads`);
  console.log(`random float16 checkpoint written in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const ck = await openCheckpoint(ckPath);
  for (const v of built) {
    t = performance.now();
    const spec: DecoderSpec = await buildLlamaDecoder({
      checkpoint: ck, config: cfg, variant: 'int4', int4ActivationDtype: 'float32', outPath: join(dir, v.file),
      lastTokenLogitsOnly: true, attention: v.att, ...(v.acc ? { accuracyLevel: v.acc } : {}), ...(v.kv16 ? { kvCacheDtype: 'float16' as const } : {}),
    });
    console.log(`ours: int4 decoder (${spec.attention} attention, accuracy_level ${v.acc}${v.kv16 ? ', float16 KV cache' : ''}) built in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    if (a.optimized) {
      t = performance.now();
      await saveOptimizedDecoder(join(dir, v.file), join(dir, v.file.replace(/\.onnx$/, '-opt.onnx')), s.threads);
      console.log(`ours: optimised model with pre-packed weights saved in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
  }
  await ck.close();
  t = performance.now();
  // The int4 blocks come from the first decoder built (accuracy level and attention do not change them).
  await writeLlamaGguf(join(dir, 'model.gguf'), ckPath, s, join(dir, built[0]!.file));
  console.log(`llama.cpp: Q4_0 GGUF of the same int4 blocks written in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const reps = Number(a.reps);
  const ours = new Map<string, ChildResult[]>();
  const ref: ChildResult[] = [];
  const loads: number[] = [];
  for (let r = 0; r < reps; r++) {
    const order = r % 2 === 0 ? ['ours', 'llama'] : ['llama', 'ours'];
    for (const who of order) {
      loads.push(loadavg()[0]!);
      if (who === 'ours' && a.only !== 'llama') for (const v of variants) ours.set(v.file, [...(ours.get(v.file) ?? []), runChild('ours', dir, v.file)]);
      if (who === 'llama' && a.only !== 'ours') ref.push(runChild('llama', dir));
    }
  }
  /** Best of the reps per batch size (fastest run; other load only slows runs down), least load time, most RSS. */
  const best = (rs: ChildResult[]): ChildResult | undefined => rs.length === 0 ? undefined : {
    loadMs: Math.min(...rs.map((x) => x.loadMs)),
    maxRssBytes: Math.max(...rs.map((x) => x.maxRssBytes)),
    runs: rs[0]!.runs.map((run, i) => ({ batch: run.batch, prefillTps: Math.max(...rs.map((x) => x.runs[i]!.prefillTps)), decodeTps: Math.max(...rs.map((x) => x.runs[i]!.decodeTps)) })),
  };
  const llamaBest = best(ref);
  const f = (x: number): string => x.toFixed(x < 10 ? 2 : 1);
  const gb = (b: number): string => `${(b / 2 ** 30).toFixed(2)} GiB`;
  console.log('');
  console.log(`${reps} rep(s) each, best run counts; 1-min load average before the runs: ${loads.map((x) => x.toFixed(1)).join(', ')} (${cpus().length} CPUs)`);
  console.log('| contender | load s | batch | prefill tok/s | decode tok/s (all rows) | peak RSS |');
  console.log('|---|---|---|---|---|---|');
  const rows: [string, ChildResult | undefined][] = variants.map((v) => [`ours (int4, accuracy_level ${v.acc}, ${v.att}${v.att === 'gqa' ? `, KV ${a.kv}${v.kv16 ? ' float16' : ''}` : ''}${v.optimized ? ', optimised file' : ''})`, best(ours.get(v.file) ?? [])]);
  rows.push(['llama.cpp 3.21.1 (Q4_0 GGUF)', llamaBest]);
  for (const [name, r] of rows) {
    if (!r) continue;
    for (const run of r.runs) console.log(`| ${name} | ${(r.loadMs / 1000).toFixed(2)} | ${run.batch} | ${f(run.prefillTps)} | ${f(run.decodeTps)} | ${gb(r.maxRssBytes)} |`);
  }
  if (llamaBest) {
    for (const [name, o] of rows.slice(0, -1)) {
      if (!o) continue;
      console.log('');
      for (const run of o.runs) {
        const l = llamaBest.runs.find((x) => x.batch === run.batch);
        if (l) console.log(`${name} / llama.cpp, batch ${run.batch}: prefill ${(run.prefillTps / l.prefillTps).toFixed(2)}×, decode ${(run.decodeTps / l.decodeTps).toFixed(2)}× (goal ≥ 1.0×)`);
      }
      console.log(`${name} / llama.cpp: load time ${(o.loadMs / llamaBest.loadMs).toFixed(2)}× (lower is better), peak RSS ${(o.maxRssBytes / llamaBest.maxRssBytes).toFixed(2)}×`);
    }
  }
  console.log('');
  console.log(`whole bench (writing the checkpoint, builds, GGUF, all runs): ${((performance.now() - benchStart) / 60000).toFixed(1)} min`);
} finally {
  if (!a.keep) await rm(dir, { recursive: true, force: true });
}
