/**
 * @file Training data from library rows: templates, user captions, split by track, de-duplication and the
 * skipped-items report.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildDataset, formatDataReport, type LibraryTrack, type LibraryWindow } from '../../../trainer/data/dataset';
import { tokenizeExample, assembleSequence, cachedEmbedLookup } from '../../../trainer/data/sequence';
import { describeKey, instrumentsFromNativeTags, isProseComment, pairsFromTags } from '../../../trainer/data/templates';

const DIM = 4;
function win(startMs: number, rows = 2, dim = DIM): LibraryWindow {
  return { startMs, lengthMs: 30000, rows, dim, embedding: Float32Array.from({ length: rows * dim }, (_, i) => i / 10 + startMs / 1e5) };
}
let nextId = 1;
function track(over: Partial<LibraryTrack> = {}): LibraryTrack {
  const id = nextId++;
  return {
    id,
    path: `/music/${id}.flac`,
    fingerprint: `fp-${id}`,
    genre: null,
    genresJson: null,
    mood: null,
    comment: null,
    bpm: null,
    musicalKey: null,
    nativeTagsJson: null,
    missingSince: null,
    windows: [win(0)],
    captions: [],
    ...over,
  };
}

describe('tag templates', () => {
  it('turns tags into a caption and one Q&A pair per tag', () => {
    const pairs = pairsFromTags({ genres: ['Jazz', 'Blues'], mood: 'Mellow', bpm: 92.4, musicalKey: 'Am', comment: 'Late night trio with upright piano and brushed drums' }, 'k');
    const kinds = pairs.map((p) => p.kind);
    expect(kinds).toEqual(['caption', 'genre', 'mood', 'instruments', 'tempo', 'key']);
    expect(pairs[0]!.question).toBe('Please give a caption to the music.');
    expect(pairs[0]!.answer).toMatch(/jazz and blues/);
    expect(pairs[0]!.answer).toMatch(/Late night trio/);
    expect(pairs.find((p) => p.kind === 'key')!.answer).toBe('This music is in A minor.');
    expect(pairs.find((p) => p.kind === 'tempo')!.answer).toMatch(/moderate, around 92 beats/);
    expect(pairs.find((p) => p.kind === 'instruments')!.answer).toMatch(/piano/);
  });
  it('ignores encoder stamps, URLs and numeric genres', () => {
    expect(isProseComment('Ripped by EAC v1.0 with LAME')).toBe(false);
    expect(isProseComment('00000A2B 00000B3C 0000F1A0')).toBe(false);
    expect(isProseComment('visit www.example.com for more')).toBe(false);
    expect(pairsFromTags({ genres: ['(13)'], comment: 'Ripped by EAC' }, 'k')).toEqual([]);
  });
  it('spells keys and reads instruments from native tags', () => {
    expect(describeKey('C#')).toBe('C# major');
    expect(describeKey('ebm')).toBe('Eb minor');
    expect(describeKey('8A')).toBe('8A');
    const native = JSON.stringify({ vorbis: [{ id: 'INSTRUMENTS', value: 'Cello; Harp' }], 'ID3v2.4': [{ id: 'TMCL', value: ['violin', 'Ann', 'oboe', 'Bo'] }] });
    expect(instrumentsFromNativeTags(native).sort()).toEqual(['cello', 'harp', 'oboe', 'violin']);
    expect(instrumentsFromNativeTags('{not json')).toEqual([]);
  });
  const MUSICCAPS = join(import.meta.dirname, '../../fixtures/musiccaps-public.csv');
  it('phrases captions of real MusicCaps tag sets without empty parts', () => {
    // Aspect lists from MusicCaps as genre/mood tags: every caption is non-empty sentences.
    const csv = readFileSync(MUSICCAPS, 'utf8').split('\n').slice(1, 40);
    let n = 0;
    for (const line of csv) {
      const m = /"\[(.*?)\]"/.exec(line);
      if (!m) continue;
      const aspects = m[1]!.split(',').map((s) => s.replace(/'/g, '').trim()).filter(Boolean);
      const pairs = pairsFromTags({ genres: aspects.slice(0, 2), mood: aspects[2] ?? null }, line);
      for (const p of pairs) expect(p.answer).not.toMatch(/\s\.|\.\.|undefined|^\s|\s$/);
      n += pairs.length;
    }
    expect(n).toBeGreaterThan(30);
  });
});

describe('buildDataset', () => {
  it('reports and skips bad data, and keeps the rest', () => {
    const good = track({ genre: 'Rock', mood: 'angry' });
    const noTags = track();
    const vanished = track({ genre: 'Pop', missingSince: 123 });
    const gone = track({ genre: 'Pop', path: '/music/deleted.mp3' });
    const unanalysed = track({ genre: 'Folk', windows: [] });
    const copy = track({ genre: 'Rock', fingerprint: good.fingerprint });
    const emptyCaption = track({ genre: 'Jazz', captions: [{ startMs: 0, lengthMs: 30000, source: 'user', text: '   ' }] });
    const badDim = track({ genre: 'Soul', windows: [win(0, 2, 8)] });
    const ds = buildDataset([good, noTags, vanished, gone, unanalysed, copy, emptyCaption, badDim], {
      inDim: DIM,
      heldOutFraction: 0,
      fileExists: (p) => p !== '/music/deleted.mp3',
    });
    const reasons = Object.fromEntries(ds.report.skipped.map((s) => [s.trackId, s.reason]));
    expect(reasons[noTags.id]).toBe('no-usable-tags');
    expect(reasons[vanished.id]).toBe('missing-file');
    expect(reasons[gone.id]).toBe('missing-file');
    expect(reasons[unanalysed.id]).toBe('needs-analysis');
    expect(ds.report.skipped.find((s) => s.trackId === unanalysed.id)!.message).toMatch(/needs analysis: run caption\/embed first/);
    expect(reasons[copy.id]).toBe('duplicate-file');
    expect(reasons[emptyCaption.id]).toBe('empty-caption');
    expect(ds.report.skipped.filter((s) => s.trackId === badDim.id).map((s) => s.reason)).toEqual(['bad-embedding', 'needs-analysis']);
    const usedTracks = new Set(ds.train.map((e) => e.trackId));
    expect([...usedTracks].sort()).toEqual([good.id, emptyCaption.id].sort());
    expect(formatDataReport(ds.report)).toMatch(/Skipped: .*missing-file 2/);
  });
  it('weights user captions highest, uses their own window and never uses model captions', () => {
    const t = track({
      genre: 'Ambient',
      windows: [win(0), win(30000)],
      captions: [
        { startMs: 30000, lengthMs: 30000, source: 'user', text: 'Slow drones with distant bells.' },
        { startMs: 0, lengthMs: 30000, source: 'model', text: 'A model caption.' },
      ],
    });
    const ds = buildDataset([t], { inDim: DIM, heldOutFraction: 0 });
    const user = ds.train.find((e) => e.kind === 'user-caption')!;
    expect(user.weight).toBe(4);
    expect(user.windows.map((w) => w.startMs)).toEqual([30000]);
    expect(ds.train.some((e) => e.answer === 'A model caption.')).toBe(false);
    expect(ds.train.filter((e) => e.kind.startsWith('tag-')).every((e) => e.weight === 1 && e.windows.length === 2)).toBe(true);
  });
  it('removes duplicate pairs and splits by track deterministically', () => {
    const tracks = Array.from({ length: 40 }, () => track({ genre: 'Techno', bpm: 128, captions: [
      { startMs: 0, lengthMs: 30000, source: 'user', text: 'Pounding techno.' },
      { startMs: 30000, lengthMs: 30000, source: 'user', text: 'pounding  techno.' },
    ] }));
    const a = buildDataset(tracks, { inDim: DIM, heldOutFraction: 0.25 });
    const b = buildDataset([...tracks].reverse(), { inDim: DIM, heldOutFraction: 0.25 });
    expect(a.report.duplicatesRemoved).toBe(40);
    expect(a.heldOut.map((e) => e.id).sort()).toEqual(b.heldOut.map((e) => e.id).sort());
    const held = new Set(a.heldOut.map((e) => e.trackId));
    expect(a.train.some((e) => held.has(e.trackId))).toBe(false);
    expect(held.size).toBeGreaterThan(3);
    expect(held.size).toBeLessThan(20);
    // Small libraries still get one held-out track.
    expect(buildDataset(tracks.slice(0, 4), { inDim: DIM, heldOutFraction: 0.01 }).report.heldOutTracks).toBe(1);
  });
});

describe('training sequence layout', () => {
  it('places BOS, prompt, music rows, question and answer+### with labels on the answer only', async () => {
    const vocab = new Map<string, number>();
    const encode = (s: string): number[] => s.split(/\s+/).filter(Boolean).map((w) => {
      if (!vocab.has(w)) vocab.set(w, vocab.size + 3);
      return vocab.get(w)!;
    });
    const ds = buildDataset([track({ genre: 'Rock' })], { inDim: DIM, heldOutFraction: 0 });
    const ex = ds.train.find((e) => e.kind === 'tag-genre')!;
    const t = tokenizeExample(encode, ex);
    expect(t.beforeIds).toEqual(encode('###Human: <Audio>'));
    expect(t.afterIds).toEqual(encode(`</Audio> ${ex.question} ###Assistant: `));
    expect(t.answerIds).toEqual(encode(`${ex.answer}###`));
    const H = 3;
    const adapter = { inDim: DIM, outDim: H, weight: new Float32Array(DIM * H).fill(0.5), bias: Float32Array.from([1, 2, 3]) };
    const embed = cachedEmbedLookup(async (ids) => Float32Array.from(ids.flatMap((id) => [id, -id, 0])), H, 4);
    const seq = await assembleSequence(t, ex.windows[0]!, adapter, embed, 1);
    const S = 1 + t.beforeIds.length + 2 + t.afterIds.length + t.answerIds.length;
    expect(seq.labels.length).toBe(S);
    expect(seq.musicOffset).toBe(1 + t.beforeIds.length);
    expect(seq.labels.slice(S - t.answerIds.length)).toEqual(t.answerIds);
    expect(seq.labels.slice(0, S - t.answerIds.length).every((l) => l === -100)).toBe(true);
    expect(seq.inputsEmbeds[0]).toBe(1); // BOS row
    expect(seq.inputsEmbeds[seq.musicOffset * H + 2]).toBeCloseTo(3 + 0.5 * (0 + 0.1 + 0.2 + 0.3), 6);
    expect(seq.inputsEmbeds[(S - 1) * H]).toBe(t.answerIds.at(-1));
  });
  it('cuts answers to 160 tokens', () => {
    const ds = buildDataset([track({ captions: [{ startMs: 0, lengthMs: 30000, source: 'user', text: 'la '.repeat(400) }] })], { inDim: DIM, heldOutFraction: 0 });
    const t = tokenizeExample((s) => s.split(' ').map(() => 5), ds.train[0]!);
    expect(t.answerIds.length).toBe(160);
    expect(t.truncated).toBe(true);
  });
});
