/**
 * @file Caption snippets cut in JS (main/db/snippet.ts). Their agreement with FTS5's snippet() on real
 * MusicCaps captions is held by test/integration/db/search-ranking.test.ts; these pin what FTS5 cannot show.
 */
import { describe, expect, it } from 'vitest';
import type { Phrase } from '../../../main/db/bm25';
import { captionSnippet } from '../../../main/db/snippet';

const word = (w: string, prefix = false, columns: number[] | null = null): Phrase => ({ tokens: w.split(' '), prefix, columns });
const CAPTION = 'A pianist plays. The piano is soft and slow, with strings behind it and a choir far away in a hall. It ends quietly.';

describe('captionSnippet', () => {
  it('marks a long prefix by the real prefix, not by its first four characters', () => {
    const s = captionSnippet(CAPTION, [word('piano', true)], 5)!;
    expect(s).toContain('[piano]');
    expect(s).not.toContain('[pianist]');
    expect(captionSnippet(CAPTION, [word('pian', true)], 5)).toContain('[pianist]');
  });

  it('is null when no phrase occurs in the caption, and ignores phrases of other columns', () => {
    expect(captionSnippet(CAPTION, [word('drums')], 5)).toBeNull();
    expect(captionSnippet(CAPTION, [word('piano', false, [0, 1])], 5)).toBeNull();
  });

  it('leaves a caption with non-ASCII text to FTS5', () => {
    expect(captionSnippet('Un piano très doux.', [word('piano')], 5)).toBeUndefined();
  });

  it('keeps a window opened at a sentence inside the caption, with … where text is cut', () => {
    const s = captionSnippet(CAPTION, [word('quietly')], 5)!;
    expect(s).toBe('…It ends [quietly].');
    const mid = captionSnippet(CAPTION, [word('choir')], 5)!;
    expect(mid.startsWith('…')).toBe(true);
    expect(mid.endsWith('…')).toBe(true);
    expect(mid).toContain('[choir]');
    expect(mid.replace(/[[\]…]/g, '').split(/\s+/).filter(Boolean).length).toBeLessThanOrEqual(16);
  });

  it('marks a phrase as one span, and a prefix phrase up to its last token', () => {
    expect(captionSnippet(CAPTION, [word('strings behind')], 5)).toContain('[strings behind]');
    expect(captionSnippet(CAPTION, [word('choir fa', true)], 5)).toContain('[choir far]');
  });
});
