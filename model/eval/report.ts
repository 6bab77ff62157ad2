/**
 * @file Predictions files and the printed results table of `musilingo eval` (any process; pure functions).
 */
import { readFileSync } from 'node:fs';
import type { DatasetName, EvalItem } from './datasets';
import { PAPER_RESULTS, paperRowsFor } from './paper-results';
import type { EvalSummary, Pair } from './score';

/** A predictions file is unreadable or malformed. */
export class PredictionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PredictionsError';
  }
}

/** What a predictions file holds: finished pairs, or predictions keyed by item id. */
export type Predictions =
  | { readonly kind: 'pairs'; readonly pairs: Pair[] }
  | { readonly kind: 'ids'; readonly byId: Map<string, string> };

/**
 * Reads a JSONL predictions file: every line `{"reference", "candidate"}`, or every line
 * `{"id", "prediction"}` (ids as {@link EvalItem.id}; scored against a dataset). Blank lines are skipped.
 */
export function readPredictions(path: string): Predictions {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new PredictionsError(`Cannot read predictions file ${path}: ${(e as Error).message}`);
  }
  const pairs: Pair[] = [];
  const byId = new Map<string, string>();
  text.split(/\r?\n/).forEach((line, k) => {
    if (line.trim() === '') return;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch (e) {
      throw new PredictionsError(`${path}:${k + 1}: not JSON (${(e as Error).message})`);
    }
    if (typeof o.reference === 'string' && typeof o.candidate === 'string') {
      if (byId.size > 0) throw new PredictionsError(`${path}:${k + 1}: mixes {reference, candidate} lines with {id, prediction} lines`);
      pairs.push({ reference: o.reference, candidate: o.candidate });
    } else if (typeof o.id === 'string' && typeof o.prediction === 'string') {
      if (pairs.length > 0) throw new PredictionsError(`${path}:${k + 1}: mixes {id, prediction} lines with {reference, candidate} lines`);
      if (byId.has(o.id)) throw new PredictionsError(`${path}:${k + 1}: id "${o.id}" appears twice`);
      byId.set(o.id, o.prediction);
    } else {
      throw new PredictionsError(`${path}:${k + 1}: expected {"reference": string, "candidate": string} or {"id": string, "prediction": string}`);
    }
  });
  if (pairs.length === 0 && byId.size === 0) throw new PredictionsError(`${path} holds no predictions`);
  return pairs.length > 0 ? { kind: 'pairs', pairs } : { kind: 'ids', byId };
}

/** Pairs the predictions with dataset items; items without a prediction and unknown ids are returned, not dropped. */
export function matchPredictions(
  items: readonly EvalItem[],
  byId: ReadonlyMap<string, string>,
): { pairs: (Pair & { id: string })[]; withoutPrediction: EvalItem[]; unknownIds: string[] } {
  const known = new Set(items.map((i) => i.id));
  const pairs: (Pair & { id: string })[] = [];
  const withoutPrediction: EvalItem[] = [];
  for (const item of items) {
    const p = byId.get(item.id);
    if (p === undefined) withoutPrediction.push(item);
    else pairs.push({ id: item.id, reference: item.reference, candidate: p });
  }
  return { pairs, withoutPrediction, unknownIds: [...byId.keys()].filter((id) => !known.has(id)) };
}

function fmt(x: number | null, scale: number, digits = 2): string {
  return x === null ? 'n/a' : (x * scale).toFixed(digits);
}

/**
 * The paper's own table for `dataset` with our measured row beside its rows (×100), so a run reads against every
 * model the paper compares, not only MusiLingo's figure.
 */
function paperComparison(summary: EvalSummary, dataset: DatasetName, scale: number): string[] {
  const { table, rows } = paperRowsFor(dataset);
  const name = (s: string): string => `  ${s}`.padEnd(42);
  const cols = (v: readonly string[]): string => v.map((x) => x.padStart(8)).join('');
  const out = [`The paper's ${table}, ${PAPER_RESULTS[dataset].task} (×100; * = flagged by the paper)`];
  out.push(name('model') + cols(['B-U', 'M-R', 'R-L', 'BERT-S']));
  for (const r of rows) {
    const star = r.flagged ? '*' : '';
    out.push(name(r.model) + cols([r.bleu, r.meteor, r.rougeL, r.bertScore].map((v) => `${v.toFixed(1)}${star}`)));
  }
  const p = summary.paper;
  out.push(name('This run (measured)') + cols([p.bleu, p.meteor, p.rougeL, p.bertScore].map((v) => fmt(v, scale, 1))));
  return out;
}

/** Notes printed under the table (missing audio, missing predictions, BERTScore status). */
export interface ReportNotes {
  readonly title?: string;
  readonly lines?: readonly string[];
}

/** The results table in the layout of the paper's tables, with the paper's figures beside ours. */
export function formatTable(summary: EvalSummary, dataset: DatasetName | undefined, notes: ReportNotes = {}): string {
  const paper = dataset === undefined ? undefined : PAPER_RESULTS[dataset];
  const scale = paper?.scale ?? 100;
  const title = notes.title ?? (paper ? `${paper.task} (${paper.table})` : 'Predictions');
  const rows: [string, string, string][] = [
    ['B-U   char BLEU, nltk sentence_bleu', fmt(summary.paper.bleu, scale), paper ? fmt(paper.bleu, 1, 1) : ''],
    ['M-R   METEOR (nltk, WordNet)', fmt(summary.paper.meteor, scale), paper ? fmt(paper.meteor, 1, 1) : ''],
    ['R-L   ROUGE-L recall (stemmed)', fmt(summary.paper.rougeL, scale), paper ? fmt(paper.rougeL, 1, 1) : ''],
    ['BERT-S BERTScore recall (L17)', fmt(summary.paper.bertScore, scale), paper ? fmt(paper.bertScore, 1, 1) : ''],
  ];
  const extra: [string, string][] = [
    ['char BLEU-4, single order (qa.py BLEU-4)', fmt(summary.paper.bleu4, scale)],
    ['char BLEU-1..4, cumulative', summary.paper.bleuCumulative.map((v) => fmt(v, scale)).join(' / ')],
    ['char BLEU-1..4, single order', summary.paper.bleuSingle.map((v) => fmt(v, scale)).join(' / ')],
  ];
  const standard: [string, string][] = [
    ['BLEU, sacreBLEU corpus (13a, exp smoothing)', summary.standard.sacreBleu.toFixed(2)],
    ['  n-gram precisions / BP', `${summary.standard.sacreBleuPrecisions.map((p) => p.toFixed(1)).join('/')} (BP ${summary.standard.sacreBleuBp.toFixed(3)})`],
    ['ROUGE-L F1 (stemmed)', fmt(summary.standard.rougeLF1, scale)],
  ];
  const w = 2 + Math.max(...[...rows, ...extra, ...standard].map((r) => r[0].length)) + 2;
  const out: string[] = [];
  out.push(`${title}: ${summary.count} item${summary.count === 1 ? '' : 's'} scored`);
  out.push('');
  out.push(`Paper protocol (macro mean, ×${scale})`.padEnd(w) + 'Ours'.padStart(9) + (paper ? 'Paper'.padStart(9) : ''));
  for (const [name, ours, theirs] of rows) out.push(`  ${name}`.padEnd(w) + ours.padStart(9) + (paper ? theirs.padStart(9) : ''));
  if (dataset !== undefined) out.push('', ...paperComparison(summary, dataset, scale));
  out.push('');
  out.push('More of the paper protocol');
  for (const [name, v] of extra) out.push(`  ${name}`.padEnd(w) + ' ' + v);
  out.push('');
  out.push('Standard metrics');
  for (const [name, v] of standard) out.push(`  ${name}`.padEnd(w) + ' ' + v);
  if (paper && [paper.bleu, paper.meteor, paper.rougeL, paper.bertScore].every((v) => v === null)) {
    out.push('');
    out.push("Paper figures: n/a = not yet copied from the paper (model/eval/paper-results.ts; docs/evaluation.md).");
  }
  for (const l of notes.lines ?? []) out.push(l);
  return `${out.join('\n')}\n`;
}
