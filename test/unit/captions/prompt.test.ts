/**
 * @file MusiLingo's prompt layout, multi-turn history, post-processing and stop rules (pure functions).
 */
import { describe, expect, it } from 'vitest';
import { buildPromptIds, CAPTION_QUESTION, postprocessAnswer, PROMPT_BEFORE, promptAfter, stopAfter } from '../../../model/inference/prompt';

describe('MusiLingo prompt', () => {
  it('uses the reference texts around the audio', () => {
    expect(PROMPT_BEFORE).toBe('###Human: <Audio>');
    expect(CAPTION_QUESTION).toBe('Please give a caption to the music.');
    expect(promptAfter(CAPTION_QUESTION)).toBe('</Audio> Please give a caption to the music. ###Assistant: ');
  });

  it('puts earlier turns between the audio and the question, in the ###Human/###Assistant form', () => {
    const after = promptAfter('Is it good for running?', [{ question: 'What instruments?', answer: 'Piano and strings.' }]);
    expect(after).toBe('</Audio> What instruments? ###Assistant: Piano and strings. ###Human: Is it good for running? ###Assistant: ');
  });

  it('tokenizes each part separately and drops the oldest turns to fit the context', () => {
    const seen: string[] = [];
    const encode = (t: string): number[] => {
      seen.push(t);
      return t.split(' ').map((_, i) => 100 + i);
    };
    const history = [
      { question: 'one two three four five six', answer: 'a b c d e f g h' },
      { question: 'q2', answer: 'a2' },
    ];
    const all = buildPromptIds(encode, 'now?', { history, audioRows: 7 });
    expect(all.turnsKept).toBe(2);
    expect(seen[0]).toBe(PROMPT_BEFORE);
    const fitted = buildPromptIds(encode, 'now?', { history, audioRows: 7, maxPromptTokens: 1 + 2 + 7 + 9 });
    expect(fitted.turnsKept).toBe(1);
    expect(1 + fitted.before.length + 7 + fitted.after.length).toBeLessThanOrEqual(19);
    expect(() => buildPromptIds(encode, 'now?', { audioRows: 7, maxPromptTokens: 5 })).toThrow(/too long/);
  });

  it('post-processes like the reference: cut at ###, after the last Assistant:, trimmed', () => {
    expect(postprocessAnswer(' A calm piano piece.###Human: more')).toBe('A calm piano piece.');
    expect(postprocessAnswer('Assistant: x Assistant:  The answer \n')).toBe('The answer');
    expect(postprocessAnswer('plain')).toBe('plain');
    expect(postprocessAnswer('###')).toBe('');
  });

  it('stops on 835, on eos 2 and on the pair 2277 29937', () => {
    expect(stopAfter([5, 835])).toEqual({ isStop: true, markerLength: 1 });
    expect(stopAfter([5, 2])).toEqual({ isStop: true, markerLength: 1 });
    expect(stopAfter([5, 2277, 29937])).toEqual({ isStop: true, markerLength: 2 });
    expect(stopAfter([2277])).toEqual({ isStop: false, markerLength: 0 });
  });
});
