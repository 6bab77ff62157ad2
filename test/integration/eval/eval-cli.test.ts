/**
 * @file `musilingo eval` as a user runs it (`node bin/musilingo.mjs eval …`; the bundle is built by
 * test/setup/build-cli.ts): predictions files checked against nltk's own scores from the fixture, id-keyed
 * predictions against a dataset, model scoring with a tiny converted pack on sox-made clips (missing audio
 * reported), BERT-S with a tiny RoBERTa, and the errors a user can hit.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTinyPack } from '../captions/tiny-pack';
import { writeTinyRoberta } from '../../support/eval/tiny-roberta';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'musilingo.mjs');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'metrics', 'nltk-musiccaps.jsonl');
const SUBSET = join(ROOT, 'test', 'fixtures', 'eval', 'musiccaps-subset.csv');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let dir: string;

function cli(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, '--db', join(dir, 'lib.sqlite'), 'eval', ...args], {
      cwd: dir,
      env: { ...process.env, MUSILINGO_HOME: join(dir, 'home') },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface Summary {
  count: number;
  paper: { bleu: number; bleu4: number; meteor: number; rougeL: number; bertScore: number | null };
  standard: { sacreBleu: number; rougeLF1: number };
  notes: string[];
}

const rows = readFileSync(FIXTURE, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number | string>);
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'musilingo-eval-cli-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('musilingo eval --predictions', () => {
  it("prints the macro means nltk's own per-pair scores give", async () => {
    const some = rows.slice(0, 40);
    const p = join(dir, 'pairs.jsonl');
    writeFileSync(p, some.map((r) => JSON.stringify({ reference: r['reference'], candidate: r['candidate'] })).join('\n'));
    const run = await cli(['--predictions', p, '--no-bertscore', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const s = JSON.parse(run.stdout) as Summary;
    expect(s.count).toBe(40);
    expect(s.paper.bleu).toBeCloseTo(mean(some.map((r) => r['bleu_char_cumulative4'] as number)), 12);
    expect(s.paper.bleu4).toBeCloseTo(mean(some.map((r) => r['bleu_char_4'] as number)), 12);
    expect(s.paper.meteor).toBeCloseTo(mean(some.map((r) => r['meteor'] as number)), 12);
    expect(s.paper.bertScore).toBeNull();
    expect(s.notes.join(' ')).toContain('--no-bertscore');

    const perItem = join(dir, 'per-item.jsonl');
    const table = await cli(['--predictions', p, '--no-bertscore', '--limit', '10', '--per-item', perItem]);
    const items = readFileSync(perItem, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { bleu: number; meteor: number });
    expect(items).toHaveLength(10);
    items.forEach((it, k) => {
      expect(it.bleu).toBeCloseTo(some[k]!['bleu_char_cumulative4'] as number, 12);
      expect(it.meteor).toBeCloseTo(some[k]!['meteor'] as number, 12);
    });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain('Predictions: 10 items scored');
    expect(table.stdout).toMatch(/M-R +METEOR/);
    expect(table.stdout).toContain('BLEU, sacreBLEU corpus');
  });

  it('scores {id, prediction} lines against a dataset and reports what is missing', async () => {
    const p = join(dir, 'ids.jsonl');
    writeFileSync(p, [
      { id: '-0Gj8-vB1q4', prediction: 'A sad ballad with strings and piano.' },
      { id: '-0vPFx-wRRI', prediction: '' },
      { id: 'not-in-set', prediction: 'x' },
    ].map((o) => JSON.stringify(o)).join('\n'));
    const run = await cli(['--predictions', p, '--dataset', 'musiccaps', '--ann', SUBSET, '--no-bertscore']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('MusicCaps captioning (Table 2): 2 items scored');
    // The paper's figures beside ours: its MusiLingo column, and its whole Table 2 above our measured row.
    expect(run.stdout).toMatch(/M-R +METEOR \(nltk, WordNet\) +\d+\.\d\d +21\.6\n/);
    expect(run.stdout).toMatch(/MusiLingo \/ MusicCaps +30\.8 +21\.6 +21\.7 +86\.8\n +This run \(measured\) /);
    expect(run.stdout).toContain('8 of 10 test items have no prediction');
    expect(run.stdout).toContain('1 prediction ids are not test items');
    const noDataset = await cli(['--predictions', p]);
    expect(noDataset.code).toBe(2);
    expect(noDataset.stderr).toContain('give --dataset and --ann');
  });

  it('computes BERT-S with a RoBERTa checkpoint folder', async () => {
    const roberta = join(dir, 'roberta');
    await writeTinyRoberta(roberta);
    const p = join(dir, 'bert.jsonl');
    writeFileSync(p, [{ reference: 'the music', candidate: 'the music' }, { reference: 'the music', candidate: '' }].map((o) => JSON.stringify(o)).join('\n'));
    const run = await cli(['--predictions', p, '--bertscore', roberta, '--bertscore-layers', '2', '--bertscore-ep', 'cpu', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const s = JSON.parse(run.stdout) as Summary;
    // Identical pair → recall 1; empty candidate → 0 (bert_score's rule): mean 0.5.
    expect(s.paper.bertScore).toBeCloseTo(0.5, 5);
    const badEp = await cli(['--predictions', p, '--bertscore', roberta, '--bertscore-ep', 'tpu']);
    expect(badEp.code).toBe(2);
    expect(badEp.stderr).toContain('Unsupported execution provider "tpu" in --bertscore-ep. Expected one of: auto, cuda, webgpu, cpu');
    const noLayers = await cli(['--predictions', p, '--bertscore', roberta]);
    expect(noLayers.code).toBe(1);
    expect(noLayers.stderr).toContain('no default BERTScore layer');
  });

  it('reads WordNet 3.0 by default, as nltk does, and 3.1 on request', async () => {
    const p = join(dir, 'whole-right.jsonl');
    writeFileSync(p, `${JSON.stringify({ reference: 'the whole band plays', candidate: 'the right band plays' })}\n`);
    const meteorOf = async (extra: string[]): Promise<number> => {
      const out = join(dir, `wr-${extra.join('-') || 'default'}.jsonl`);
      const r = await cli(['--predictions', p, '--no-bertscore', '--per-item', out, ...extra]);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(readFileSync(out, 'utf8').trim()) as { meteor: number }).meteor;
    };
    const v30 = await meteorOf([]);
    expect(await meteorOf(['--wordnet-version', '3.0'])).toBe(v30);
    // "right" lists "whole" as a synonym only in WordNet 3.1.
    expect(await meteorOf(['--wordnet-version', '3.1'])).toBeGreaterThan(v30);
    const bad = await cli(['--predictions', p, '--no-bertscore', '--wordnet-version', '2.1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Unknown WordNet version "2.1". Expected one of: 3.0, 3.1');
  });

  it('explains wrong arguments and bad files', async () => {
    const none = await cli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Give --predictions <file.jsonl> or --dataset <name>');
    const bad = await cli(['--dataset', 'musicaps', '--audio', dir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Unknown dataset "musicaps". Expected one of: musiccaps, mi-short, mi-long, musicqa');
    const missing = await cli(['--predictions', join(dir, 'nope.jsonl')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/Cannot read predictions file .*nope\.jsonl/);
    const limit = await cli(['--predictions', FIXTURE, '--limit', '0']);
    expect(limit.code).toBe(2);
    expect(limit.stderr).toContain('--limit must be a positive whole number');
  });
});

describe('musilingo eval --dataset (model scoring)', () => {
  let audio: string;
  let pack: string;

  beforeAll(async () => {
    audio = join(dir, 'clips');
    mkdirSync(audio, { recursive: true });
    // Two of the ten evaluation clips exist; the other eight are missing on purpose.
    for (const [ytid, freq] of [['-0Gj8-vB1q4', '440'], ['-0vPFx-wRRI', '660']] as const) {
      execFileSync('sox', ['-n', '-r', '44100', '-c', '1', join(audio, `${ytid}.wav`), 'synth', '2', 'sine', freq, 'vol', '0.5'], { stdio: 'ignore' });
    }
    pack = join(dir, 'pack');
    await buildTinyPack(dir, pack);
  }, 120_000);

  it('answers with the model, reports missing audio, and saves predictions that score the same', async () => {
    const saved = join(dir, 'saved.jsonl');
    const run = await cli(['--dataset', 'musiccaps', '--ann', SUBSET, '--audio', audio, '--model', pack, '--no-bertscore', '--json', '--save-predictions', saved]);
    expect(run.code, run.stderr).toBe(0);
    const s = JSON.parse(run.stdout) as Summary;
    expect(s.count).toBe(2);
    expect(s.notes.join(' ')).toContain('8 of 10 test items have no audio');
    const lines = readFileSync(saved, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; prediction: string });
    expect(lines.map((l) => l.id)).toEqual(['-0Gj8-vB1q4', '-0vPFx-wRRI']);
    const again = await cli(['--predictions', saved, '--dataset', 'musiccaps', '--ann', SUBSET, '--no-bertscore', '--json']);
    expect(again.code, again.stderr).toBe(0);
    const s2 = JSON.parse(again.stdout) as Summary;
    expect(s2.paper).toEqual(s.paper);
    expect(s2.standard).toEqual(s.standard);
  }, 120_000);

  it('says that model scoring needs a model pack when none is installed', async () => {
    const run = await cli(['--dataset', 'musiccaps', '--ann', SUBSET, '--audio', audio, '--no-bertscore']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/Model scoring needs a converted model pack\. No model pack is installed/);
    expect(run.stderr).toContain('--predictions');
  });
});
