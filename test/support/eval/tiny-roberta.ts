/**
 * @file A tiny random RoBERTa checkpoint in Hugging Face layout (config.json, model.safetensors with the
 * "roberta." prefix, vocab.json + merges.txt) for BERTScore tests, and its float64 weights.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bytesToUnicode } from '../../../model/eval/roberta-tokenizer';
import { mulberry32 } from '../../../model/random';
import { writeSafetensors } from '../../../model/safetensors';

export const H = 16;
export const HEADS = 2;
export const LAYERS = 3;
export const FFN = 32;
export const MAX_POS = 40;
export const PAD = 1;
export const EPS = 1e-5;

const rng = mulberry32;

/** Vocabulary: RoBERTa's specials, every byte character, and a few merges. */
export const SPECIALS = ['<s>', '<pad>', '</s>', '<unk>'];
export const BYTE_CHARS = bytesToUnicode();
export const MERGES: [string, string][] = [['Ġ', 't'], ['h', 'e'], ['Ġt', 'he'], ['Ġ', 'm'], ['u', 's'], ['Ġm', 'us']];
export const VOCAB = [...SPECIALS, ...BYTE_CHARS, ...MERGES.map(([a, b]) => a + b)];
export const V = VOCAB.length;

/**
 * Writes the checkpoint into `dir` and returns its weights (float64 copies of the stored float32 values,
 * names without the "roberta." prefix).
 */
export async function writeTinyRoberta(dir: string, seed = 1234): Promise<Map<string, Float64Array>> {
  mkdirSync(dir, { recursive: true });
  const weights = new Map<string, Float64Array>();
  const r = rng(seed);
  const param = (name: string, n: number, scale: number, offset = 0): void => {
    weights.set(name, Float64Array.from({ length: n }, () => offset + (r() * 2 - 1) * scale));
  };
  param('embeddings.word_embeddings.weight', V * H, 1);
  param('embeddings.position_embeddings.weight', MAX_POS * H, 1);
  param('embeddings.token_type_embeddings.weight', H, 0.5);
  param('embeddings.LayerNorm.weight', H, 0.2, 1);
  param('embeddings.LayerNorm.bias', H, 0.1);
  for (let l = 0; l < LAYERS; l++) {
    const p = `encoder.layer.${l}`;
    for (const m of ['query', 'key', 'value']) {
      param(`${p}.attention.self.${m}.weight`, H * H, 0.5);
      param(`${p}.attention.self.${m}.bias`, H, 0.1);
    }
    param(`${p}.attention.output.dense.weight`, H * H, 0.3);
    param(`${p}.attention.output.dense.bias`, H, 0.1);
    param(`${p}.attention.output.LayerNorm.weight`, H, 0.2, 1);
    param(`${p}.attention.output.LayerNorm.bias`, H, 0.1);
    param(`${p}.intermediate.dense.weight`, FFN * H, 0.4);
    param(`${p}.intermediate.dense.bias`, FFN, 0.1);
    param(`${p}.output.dense.weight`, H * FFN, 0.3);
    param(`${p}.output.dense.bias`, H, 0.1);
    param(`${p}.output.LayerNorm.weight`, H, 0.2, 1);
    param(`${p}.output.LayerNorm.bias`, H, 0.1);
  }
  const shapeOf = (name: string): number[] => {
    if (name.endsWith('word_embeddings.weight')) return [V, H];
    if (name.endsWith('position_embeddings.weight')) return [MAX_POS, H];
    if (name.endsWith('token_type_embeddings.weight')) return [1, H];
    if (name.endsWith('intermediate.dense.weight')) return [FFN, H];
    if (name.endsWith('output.dense.weight') && !name.includes('attention')) return [H, FFN];
    if (name.endsWith('.weight') && !name.includes('LayerNorm')) return [H, H];
    return [weights.get(name)!.length];
  };
  const tensors = new Map([...weights].map(([n, w]) => [`roberta.${n}`, { data: Float32Array.from(w), shape: shapeOf(n) }]));
  await writeSafetensors(join(dir, 'model.safetensors'), tensors);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    model_type: 'roberta', hidden_size: H, num_attention_heads: HEADS, num_hidden_layers: LAYERS, intermediate_size: FFN,
    layer_norm_eps: EPS, vocab_size: V, max_position_embeddings: MAX_POS, pad_token_id: PAD, hidden_act: 'gelu', type_vocab_size: 1,
  }));
  writeFileSync(join(dir, 'vocab.json'), JSON.stringify(Object.fromEntries(VOCAB.map((t, i) => [t, i]))));
  writeFileSync(join(dir, 'merges.txt'), `#version: 0.2\n${MERGES.map(([a, b]) => `${a} ${b}`).join('\n')}\n`);
  // What the checkpoint stores, back in float64 for the reference forward.
  return new Map([...weights].map(([n, w]) => [n, Float64Array.from(Float32Array.from(w))]));
}
