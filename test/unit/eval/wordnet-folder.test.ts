/**
 * @file The WordNet reader on a hand-written miniature dict folder: index/data parsing at byte offsets,
 * adjective markers, the folder's own exception lists taking precedence, and malformed files.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { singleMeteorScore } from '../../../model/eval/meteor';
import { WordNet, WordNetError } from '../../../model/eval/wordnet';

let dir: string;

/** Writes data.<pos> from synset lines, returning each line's byte offset (WordNet's synset id). */
function writeData(path: string, header: string, lines: ((offset: string) => string)[]): number[] {
  let text = header;
  const offsets: number[] = [];
  for (const make of lines) {
    const offset = Buffer.byteLength(text);
    offsets.push(offset);
    text += `${make(String(offset).padStart(8, '0'))}\n`;
  }
  writeFileSync(path, text);
  return offsets;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'musilingo-wn-'));
  const header = '  1 This is a miniature WordNet for tests.  \n';
  const [tune, song] = writeData(join(dir, 'data.noun'), header, [
    (o) => `${o} 10 n 02 tune 0 melody 0 000 | a melody`,
    (o) => `${o} 10 n 03 song 0 vocal 0 Song_Form 0 000 | a short musical composition`,
  ]);
  const [sing] = writeData(join(dir, 'data.verb'), header, [(o) => `${o} 32 v 02 sing 0 chant 0 000 | to sing`]);
  const [big] = writeData(join(dir, 'data.adj'), header, [(o) => `${o} 00 s 02 big(a) 0 galore(ip) 0 000 | large`]);
  writeData(join(dir, 'data.adv'), header, []);
  writeFileSync(join(dir, 'index.noun'), `${header}melody n 1 0 1 0 ${tune}  \nsong n 1 0 1 0 ${song}  \ntune n 1 0 1 0 ${tune}  \nvocal n 1 0 1 0 ${song}  \n`);
  writeFileSync(join(dir, 'index.verb'), `${header}chant v 1 0 1 0 ${sing}  \nsing v 1 1 @ 1 0 ${sing}  \n`);
  writeFileSync(join(dir, 'index.adj'), `${header}big a 1 0 1 0 ${big}  \n`);
  writeFileSync(join(dir, 'index.adv'), header);
  // The folder's own exception lists: "sang" → "sing", and a deliberately odd "tunez" → "melody".
  writeFileSync(join(dir, 'noun.exc'), 'tunez melody\n');
  writeFileSync(join(dir, 'verb.exc'), 'sang sing\n');
  writeFileSync(join(dir, 'adj.exc'), 'bigger big\n');
  writeFileSync(join(dir, 'adv.exc'), '');
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('WordNet on a dict folder', () => {
  it('reads synsets at their byte offsets, keeps case, strips adjective markers', () => {
    const wn = new WordNet(dir);
    expect(wn.hasOwnExceptions).toBe(true);
    expect(wn.synsetLemmaNames('song')).toEqual([['song', 'vocal', 'Song_Form']]);
    expect(wn.synsetLemmaNames('songs')).toEqual([['song', 'vocal', 'Song_Form']]); // noun rule s → ''
    expect(wn.synsetLemmaNames('bigger')).toEqual([['big', 'galore']]); // adj.exc
    expect(wn.synsetLemmaNames('sang')).toEqual([['sing', 'chant']]); // verb.exc
    expect(wn.synsetLemmaNames('tunez')).toEqual([['tune', 'melody']]); // the folder's noun.exc wins
    expect([...wn.synonyms('song')].sort()).toEqual(['song', 'vocal']);
  });

  it('drives the METEOR synonym stage', () => {
    const wn = new WordNet(dir);
    expect(singleMeteorScore(['vocal'], ['song'], { wordnet: wn })).toBeGreaterThan(0);
    expect(singleMeteorScore(['vocal'], ['tune'], { wordnet: wn })).toBe(0);
    // nltk looks synonyms up on stems: "melody" stems to "melodi", which no synset names.
    expect(singleMeteorScore(['melody'], ['tune'], { wordnet: wn })).toBe(0);
  });

  it('names the file and line of a malformed index', () => {
    const bad = mkdtempSync(join(tmpdir(), 'musilingo-wn-bad-'));
    try {
      for (const pos of ['noun', 'verb', 'adj', 'adv']) writeFileSync(join(bad, `index.${pos}`), '');
      writeFileSync(join(bad, 'index.verb'), 'sing v x\n');
      expect(() => new WordNet(bad)).toThrow(WordNetError);
      expect(() => new WordNet(bad)).toThrow(/Malformed WordNet index .*index\.verb, line 1/);
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });

  it('names the data file when an index points at no synset', () => {
    const broken = mkdtempSync(join(tmpdir(), 'musilingo-wn-off-'));
    try {
      for (const pos of ['verb', 'adj', 'adv']) writeFileSync(join(broken, `index.${pos}`), '');
      writeFileSync(join(broken, 'index.noun'), 'song n 1 0 1 0 00000005\n');
      writeFileSync(join(broken, 'data.noun'), 'nothing here\n');
      expect(() => new WordNet(broken).synsetLemmaNames('song')).toThrow(/data\.noun has no synset at offset 5/);
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  });
});
