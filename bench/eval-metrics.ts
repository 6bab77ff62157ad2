/**
 * @file Benchmark: evaluation metrics throughput, milliseconds per 1,000 MusicCaps-length pairs, for each
 * paper-protocol metric (character BLEU in all nine variants, METEOR with WordNet, ROUGE-L) and the
 * standard corpus BLEU, against a baseline measured in the same run: wordpunct-tokenizing every pair, the
 * least any word metric must do. Pairs cycle through the 302-pair nltk fixture.
 * Run: `npm run bench -- eval-metrics [pairs]` (default 3000).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { charBleuScores } from '../model/eval/bleu-nltk';
import { paperMeteor } from '../model/eval/meteor';
import { rougeL } from '../model/eval/rouge';
import { corpusBleu } from '../model/eval/sacrebleu';
import { wordpunctTokenize } from '../model/eval/tokenize';
import { WordNet } from '../model/eval/wordnet';

const n = Number(process.argv[2] ?? 3000);
const fixture = readFileSync(join(process.cwd(), 'test', 'fixtures', 'metrics', 'nltk-musiccaps.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { reference: string; candidate: string });
const pairs = Array.from({ length: n }, (_, i) => fixture[i % fixture.length]!);

function time(label: string, fn: () => void): number {
  fn(); // warm-up (JIT, caches)
  const t0 = process.hrtime.bigint();
  fn();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return (ms / n) * 1000;
}

const t0 = Date.now();
const wn = new WordNet();
wn.synonyms('music');
const wordnetLoadMs = Date.now() - t0;

let sink = 0;
const baseline = time('baseline', () => {
  for (const p of pairs) sink += wordpunctTokenize(p.reference).length + wordpunctTokenize(p.candidate).length;
});
const rows: [string, number][] = [
  ['char BLEU (9 variants, nltk)', time('bleu', () => { for (const p of pairs) sink += charBleuScores(p.reference, p.candidate).bleu; })],
  ['METEOR (nltk, WordNet 3.1)', time('meteor', () => { for (const p of pairs) sink += paperMeteor(p.reference, p.candidate, { wordnet: wn }); })],
  ['METEOR without WordNet', time('meteor-nown', () => { for (const p of pairs) sink += paperMeteor(p.reference, p.candidate, { wordnet: null }); })],
  ['ROUGE-L (rouge_score, stemmed)', time('rouge', () => { for (const p of pairs) sink += rougeL(p.reference, p.candidate).recall; })],
  ['sacreBLEU corpus (13a)', time('sacre', () => { sink += corpusBleu(pairs.map((p) => p.candidate), [pairs.map((p) => p.reference)]).score; })],
];
process.stdout.write(`eval metrics, ${n} pairs (MusicCaps captions, mean ${Math.round(pairs.reduce((s, p) => s + p.reference.length, 0) / n)} characters per reference)\n`);
process.stdout.write(`WordNet index load: ${wordnetLoadMs} ms (once per process)\n`);
process.stdout.write(`${'metric'.padEnd(34)}${'ms / 1000 pairs'.padStart(16)}${'× baseline'.padStart(12)}\n`);
process.stdout.write(`${'baseline: wordpunct tokenize'.padEnd(34)}${baseline.toFixed(1).padStart(16)}${'1.0'.padStart(12)}\n`);
for (const [label, ms] of rows) process.stdout.write(`${label.padEnd(34)}${ms.toFixed(1).padStart(16)}${(ms / baseline).toFixed(1).padStart(12)}\n`);
if (sink === 42) process.stdout.write('\n');
