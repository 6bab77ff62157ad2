/**
 * @file Dataset readers (CSV with quoted fields, MusicCaps, MusicInstruct, MusicQA), audio lookup, predictions
 * files and the results table.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CAPTION_QUESTION,
  DatasetError,
  indexAudioFolder,
  parseCsv,
  readDataset,
  readMusicCaps,
  readMusicInstruct,
  readMusicQa,
  resolveAudio,
} from '../../../model/eval/datasets';
import { PredictionsError, formatTable, matchPredictions, readPredictions } from '../../../model/eval/report';
import { scorePairs } from '../../../model/eval/score';

const SUBSET = 'test/fixtures/eval/musiccaps-subset.csv';
const FULL_CSV = join(import.meta.dirname, '..', '..', 'fixtures', 'musiccaps-public.csv');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'musilingo-eval-ds-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('parseCsv', () => {
  it('handles quoted commas, newlines, doubled quotes, CRLF, a BOM and a missing final newline', () => {
    const text = '\ufeffa,b,c\r\n1,"x, y","say ""hi"""\r\n2,"line1\nline2",\n3,plain,"last"';
    expect(parseCsv(text)).toEqual([
      ['a', 'b', 'c'],
      ['1', 'x, y', 'say "hi"'],
      ['2', 'line1\nline2', ''],
      ['3', 'plain', 'last'],
    ]);
  });

  it('keeps a quote inside an unquoted field (as Python csv) and rejects an unclosed quote', () => {
    expect(parseCsv('a,b"c\n')).toEqual([['a', 'b"c']]);
    expect(() => parseCsv('a,"open\n', 'x.csv')).toThrow(/x\.csv: a quoted field is not closed/);
  });
});

describe('readMusicCaps', () => {
  it('reads the evaluation split (is_audioset_eval = True) of the fixture subset', () => {
    const items = readMusicCaps(SUBSET);
    // Expected from the subset as Python's csv module reads it (10 of its 13 rows are evaluation rows).
    expect(items).toHaveLength(10);
    expect(items[0]).toMatchObject({ id: '-0Gj8-vB1q4', audioKey: '-0Gj8-vB1q4', question: CAPTION_QUESTION, startS: 30, endS: 40 });
    expect(items[0]!.reference.startsWith('The low quality recording features a ballad song')).toBe(true);
    const multiline = items.find((i) => i.id === '3OUNEL8XaR0')!;
    expect(multiline.reference).toContain('\n');
    const quoted = items.find((i) => i.id === '-M6K3QoHh40')!;
    expect(quoted.reference).toContain('"');
    expect(readMusicCaps(SUBSET, 'train').map((i) => i.id)).toEqual(['-0SdAVK79lg', '-1LrH01Ei1w', '-4NLarMj4xU']);
    expect(readMusicCaps(SUBSET, 'all')).toHaveLength(13);
  });

  // Skipped only where the shared data folder is absent (it is not part of the repository).
  it('reads the full MusicCaps CSV: 2,858 evaluation rows', () => {
    expect(readMusicCaps(FULL_CSV)).toHaveLength(2858);
  }, 30_000);

  it('names the file and the problem for a wrong CSV', () => {
    const p = join(dir, 'bad.csv');
    writeFileSync(p, 'ytid,caption\nabc,hello\n');
    expect(() => readMusicCaps(p)).toThrow(DatasetError);
    expect(() => readMusicCaps(p)).toThrow(/bad\.csv is not a MusicCaps CSV: no "is_audioset_eval" column/);
    expect(() => readMusicCaps(join(dir, 'missing.csv'))).toThrow(/Cannot read the MusicCaps file .*missing\.csv/);
  });
});

describe('readMusicInstruct and readMusicQa', () => {
  it('keeps the test split and numbers questions per clip', () => {
    const p = join(dir, 'music_instruct_short.json');
    writeFileSync(p, JSON.stringify({ QA: [
      { ytid: 'aaa', question: 'Q1?', answer: 'A1', caption: 'c', is_audioset_eval: true },
      { ytid: 'bbb', question: 'Q2?', answer: 'A2', caption: 'c', is_audioset_eval: false },
      { ytid: 'aaa', question: 'Q3?', answer: 'A3', caption: 'c', is_audioset_eval: true },
    ] }));
    expect(readMusicInstruct(p)).toEqual([
      { id: 'aaa#0', question: 'Q1?', reference: 'A1', audioKey: 'aaa' },
      { id: 'aaa#1', question: 'Q3?', reference: 'A3', audioKey: 'aaa' },
    ]);
    expect(readDataset('mi-short', p)).toHaveLength(2);
    expect(readMusicInstruct(p, 'train').map((i) => i.id)).toEqual(['bbb#0']);
    writeFileSync(p, JSON.stringify({ nope: [] }));
    expect(() => readMusicInstruct(p)).toThrow(/expected \{"QA": \[\.\.\.\]\}/);
  });

  it('takes turn 0 as the question and turn 1 as the reference in MusicQA', () => {
    const p = join(dir, 'EvalMusicQA.json');
    writeFileSync(p, JSON.stringify([
      { audio_name: 'x/1.wav', conversation: [{ from: 'human', value: 'What?' }, { from: 'gpt', value: 'Piano.' }, { from: 'human', value: 'More?' }] },
    ]));
    expect(readMusicQa(p)).toEqual([{ id: 'x/1.wav#0', question: 'What?', reference: 'Piano.', audioKey: 'x/1.wav' }]);
    writeFileSync(p, JSON.stringify([{ audio_name: 'a.wav', conversation: [{ from: 'human', value: 'Q' }] }]));
    expect(() => readMusicQa(p)).toThrow(/item 0: expected audio_name and a conversation of at least two turns/);
    writeFileSync(p, '{not json');
    expect(() => readMusicQa(p)).toThrow(/not valid JSON/);
  });
});

describe('audio lookup', () => {
  it('finds clips by ytid (any audio extension, any depth) and reports the missing ones', () => {
    const audio = join(dir, 'audio');
    mkdirSync(join(audio, 'sub'), { recursive: true });
    writeFileSync(join(audio, '-0Gj8-vB1q4.wav'), 'x');
    writeFileSync(join(audio, 'sub', '-0vPFx-wRRI.mp3'), 'x');
    writeFileSync(join(audio, '-0xzrMun0Rs.txt'), 'x'); // not audio
    const items = readMusicCaps(SUBSET);
    const { found, missing } = resolveAudio('musiccaps', items, indexAudioFolder(audio));
    expect(found.map((f) => f.item.id)).toEqual(['-0Gj8-vB1q4', '-0vPFx-wRRI']);
    expect(found[1]!.audioPath).toBe(join(audio, 'sub', '-0vPFx-wRRI.mp3'));
    expect(missing).toHaveLength(8);
    expect(missing.map((m) => m.id)).toContain('-0xzrMun0Rs');
  });

  it('finds MusicQA audio by relative path or by file name', () => {
    const audio = join(dir, 'mqa');
    mkdirSync(join(audio, 'deep'), { recursive: true });
    writeFileSync(join(audio, 'deep', 'song.mp3'), 'x');
    const items = [
      { id: 'deep/song.mp3#0', question: 'q', reference: 'r', audioKey: 'deep/song.mp3' },
      { id: 'song.mp3#0', question: 'q', reference: 'r', audioKey: 'song.mp3' },
      { id: 'gone.wav#0', question: 'q', reference: 'r', audioKey: 'gone.wav' },
    ];
    const { found, missing } = resolveAudio('musicqa', items, indexAudioFolder(audio));
    expect(found).toHaveLength(2);
    expect(missing.map((m) => m.id)).toEqual(['gone.wav#0']);
    expect(() => indexAudioFolder(join(dir, 'nowhere'))).toThrow(/Audio folder .*nowhere cannot be used/);
  });
});

describe('predictions files', () => {
  it('reads {reference, candidate} lines and {id, prediction} lines, naming the bad line', () => {
    const p = join(dir, 'p.jsonl');
    writeFileSync(p, '{"reference":"a b","candidate":"a"}\n\n{"reference":"c","candidate":""}\n');
    expect(readPredictions(p)).toEqual({ kind: 'pairs', pairs: [{ reference: 'a b', candidate: 'a' }, { reference: 'c', candidate: '' }] });
    writeFileSync(p, '{"id":"x","prediction":"p"}\n{"id":"y","prediction":"q"}\n');
    const ids = readPredictions(p);
    expect(ids.kind).toBe('ids');
    writeFileSync(p, '{"id":"x","prediction":"p"}\n{"oops":1}\n');
    expect(() => readPredictions(p)).toThrow(/p\.jsonl:2: expected/);
    writeFileSync(p, '{"id":"x","prediction":"p"}\n{"reference":"a","candidate":"b"}\n');
    expect(() => readPredictions(p)).toThrow(PredictionsError);
    writeFileSync(p, '{"id":"x","prediction":"p"}\n{"id":"x","prediction":"q"}\n');
    expect(() => readPredictions(p)).toThrow(/id "x" appears twice/);
    writeFileSync(p, '\n');
    expect(() => readPredictions(p)).toThrow(/holds no predictions/);
    writeFileSync(p, 'nope\n');
    expect(() => readPredictions(p)).toThrow(/p\.jsonl:1: not JSON/);
  });

  it('matches ids to items and reports items without predictions and unknown ids', () => {
    const items = readMusicCaps(SUBSET);
    const m = matchPredictions(items, new Map([['-0Gj8-vB1q4', 'a song'], ['zzz', 'x']]));
    expect(m.pairs).toEqual([{ id: '-0Gj8-vB1q4', reference: items[0]!.reference, candidate: 'a song' }]);
    expect(m.withoutPrediction).toHaveLength(9);
    expect(m.unknownIds).toEqual(['zzz']);
  });
});

describe('scorePairs and the table', () => {
  it('macro-averages per-pair scores, scores empty candidates 0 and prints the paper columns', async () => {
    const pairs = [
      { reference: 'The music is slow and sad.', candidate: 'The music is sad and slow.' },
      { reference: 'The music is slow and sad.', candidate: '' },
    ];
    const { perPair, summary } = await scorePairs(pairs);
    expect(perPair[1]).toMatchObject({ bleu: 0, meteor: 0, rougeLRecall: 0, rougeLF1: 0 });
    expect(summary.count).toBe(2);
    expect(summary.paper.bleu).toBeCloseTo(0.8782724127667199 / 2, 15);
    expect(summary.paper.bleu4).toBeCloseTo(17 / 23 / 2, 15);
    expect(summary.paper.bertScore).toBeNull();
    const table = formatTable(summary, 'musiccaps');
    expect(table).toContain('MusicCaps captioning (Table 2)');
    expect(table).toMatch(/B-U .* 43\.91 +30\.8\n/);
    expect(table).not.toContain('not yet copied from the paper');
    // The paper's whole Table 2 beside the measured row.
    expect(table).toMatch(/LP-MusicCaps \(Doh et al\., 2023a\) +14\.7 +22\.4 +21\.5 +87\.8\n/);
    expect(table).toMatch(/This run \(measured\) +43\.9 /);
  });

  it('uses an injected BERTScore and stops when aborted', async () => {
    const { summary } = await scorePairs([{ reference: 'a', candidate: 'a' }, { reference: 'b', candidate: 'c' }], {
      bertScore: async (refs) => refs.map((_, i) => (i === 0 ? 1 : 0.5)),
    });
    expect(summary.paper.bertScore).toBe(0.75);
    const ac = new AbortController();
    ac.abort();
    await expect(scorePairs([{ reference: 'a', candidate: 'a' }], { signal: ac.signal })).rejects.toThrow();
  });
});
