/**
 * @file BERTScore (bert_score 0.3.x semantics) with a RoBERTa/BERT encoder run by onnxruntime-node
 * (CLI worker or utility process: ORT calls block their thread).
 *
 * [Note: BERTScore recall as the paper computes it]
 * MusiLingo calls `bert_score.score(candidates, references, lang="en")`: roberta-large, layer 17, no
 * idf, no baseline rescaling, and reports the mean of R. Per pair, every token vector is L2-normalised,
 * and for each reference token the best cosine over *all* candidate tokens (<s> and </s> included) is
 * taken; R is the mean of those over the reference tokens other than <s> and </s>, whose weights are 0
 * (bert_score's idf_dict sets them to 0 even when idf is off). P is the same with the roles swapped and
 * F = 2PR/(P+R). A pair whose candidate or reference is empty (only <s></s>) scores 0, as bert_score
 * does. bert_score pads batches and lets padded positions (similarity 0) compete in the max; with
 * roberta-large's all-positive cosines that never wins, so we score each pair unpadded.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { createSession, type ExecutionProvider } from '../ort/session';
import { openCheckpoint } from '../safetensors';
import { buildEncoderGraph, readEncoderConfig, type EncoderConfig } from './roberta-graph';
import { RobertaTokenizer } from './roberta-tokenizer';

/** bert_score's default layer for models it knows (its model2layers table), matched by shape. */
export function defaultBertScoreLayers(cfg: EncoderConfig): number | undefined {
  if (cfg.modelType === 'roberta' && cfg.hiddenSize === 1024 && cfg.numLayers === 24) return 17; // roberta-large
  if (cfg.modelType === 'roberta' && cfg.hiddenSize === 768 && cfg.numLayers === 12) return 10; // roberta-base
  return undefined;
}

/** One sentence's token ids and per-token vectors ([len, dim], row-major). */
export interface TokenEmbeddings {
  readonly ids: readonly number[];
  readonly vectors: Float32Array;
  readonly dim: number;
}

/** Precision, recall and F1 of one pair. */
export interface BertScoreTriple {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
}

function normalizedRows(e: TokenEmbeddings): Float64Array {
  const n = e.ids.length;
  const out = new Float64Array(n * e.dim);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let d = 0; d < e.dim; d++) s += e.vectors[i * e.dim + d]! ** 2;
    const inv = 1 / Math.sqrt(s);
    for (let d = 0; d < e.dim; d++) out[i * e.dim + d] = e.vectors[i * e.dim + d]! * inv;
  }
  return out;
}

/**
 * bert_score's `greedy_cos_idf` for one pair without idf: tokens whose id is in `zeroWeightIds` (<s>,
 * </s>) get weight 0 on their own side but still compete as best matches for the other side.
 */
export function greedyMatch(reference: TokenEmbeddings, candidate: TokenEmbeddings, zeroWeightIds: ReadonlySet<number>): BertScoreTriple {
  if (reference.dim !== candidate.dim) throw new Error(`Embedding sizes differ: ${reference.dim} vs ${candidate.dim}`);
  const isEmpty = (e: TokenEmbeddings): boolean => e.ids.every((id) => zeroWeightIds.has(id));
  if (isEmpty(reference) || isEmpty(candidate)) return { precision: 0, recall: 0, f1: 0 };
  const dim = reference.dim;
  const r = normalizedRows(reference);
  const c = normalizedRows(candidate);
  const nr = reference.ids.length;
  const nc = candidate.ids.length;
  const bestForRef = new Float64Array(nr).fill(-Infinity);
  const bestForCand = new Float64Array(nc).fill(-Infinity);
  for (let i = 0; i < nc; i++) {
    for (let j = 0; j < nr; j++) {
      let s = 0;
      for (let d = 0; d < dim; d++) s += c[i * dim + d]! * r[j * dim + d]!;
      if (s > bestForRef[j]!) bestForRef[j] = s;
      if (s > bestForCand[i]!) bestForCand[i] = s;
    }
  }
  const weightedMean = (best: Float64Array, ids: readonly number[]): number => {
    let sum = 0;
    let w = 0;
    ids.forEach((id, k) => {
      if (!zeroWeightIds.has(id)) {
        sum += best[k]!;
        w += 1;
      }
    });
    return sum / w;
  };
  const recall = weightedMean(bestForRef, reference.ids);
  const precision = weightedMean(bestForCand, candidate.ids);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1 };
}

/** Options of {@link createBertScorer}. */
export interface BertScorerOptions {
  /** Layers to keep (default: bert_score's for the model, 17 for roberta-large). */
  readonly layers?: number;
  /** Where the converted encoder graph is cached (default: `<model dir>/.bertscore-onnx`). */
  readonly cacheDir?: string;
  /** Sentences per ORT run, grouped by length (default 8). */
  readonly batchSize?: number;
  /** Execution providers to try in order (default CUDA → WebGPU → CPU, see [Note: Execution-provider fallback]). */
  readonly providers?: readonly ExecutionProvider[];
  readonly intraOpNumThreads?: number;
  readonly onLog?: (message: string) => void;
}

/** A loaded BERTScore model. */
export interface BertScorer {
  /** e.g. "roberta, 17 of 24 layers, hidden 1024, on cuda (<dir>)". */
  readonly description: string;
  readonly tokenizer: RobertaTokenizer;
  /** Token ids and layer vectors of each text (deduplicated internally). */
  embed(texts: readonly string[]): Promise<TokenEmbeddings[]>;
  /** P, R, F1 of each (reference, candidate) pair. */
  score(references: readonly string[], candidates: readonly string[]): Promise<BertScoreTriple[]>;
  /** R of each pair (the paper's BERT-S before averaging). */
  recall(references: readonly string[], candidates: readonly string[]): Promise<number[]>;
  close(): Promise<void>;
}

function cacheKey(files: readonly string[], layers: number): string {
  const h = createHash('sha256');
  for (const f of files) {
    const st = statSync(f);
    h.update(`${f}\0${st.size}\0${st.mtimeMs}\0`);
  }
  h.update(`layers=${layers};v1`);
  return h.digest('hex').slice(0, 16);
}

/**
 * Loads a Hugging Face BERT/RoBERTa folder (config.json, *.safetensors, vocab.json + merges.txt or
 * tokenizer.json), converts its first `layers` layers to ONNX once (cached) and opens a session.
 */
export async function createBertScorer(modelDir: string, options: BertScorerOptions = {}): Promise<BertScorer> {
  const cfg = readEncoderConfig(modelDir);
  const layers = options.layers ?? defaultBertScoreLayers(cfg);
  if (layers === undefined) {
    throw new Error(`${modelDir}: no default BERTScore layer for a ${cfg.numLayers}-layer ${cfg.modelType} of width ${cfg.hiddenSize}; pass the layer count`);
  }
  const tokenizer = RobertaTokenizer.fromDir(modelDir, Math.min(512, cfg.maxPositions - (cfg.modelType === 'roberta' ? cfg.padTokenId + 1 : 0)));
  const ck = await openCheckpoint(modelDir);
  let onnxPath: string;
  try {
    const dir = join(options.cacheDir ?? join(modelDir, '.bertscore-onnx'), cacheKey(ck.files, layers));
    onnxPath = join(dir, 'encoder.onnx');
    if (!existsSync(onnxPath)) {
      const t0 = Date.now();
      const tmp = `${dir}.partial`;
      rmSync(tmp, { recursive: true, force: true });
      mkdirSync(tmp, { recursive: true });
      await buildEncoderGraph(ck, cfg, layers, join(tmp, 'encoder.onnx'));
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
      options.onLog?.(`[bertscore] built ${layers}-layer encoder graph in ${Date.now() - t0} ms`);
    }
  } finally {
    await ck.close();
  }
  const { session, ep } = await createSession(onnxPath, {
    ...(options.providers ? { providers: options.providers } : {}),
    intraOpNumThreads: options.intraOpNumThreads ?? 0,
    graphOptimizationLevel: 'all',
    enableCpuMemArena: true,
    ...(options.onLog ? { log: options.onLog } : {}),
  });
  const H = cfg.hiddenSize;
  const batchSize = options.batchSize ?? 8;
  const special = new Set([tokenizer.bosId, tokenizer.eosId]);
  // RoBERTa numbers positions from padding_idx + 1; BERT from 0.
  const posBase = cfg.modelType === 'roberta' ? cfg.padTokenId + 1 : 0;

  async function embed(texts: readonly string[]): Promise<TokenEmbeddings[]> {
    const unique = [...new Set(texts)];
    const encoded = new Map(unique.map((t) => [t, tokenizer.encodeForBertScore(t)]));
    const order = [...unique].sort((a, b) => encoded.get(a)!.length - encoded.get(b)!.length);
    const result = new Map<string, TokenEmbeddings>();
    for (let s = 0; s < order.length; s += batchSize) {
      const batch = order.slice(s, s + batchSize);
      const seq = Math.max(...batch.map((t) => encoded.get(t)!.length));
      const ids = new BigInt64Array(batch.length * seq).fill(BigInt(tokenizer.padId));
      const mask = new BigInt64Array(batch.length * seq);
      const pos = new BigInt64Array(batch.length * seq).fill(BigInt(cfg.padTokenId));
      batch.forEach((t, b) => {
        encoded.get(t)!.forEach((id, i) => {
          ids[b * seq + i] = BigInt(id);
          mask[b * seq + i] = 1n;
          pos[b * seq + i] = BigInt(posBase + i);
        });
      });
      const dims = [batch.length, seq];
      const t0 = Date.now();
      const out = await session.run({
        input_ids: new ort.Tensor('int64', ids, dims),
        attention_mask: new ort.Tensor('int64', mask, dims),
        position_ids: new ort.Tensor('int64', pos, dims),
      });
      const hidden = out['hidden']!.data as Float32Array;
      options.onLog?.(`[bertscore] encoder ${Date.now() - t0} ms (n=${batch.length}, seq=${seq})`);
      batch.forEach((t, b) => {
        const len = encoded.get(t)!.length;
        result.set(t, { ids: encoded.get(t)!, vectors: hidden.slice(b * seq * H, (b * seq + len) * H), dim: H });
      });
    }
    return texts.map((t) => result.get(t)!);
  }

  async function score(references: readonly string[], candidates: readonly string[]): Promise<BertScoreTriple[]> {
    if (references.length !== candidates.length) throw new Error(`BERTScore: ${references.length} references but ${candidates.length} candidates`);
    const emb = await embed([...references, ...candidates]);
    return references.map((_, i) => greedyMatch(emb[i]!, emb[references.length + i]!, special));
  }

  return {
    description: `${cfg.modelType}, ${layers} of ${cfg.numLayers} layers, hidden ${H}, on ${ep} (${modelDir})`,
    tokenizer,
    embed,
    score,
    async recall(references, candidates) {
      return (await score(references, candidates)).map((s) => s.recall);
    },
    async close() {
      await session.release();
    },
  };
}
