/**
 * @file A learnable synthetic fine-tuning task on a random tiny Llama, shared by the training-loop tests and
 * the kill/resume child process. The answer's genre word depends only on the pooled "music" vectors.
 */
import { buildDataset, type LibraryTrack } from '../../../trainer/data/dataset';
import { tokenizeExample, type EmbedLookup, type TokenizedExample } from '../../../trainer/data/sequence';
import { createOrtEngine, type GradientEngine } from '../../../trainer/engine';
import { arrayWeightSource, buildLlamaTrainingGraph } from '../../../trainer/graph/llama-train-graph';
import { randomLlamaWeights, type LlamaDims, type LlamaWeights } from '../../../trainer/reference/llama-reference';
import { mulberry32 } from '../../../model/random';
import type { AdapterWeights } from '../../../trainer/adapter';
import { defaultTrainOptions, type TrainOptions } from '../../../trainer/run/train-loop';

export const DIMS: LlamaDims = {
  hiddenSize: 32,
  intermediateSize: 64,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
  headDim: 8,
  vocabSize: 48,
  rmsNormEps: 1e-6,
  ropeTheta: 10000,
};
export const IN_DIM = 8;

/** Everything a run needs. */
export interface SyntheticTask {
  engine: GradientEngine;
  embed: EmbedLookup;
  train: TokenizedExample[];
  heldOut: TokenizedExample[];
  adapter: AdapterWeights;
  options: TrainOptions;
  /** The frozen decoder (for a reference engine). */
  weights: LlamaWeights<Float32Array>;
}

/** Word-level toy tokenizer over a fixed vocabulary (ids 3 …). */
function encoder(): (s: string) => number[] {
  const ids = new Map<string, number>();
  return (s) =>
    s.split(/(\s+|###)/).filter((w) => w.trim()).map((w) => {
      if (!ids.has(w)) ids.set(w, 3 + (ids.size % (DIMS.vocabSize - 3)));
      return ids.get(w)!;
    });
}

/** Builds the task; `steps` and overrides go into the options. */
export async function makeSyntheticTask(steps: number, overrides: Partial<TrainOptions> = {}): Promise<SyntheticTask> {
  const w = randomLlamaWeights(DIMS, 101, 0.2);
  const rand = mulberry32(7);
  const dir = Float32Array.from({ length: IN_DIM }, () => rand() * 2 - 1);
  const tracks: LibraryTrack[] = [];
  for (let i = 0; i < 24; i++) {
    const jazz = i % 2 === 0;
    const rows = 2;
    const emb = Float32Array.from({ length: rows * IN_DIM }, (_, k) => (jazz ? 1 : -1) * (dir[k % IN_DIM] ?? 0) + 0.3 * (rand() - 0.5));
    tracks.push({
      id: i + 1, path: `/m/${i}.flac`, fingerprint: `fp${i}`, genre: jazz ? 'jazz' : 'rock', genresJson: null,
      mood: null, comment: null, bpm: null, musicalKey: null, nativeTagsJson: null, missingSince: null,
      windows: [{ startMs: 0, lengthMs: 30000, rows, dim: IN_DIM, embedding: emb }], captions: [],
    });
  }
  const ds = buildDataset(tracks, { inDim: IN_DIM, heldOutFraction: 0.2 });
  const encode = encoder();
  const onlyGenre = (e: { kind: string }): boolean => e.kind === 'tag-genre';
  const train = ds.train.filter(onlyGenre).map((e) => tokenizeExample(encode, e));
  const heldOut = ds.heldOut.filter(onlyGenre).map((e) => tokenizeExample(encode, e));
  const g = await buildLlamaTrainingGraph(arrayWeightSource(w));
  const engine = await createOrtEngine(g.toBytes('unused.data'), DIMS.hiddenSize, { threads: 1 });
  const H = DIMS.hiddenSize;
  const embed: EmbedLookup = async (ids) => {
    const out = new Float32Array(ids.length * H);
    ids.forEach((id, i) => out.set(w.embed.subarray(id * H, (id + 1) * H), i * H));
    return out;
  };
  const r2 = mulberry32(3);
  const adapter: AdapterWeights = {
    inDim: IN_DIM,
    outDim: H,
    weight: Float32Array.from({ length: IN_DIM * H }, () => (r2() - 0.5) * 0.2),
    bias: new Float32Array(H),
  };
  const options = defaultTrainOptions(steps, { peakLr: 2e-2, minLr: 5e-3, warmupStartLr: 1e-3, warmupSteps: 2, accumulation: 4, weightDecay: 0.01, checkpointEvery: 2, evalEvery: 100, ...overrides });
  return { engine, embed, train, heldOut, adapter, options, weights: w };
}
