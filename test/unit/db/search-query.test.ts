/**
 * @file User text → FTS5 MATCH expression: every token quoted, phrases kept, prefix on the last word only.
 */
import { describe, expect, it } from 'vitest';
import { toFtsQuery } from '../../../main/db/search';
import { pathRange } from '../../../main/db/tracks';

describe('toFtsQuery', () => {
  it.each([
    ['sad piano', '"sad" "piano"*'],
    ['sad piano ', '"sad" "piano"'],
    ['lo-fi beats', '"lo fi" "beats"*'],
    ['"acoustic guitar" solo', '"acoustic guitar" "solo"*'],
    ['"acoustic guitar"', '"acoustic guitar"'],
    ['rock AND roll', '"rock" "AND" "roll"*'],
    ['NOT', '"NOT"*'],
    ['title:piano', '"title piano"*'],
    ['NEAR(a b)', '"NEAR a" "b"'],
    ['piano"guitar', '"piano" "guitar"*'],
    ["rock'n'roll", '"rock n roll"*'],
    ['Ünïcode ça', '"Ünïcode" "ça"*'],
    ['日本語', '"日本語"*'],
    ['c++ -x', '"c"'],
    ['c++ -xy', '"c" "xy"*'],
    ['piano d', '"piano"'],
    ['d', null],
    ['', null],
    ['  ', null],
    ['* ^ - ( ) "', null],
  ])('%j → %j', (text, expected) => {
    expect(toFtsQuery(text)).toBe(expected);
  });

  it('adds no prefix when asked not to', () => {
    expect(toFtsQuery('sad piano', { prefix: false })).toBe('"sad" "piano"');
    expect(toFtsQuery('d', { prefix: false })).toBe('"d"');
  });
});

describe('pathRange', () => {
  it('covers exactly the paths inside a folder', () => {
    const [lo, hi] = pathRange('/music/a', '/');
    const inside = (p: string): boolean => p >= lo && p < hi;
    expect(inside('/music/a/x.mp3')).toBe(true);
    expect(inside('/music/a/sub/y.mp3')).toBe(true);
    expect(inside('/music/a')).toBe(false);
    expect(inside('/music/ab/x.mp3')).toBe(false);
    expect(inside('/music/a-b/x.mp3')).toBe(false);
    expect(pathRange('/music/a/', '/')).toEqual([lo, hi]);
    expect(pathRange('C:\\Music', '\\')).toEqual(['C:\\Music\\', 'C:\\Music]']);
  });
});
