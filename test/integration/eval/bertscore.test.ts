/**
 * @file BERTScore end to end on a tiny random RoBERTa: the ONNX encoder graph (run by onnxruntime-node)
 * against an independent float64 forward written here, layer truncation, batching with padding, the
 * tokenizer, and BERTScore's greedy matching on hand-checkable vectors.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBertScorer, greedyMatch, type BertScorer } from '../../../model/eval/bertscore';
import { RobertaTokenizer, pretokenize } from '../../../model/eval/roberta-tokenizer';
import { BYTE_CHARS, EPS, FFN, H, HEADS, MERGES, PAD, VOCAB, writeTinyRoberta } from '../../support/eval/tiny-roberta';

let weights = new Map<string, Float64Array>();
let dir: string;
let scorer: BertScorer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'musilingo-bertscore-'));
  weights = await writeTinyRoberta(dir);
  scorer = await createBertScorer(dir, { layers: 2, cacheDir: join(dir, 'cache'), batchSize: 4, providers: ['cpu'] });
}, 60_000);

afterAll(async () => {
  await scorer?.close();
  rmSync(dir, { recursive: true, force: true });
});

// ---- Independent float64 reference forward (transformers' RobertaModel, post-LN, exact GELU) ----

function erf(x: number): number {
  // Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), ample for a 1e-4 tolerance.
  const s = Math.sign(x);
  const ax = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * ax);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-ax * ax);
  return s * y;
}

function layerNorm(x: Float64Array, g: Float64Array, b: Float64Array): Float64Array {
  let m = 0;
  for (const v of x) m += v;
  m /= x.length;
  let v2 = 0;
  for (const v of x) v2 += (v - m) ** 2;
  v2 /= x.length;
  return x.map((v, i) => ((v - m) / Math.sqrt(v2 + EPS)) * g[i]! + b[i]!);
}

function linear(x: Float64Array, w: Float64Array, b: Float64Array, out: number): Float64Array {
  const inp = x.length;
  const y = new Float64Array(out);
  for (let o = 0; o < out; o++) {
    let s = b[o]!;
    for (let i = 0; i < inp; i++) s += w[o * inp + i]! * x[i]!;
    y[o] = s;
  }
  return y;
}

function referenceForward(ids: readonly number[], layers: number): Float64Array[] {
  const w = (n: string): Float64Array => weights.get(n)!;
  let xs = ids.map((id, i) => {
    const e = new Float64Array(H);
    for (let d = 0; d < H; d++) {
      e[d] = w('embeddings.word_embeddings.weight')[id * H + d]! + w('embeddings.position_embeddings.weight')[(PAD + 1 + i) * H + d]! + w('embeddings.token_type_embeddings.weight')[d]!;
    }
    return layerNorm(e, w('embeddings.LayerNorm.weight'), w('embeddings.LayerNorm.bias'));
  });
  const dh = H / HEADS;
  for (let l = 0; l < layers; l++) {
    const p = `encoder.layer.${l}`;
    const q = xs.map((x) => linear(x, w(`${p}.attention.self.query.weight`), w(`${p}.attention.self.query.bias`), H));
    const k = xs.map((x) => linear(x, w(`${p}.attention.self.key.weight`), w(`${p}.attention.self.key.bias`), H));
    const v = xs.map((x) => linear(x, w(`${p}.attention.self.value.weight`), w(`${p}.attention.self.value.bias`), H));
    const ctx = xs.map(() => new Float64Array(H));
    for (let h = 0; h < HEADS; h++) {
      for (let i = 0; i < xs.length; i++) {
        const s = xs.map((_, j) => {
          let d = 0;
          for (let c = 0; c < dh; c++) d += q[i]![h * dh + c]! * k[j]![h * dh + c]!;
          return d / Math.sqrt(dh);
        });
        const mx = Math.max(...s);
        const e = s.map((z) => Math.exp(z - mx));
        const z = e.reduce((a, b) => a + b, 0);
        for (let j = 0; j < xs.length; j++) for (let c = 0; c < dh; c++) ctx[i]![h * dh + c]! += (e[j]! / z) * v[j]![h * dh + c]!;
      }
    }
    xs = xs.map((x, i) => {
      const ao = linear(ctx[i]!, w(`${p}.attention.output.dense.weight`), w(`${p}.attention.output.dense.bias`), H);
      const a = layerNorm(ao.map((val, d) => val + x[d]!), w(`${p}.attention.output.LayerNorm.weight`), w(`${p}.attention.output.LayerNorm.bias`));
      const h1 = linear(a, w(`${p}.intermediate.dense.weight`), w(`${p}.intermediate.dense.bias`), FFN).map((u) => 0.5 * u * (1 + erf(u / Math.SQRT2)));
      const h2 = linear(h1, w(`${p}.output.dense.weight`), w(`${p}.output.dense.bias`), H);
      return layerNorm(h2.map((val, d) => val + a[d]!), w(`${p}.output.LayerNorm.weight`), w(`${p}.output.LayerNorm.bias`));
    });
  }
  return xs;
}

function maxAbsDiff(ours: Float32Array, ref: Float64Array[]): { diff: number; scale: number } {
  let diff = 0;
  let scale = 0;
  ref.forEach((row, i) => row.forEach((v, d) => {
    diff = Math.max(diff, Math.abs(ours[i * H + d]! - v));
    scale = Math.max(scale, Math.abs(v));
  }));
  return { diff, scale };
}

describe('RoBERTa encoder graph (onnxruntime-node) vs float64 reference', () => {
  it('matches the reference at the truncated layer, for every sentence of a padded batch', async () => {
    const texts = ['the music', 'A slow and sad piano ballad with soft female vocals.', 'é!', ''];
    const emb = await scorer.embed(texts);
    for (const e of emb) {
      const { diff, scale } = maxAbsDiff(e.vectors, referenceForward(e.ids, 2));
      expect(diff).toBeLessThanOrEqual(1e-4 * scale);
    }
    // The padded batch equals each sentence run alone.
    for (const [i, t] of texts.entries()) {
      const [alone] = await scorer.embed([t]);
      const d = alone!.vectors.reduce((m, v, k) => Math.max(m, Math.abs(v - emb[i]!.vectors[k]!)), 0);
      expect(d).toBeLessThan(1e-5);
    }
  });

  it('keeps only the requested number of layers', async () => {
    const [e] = await scorer.embed(['the music']);
    const full = referenceForward(e!.ids, 3);
    const { diff, scale } = maxAbsDiff(e!.vectors, full);
    expect(diff).toBeGreaterThan(1e-3 * scale); // layer 3 output differs: the graph really stops at 2
  });

  it('scores recall with the greedy cosine matching of bert_score', async () => {
    const refs = ['the music is slow', 'the music'];
    const cands = ['the music is slow', ''];
    const [same, empty] = await scorer.score(refs, cands);
    expect(same!.recall).toBeCloseTo(1, 6);
    expect(same!.precision).toBeCloseTo(1, 6);
    expect(empty).toEqual({ precision: 0, recall: 0, f1: 0 });
    const [r] = await scorer.recall(['the music'], ['music the and more']);
    // Independent recomputation from the reference forward.
    const tok = scorer.tokenizer;
    const refE = referenceForward(tok.encodeForBertScore('the music'), 2);
    const candE = referenceForward(tok.encodeForBertScore('music the and more'), 2);
    const norm = (v: Float64Array): Float64Array => { const n = Math.hypot(...v); return v.map((x) => x / n); };
    const inner = refE.slice(1, -1).map((rv) => Math.max(...candE.map((cv) => norm(rv).reduce((s, x, d) => s + x * norm(cv)[d]!, 0))));
    expect(r).toBeCloseTo(inner.reduce((a, b) => a + b, 0) / inner.length, 4);
  });

  it('reuses the cached graph and reports a missing checkpoint clearly', async () => {
    const again = await createBertScorer(dir, { layers: 2, cacheDir: join(dir, 'cache'), providers: ['cpu'] });
    expect(again.description).toContain('on cpu');
    await again.close();
    await expect(createBertScorer(join(dir, 'nope'), { layers: 2 })).rejects.toThrow(/config\.json/);
    await expect(createBertScorer(dir, { layers: 7, cacheDir: join(dir, 'cache') })).rejects.toThrow(/7 layers of a 3-layer/);
  });
});

describe('greedyMatch (bert_score greedy_cos_idf without idf)', () => {
  it('weights <s>/</s> 0 but lets them be best matches', () => {
    const s = Math.SQRT1_2;
    // ids 0 = <s>, 2 = </s>; reference tokens 10 = (1,0), 11 = (0,1); candidate token 20 = (1,1)/√2.
    const ref = { ids: [0, 10, 11, 2], vectors: Float32Array.from([1, 0, 1, 0, 0, 1, 1, 1]), dim: 2 };
    const cand = { ids: [0, 20, 2], vectors: Float32Array.from([1, 0, s, s, 0, -1]), dim: 2 };
    const m = greedyMatch(ref, cand, new Set([0, 2]));
    // Recall: token 10 best-matches the candidate's <s> (cos 1); token 11 matches token 20 (cos 1/√2).
    expect(m.recall).toBeCloseTo((1 + s) / 2, 6);
    // Precision: token 20 best-matches the reference's </s> = (1,1)/√2 (cos 1).
    expect(m.precision).toBeCloseTo(1, 6);
    expect(m.f1).toBeCloseTo((2 * m.precision * m.recall) / (m.precision + m.recall), 12);
  });

  it('gives 0 when either side has only special tokens', () => {
    const only = { ids: [0, 2], vectors: Float32Array.from([1, 0, 0, 1]), dim: 2 };
    const some = { ids: [0, 5, 2], vectors: Float32Array.from([1, 0, 1, 1, 0, 1]), dim: 2 };
    expect(greedyMatch(only, some, new Set([0, 2])).recall).toBe(0);
    expect(greedyMatch(some, only, new Set([0, 2])).recall).toBe(0);
  });
});

describe('RobertaTokenizer (byte-level BPE)', () => {
  const tok = new RobertaTokenizer(new Map(VOCAB.map((t, i) => [t, i])), MERGES);

  it("maps bytes like GPT-2's bytes_to_unicode", () => {
    expect(BYTE_CHARS[0x20]).toBe('Ġ');
    expect(BYTE_CHARS[0x0a]).toBe('Ċ');
    expect(BYTE_CHARS[0x41]).toBe('A');
    expect(new Set(BYTE_CHARS).size).toBe(256);
  });

  it('pre-tokenizes with the GPT-2 pattern and merges by rank', () => {
    expect(tok.tokenize(' the music')).toEqual(['Ġthe', 'Ġmus', 'i', 'c']);
    expect(pretokenize("it's 12!!  x\n")).toEqual(['it', "'s", ' 12', '!!', ' ', ' x', '\n']);
    expect(tok.tokenize("it's 12!!")).toEqual(['i', 't', "'", 's', 'Ġ', '1', '2', '!', '!']);
    expect(tok.tokenize('é')).toEqual(['Ã', '©']);
  });

  it('encodes as bert_score: strip, prefix space, <s> … </s>, truncation', () => {
    const id = (t: string): number => VOCAB.indexOf(t);
    expect(tok.encodeForBertScore('  the  ')).toEqual([0, id('Ġthe'), 2]);
    expect(tok.encodeForBertScore('')).toEqual([0, 2]);
    expect(tok.encodeForBertScore(' \n ')).toEqual([0, 2]);
    const short = new RobertaTokenizer(new Map(VOCAB.map((t, i) => [t, i])), MERGES, 5);
    expect(short.encodeForBertScore('abcdefgh')).toHaveLength(5);
  });

  it('rejects a vocabulary without RoBERTa special tokens', () => {
    expect(() => new RobertaTokenizer(new Map([['a', 0]]), [])).toThrow(/<s>/);
  });
});
