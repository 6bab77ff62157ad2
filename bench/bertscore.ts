/**
 * @file Benchmark: BERTScore with a roberta-large-shaped encoder (hidden 1024, 16 heads, FFN 4096, random
 * weights) on the CPU execution provider, ms per 1,000 MusicCaps pairs, against a baseline measured in the
 * same run: the three lexical paper metrics (char BLEU, METEOR, ROUGE-L) on the same pairs. The vocabulary
 * is built from the pairs' own words so sequence lengths are realistic (about one token per word or
 * punctuation run, as roberta-large's BPE gives on captions). Only `layers` layers are built (default 4,
 * to keep the weights small); the figure for bert_score's 17 layers is extrapolated linearly and marked so.
 * Run: `npm run bench -- bertscore [pairs] [layers]` (default 40 pairs, 4 layers).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBertScorer } from '../model/eval/bertscore';
import { charBleuScores } from '../model/eval/bleu-nltk';
import { paperMeteor } from '../model/eval/meteor';
import { bytesToUnicode, pretokenize } from '../model/eval/roberta-tokenizer';
import { rougeL } from '../model/eval/rouge';
import { writeSafetensors } from '../model/safetensors';

const nPairs = Number(process.argv[2] ?? 40);
const layers = Number(process.argv[3] ?? 4);
const H = 1024;
const FFN = 4096;
const MAX_POS = 514;

const fixture = readFileSync(join(process.cwd(), 'test', 'fixtures', 'metrics', 'nltk-musiccaps.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { reference: string; candidate: string })
  .filter((p) => p.candidate.length > 0);
const pairs = Array.from({ length: nPairs }, (_, i) => fixture[i % fixture.length]!);

// Vocabulary: specials, byte characters, and every pre-token of the pairs with the merges that build it.
const byteChars = bytesToUnicode();
const enc = new TextEncoder();
const vocab = new Map<string, number>(['<s>', '<pad>', '</s>', '<unk>'].map((t, i) => [t, i]));
for (const c of byteChars) if (!vocab.has(c)) vocab.set(c, vocab.size);
const merges: string[] = [];
for (const p of pairs) {
  for (const piece of pretokenize(` ${p.reference} ${p.candidate}`)) {
    const chars = Array.from(enc.encode(piece), (b) => byteChars[b]!);
    let acc = chars[0]!;
    for (const c of chars.slice(1)) {
      if (!vocab.has(acc + c)) {
        merges.push(`${acc} ${c}`);
        vocab.set(acc + c, vocab.size);
      }
      acc += c;
    }
  }
}
const V = vocab.size;

let seed = 7;
function randn(n: number, scale: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    a[i] = ((seed / 4294967296) * 2 - 1) * scale;
  }
  return a;
}
const ones = (n: number): Float32Array => new Float32Array(n).fill(1);

const dir = mkdtempSync(join(tmpdir(), 'musilingo-bench-bertscore-'));
try {
  const tensors = new Map<string, { data: Float32Array; shape: number[] }>([
    ['roberta.embeddings.word_embeddings.weight', { data: randn(V * H, 0.05), shape: [V, H] }],
    ['roberta.embeddings.position_embeddings.weight', { data: randn(MAX_POS * H, 0.05), shape: [MAX_POS, H] }],
    ['roberta.embeddings.token_type_embeddings.weight', { data: randn(H, 0.05), shape: [1, H] }],
    ['roberta.embeddings.LayerNorm.weight', { data: ones(H), shape: [H] }],
    ['roberta.embeddings.LayerNorm.bias', { data: new Float32Array(H), shape: [H] }],
  ]);
  for (let l = 0; l < layers; l++) {
    const p = `roberta.encoder.layer.${l}`;
    for (const m of ['attention.self.query', 'attention.self.key', 'attention.self.value', 'attention.output.dense']) {
      tensors.set(`${p}.${m}.weight`, { data: randn(H * H, 0.03), shape: [H, H] });
      tensors.set(`${p}.${m}.bias`, { data: randn(H, 0.01), shape: [H] });
    }
    tensors.set(`${p}.intermediate.dense.weight`, { data: randn(FFN * H, 0.03), shape: [FFN, H] });
    tensors.set(`${p}.intermediate.dense.bias`, { data: randn(FFN, 0.01), shape: [FFN] });
    tensors.set(`${p}.output.dense.weight`, { data: randn(H * FFN, 0.015), shape: [H, FFN] });
    tensors.set(`${p}.output.dense.bias`, { data: randn(H, 0.01), shape: [H] });
    for (const ln of ['attention.output.LayerNorm', 'output.LayerNorm']) {
      tensors.set(`${p}.${ln}.weight`, { data: ones(H), shape: [H] });
      tensors.set(`${p}.${ln}.bias`, { data: new Float32Array(H), shape: [H] });
    }
  }
  await writeSafetensors(join(dir, 'model.safetensors'), tensors);
  tensors.clear();
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    model_type: 'roberta', hidden_size: H, num_attention_heads: 16, num_hidden_layers: layers, intermediate_size: FFN,
    layer_norm_eps: 1e-5, vocab_size: V, max_position_embeddings: MAX_POS, pad_token_id: 1, hidden_act: 'gelu', type_vocab_size: 1,
  }));
  writeFileSync(join(dir, 'vocab.json'), JSON.stringify(Object.fromEntries(vocab)));
  writeFileSync(join(dir, 'merges.txt'), `#version: 0.2\n${merges.join('\n')}\n`);

  const t0 = Date.now();
  const scorer = await createBertScorer(dir, { layers, cacheDir: join(dir, 'cache'), providers: ['cpu'] });
  const buildMs = Date.now() - t0;
  const tokens = pairs.map((p) => scorer.tokenizer.encodeForBertScore(p.reference).length);

  let sink = 0;
  const lexical = (): void => {
    for (const p of pairs) sink += charBleuScores(p.reference, p.candidate).bleu + paperMeteor(p.reference, p.candidate) + rougeL(p.reference, p.candidate).recall;
  };
  lexical(); // warm-up: WordNet index, JIT
  const b0 = process.hrtime.bigint();
  lexical();
  const baselineMs = (Number(process.hrtime.bigint() - b0) / 1e6 / nPairs) * 1000;

  await scorer.recall(pairs.slice(0, 2).map((p) => p.reference), pairs.slice(0, 2).map((p) => p.candidate)); // warm-up
  const s0 = Date.now();
  const r = await scorer.recall(pairs.map((p) => p.reference), pairs.map((p) => p.candidate));
  const bertMs = ((Date.now() - s0) / nPairs) * 1000;
  sink += r.reduce((a, b) => a + b, 0);
  await scorer.close();

  process.stdout.write(`BERTScore, roberta-large width (H ${H}, FFN ${FFN}), ${layers} random layers, CPU EP, ${nPairs} pairs\n`);
  process.stdout.write(`reference length: mean ${Math.round(tokens.reduce((a, b) => a + b, 0) / tokens.length)} tokens; graph build + session ${buildMs} ms\n`);
  process.stdout.write(`baseline (char BLEU + METEOR + ROUGE-L): ${baselineMs.toFixed(0)} ms / 1000 pairs\n`);
  process.stdout.write(`BERTScore, ${layers} layers: ${bertMs.toFixed(0)} ms / 1000 pairs (${(bertMs / baselineMs).toFixed(0)}× baseline)\n`);
  process.stdout.write(`BERTScore, 17 layers (extrapolated ×17/${layers}): ~${((bertMs * 17) / layers / 1000).toFixed(0)} s / 1000 pairs\n`);
  if (sink === 42) process.stdout.write('\n');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
