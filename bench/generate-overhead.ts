/**
 * @file Bench: tokens/s of the generation loop (model/llama/generate.ts) against a bare session.run loop on
 * the same decoder graph (prefill, then one run per token feeding present.* back, argmax only).
 * Target: loop overhead ≤ 5%. Random-weight Llama; CPU EP.
 *
 *   npm run bench -- generate-overhead [--variant float32|int4|float16] [--tokens 64] [--hidden 512]
 *                                      [--layers 4] [--heads 8] [--kv-heads 4] [--prompt 40] [--threads 2]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { buildLlamaDecoder } from '../model/llama/build-decoder';
import type { DecoderVariant } from '../model/llama/build-decoder';
import { parseLlamaConfig } from '../model/llama/config';
import { argmax, generateTokens, tableEmbedder } from '../model/llama/generate';
import { mulberry32 } from '../model/random';
import { openCheckpoint, writeSafetensors } from '../model/safetensors';
import type { TensorToWrite } from '../model/safetensors';
import { f32ToF16 } from '../model/tensor/half';

const { values: a } = parseArgs({
  options: {
    variant: { type: 'string', default: 'float32' }, tokens: { type: 'string', default: '64' },
    hidden: { type: 'string', default: '512' }, layers: { type: 'string', default: '4' },
    heads: { type: 'string', default: '8' }, 'kv-heads': { type: 'string', default: '4' },
    prompt: { type: 'string', default: '40' }, threads: { type: 'string', default: '2' },
    reps: { type: 'string', default: '3' },
  },
});
const H = Number(a.hidden);
const layers = Number(a.layers);
const heads = Number(a.heads);
const kvHeads = Number(a['kv-heads']);
const tokens = Number(a.tokens);
const promptLen = Number(a.prompt);
const V = 32000;
const I = Math.round((H * 8) / 3 / 16) * 16;
const variant = a.variant as DecoderVariant;

const dir = await mkdtemp(join(tmpdir(), 'bench-gen-'));
try {
  const config = parseLlamaConfig({
    model_type: 'llama', hidden_size: H, num_attention_heads: heads, num_key_value_heads: kvHeads,
    intermediate_size: I, num_hidden_layers: layers, vocab_size: V, rms_norm_eps: 1e-6,
  });
  const rnd = mulberry32(1);
  const t: Record<string, TensorToWrite> = {};
  const hd = H / heads;
  const add = (name: string, shape: number[], scale: number, base = 0): void => {
    const data = Float32Array.from({ length: shape.reduce((x, y) => x * y, 1) }, () => base + (rnd() * 2 - 1) * scale);
    t[name] = { dtype: 'F16', shape, bytes: new Uint8Array(f32ToF16(data).buffer) };
  };
  add('model.embed_tokens.weight', [V, H], 0.5);
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}.`;
    add(`${p}input_layernorm.weight`, [H], 0.1, 1);
    add(`${p}post_attention_layernorm.weight`, [H], 0.1, 1);
    add(`${p}self_attn.q_proj.weight`, [heads * hd, H], 0.05);
    add(`${p}self_attn.k_proj.weight`, [kvHeads * hd, H], 0.05);
    add(`${p}self_attn.v_proj.weight`, [kvHeads * hd, H], 0.05);
    add(`${p}self_attn.o_proj.weight`, [H, heads * hd], 0.05);
    add(`${p}mlp.gate_proj.weight`, [I, H], 0.05);
    add(`${p}mlp.up_proj.weight`, [I, H], 0.05);
    add(`${p}mlp.down_proj.weight`, [H, I], 0.05);
  }
  add('model.norm.weight', [H], 0.1, 1);
  add('lm_head.weight', [V, H], 0.05);
  await writeSafetensors(join(dir, 'model.safetensors'), t);
  const ck = await openCheckpoint(join(dir, 'model.safetensors'));
  const outPath = join(dir, 'decoder.onnx');
  const tb = performance.now();
  const spec = await buildLlamaDecoder({ checkpoint: ck, config, variant, outPath, lastTokenLogitsOnly: true, int4ActivationDtype: 'float32' });
  console.log(`built ${variant} decoder (hidden ${H}, ${layers} layers, ${heads}/${kvHeads} heads, vocab ${V}) in ${(performance.now() - tb).toFixed(0)} ms`);
  const session = await ort.InferenceSession.create(outPath, { executionProviders: ['cpu'], intraOpNumThreads: Number(a.threads), graphOptimizationLevel: 'all', enableCpuMemArena: true });
  // In-memory table for both loops: a per-token file read would add thread-pool noise to both.
  const embedder = tableEmbedder(await ck.readF32('model.embed_tokens.weight'), H);
  // Time inside session.run, per loop: what is left is the loop's own cost, which load noise hardly touches.
  let runMs = 0;
  const timed = {
    run: async (feeds: Record<string, ort.Tensor>) => {
      const t = performance.now();
      const r = await session.run(feeds);
      runMs += performance.now() - t;
      return r;
    },
  } as unknown as ort.InferenceSession;
  const prompt = await embedder.embed(Array.from({ length: promptLen }, (_, i) => 100 + i));

  function toInput(x: Float32Array, dims: number[]): ort.Tensor {
    return spec.dtype === 'float16' ? new ort.Tensor('float16', f32ToF16(x), dims) : new ort.Tensor('float32', x, dims);
  }
  /** The baseline: the least a caller can do per token. */
  async function bareLoop(): Promise<{ ms: number; outsideMs: number }> {
    runMs = 0;
    const empty = spec.dtype === 'float16' ? new Uint16Array(0) : new Float32Array(0);
    let past: Record<string, ort.Tensor> = {};
    for (let i = 0; i < layers; i++) for (const kv of ['key', 'value']) past[`past_key_values.${i}.${kv}`] = new ort.Tensor(spec.dtype, empty, [1, kvHeads, 0, hd]);
    let input = toInput(prompt, [1, promptLen, H]);
    let total = promptLen;
    const t0 = performance.now();
    for (let step = 0; step < tokens; step++) {
      const out = await timed.run({ ...past, inputs_embeds: input, attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]) });
      past = {};
      for (let i = 0; i < layers; i++) {
        past[`past_key_values.${i}.key`] = out[`present.${i}.key`]!;
        past[`past_key_values.${i}.value`] = out[`present.${i}.value`]!;
      }
      const next = argmax(out.logits!.data as Float32Array);
      input = toInput(await embedder.embed([next]), [1, 1, H]);
      total++;
    }
    const ms = performance.now() - t0;
    return { ms, outsideMs: ms - runMs };
  }
  async function ourLoop(): Promise<{ ms: number; outsideMs: number }> {
    runMs = 0;
    const t0 = performance.now();
    const [r] = await generateTokens({ session: timed, spec, embedder }, [prompt], { maxNewTokens: tokens, stopSequences: [], eosTokenIds: [] });
    if (r!.tokens.length !== tokens) throw new Error(`generated ${r!.tokens.length} tokens, expected ${tokens}`);
    const ms = performance.now() - t0;
    return { ms, outsideMs: ms - runMs };
  }
  await bareLoop(); // warm-up
  await ourLoop();
  const bare: { ms: number; outsideMs: number }[] = [];
  const ours: { ms: number; outsideMs: number }[] = [];
  // Alternate which one goes first, so drift in machine load does not favour either.
  for (let r = 0; r < Number(a.reps); r++) {
    if (r % 2 === 0) {
      bare.push(await bareLoop());
      ours.push(await ourLoop());
    } else {
      ours.push(await ourLoop());
      bare.push(await bareLoop());
    }
  }
  const med = (x: number[]): number => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)]!;
  const tb2 = med(bare.map((x) => x.ms));
  const to = med(ours.map((x) => x.ms));
  const bOut = med(bare.map((x) => x.outsideMs));
  const oOut = med(ours.map((x) => x.outsideMs));
  console.log(`bare session.run loop : ${(tokens / (tb2 / 1000)).toFixed(1)} tokens/s (${tb2.toFixed(0)} ms for ${tokens} tokens incl. prefill of ${promptLen}; ${(bOut / tokens).toFixed(3)} ms/token outside run)`);
  console.log(`generateTokens        : ${(tokens / (to / 1000)).toFixed(1)} tokens/s (${to.toFixed(0)} ms; ${(oOut / tokens).toFixed(3)} ms/token outside run)`);
  console.log(`overhead, wall clock  : ${(((to - tb2) / tb2) * 100).toFixed(1)}% (medians of ${a.reps} runs each, order alternating; noisy on a shared machine)`);
  console.log(`overhead, loop's own  : ${(((oOut - bOut) / tb2) * 100).toFixed(2)}% of the bare loop's time (target ≤ 5%)`);
  await session.release();
  await ck.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
