/**
 * @file The caption snippet of a search hit, cut from the caption text the ranking already fetched (see
 * [Note: Snippets from the fetched text]). Main process, CLI and tests.
 */
import { isAscii, isTokenCode, type Phrase } from './bm25';

// [Note: Snippets from the fetched text]
// FTS5's snippet() needs the hit's row under an FTS5 cursor positioned by the same MATCH: a page of 50 hits
// spread over the library (the tag matches of a common word are thousands of rowids apart) cost one doclist
// walk per cluster of rowids, more than ranking the page at 1,000,000 tracks. The ranking has every
// candidate's caption in hand, so the snippet is cut here instead:
// - the caption is split into tokens as unicode61 splits ASCII text (runs of letters and digits), and every
//   instance of a query phrase that may match in the caption column is found (the last token of a prefix
//   phrase matches as a prefix; the real phrase, not the indexed prefix a long prefix is walked by);
// - each instance opens a candidate: the instances within SNIPPET_TOKENS tokens from it score 1000 per
//   different phrase and 1 per repeat (as FTS5's snippet() scores its windows); the best candidate, the first
//   of equals, gives the window: SNIPPET_TOKENS tokens centred on its instances, kept inside the caption;
//   a window opening at the start of the instance's sentence gets a bonus of 100 (120 at the caption's
//   start), so a snippet starts at a sentence where that costs no hit (FTS5's sentence preference);
// - instances starting inside the window are wrapped in [ ] (up to its end), and … marks text cut at either
//   end.
// A caption with a non-ASCII letter, digit or mark returns undefined and gets FTS5's snippet() (its folding of
// marks and case is Unicode's; such captions are rare); non-ASCII punctuation (’ “ —) separates tokens here as
// it does in unicode61. A caption without an instance has no snippet (null), as before.

/**
 * A character outside ASCII that unicode61 makes part of a token (a letter, digit, mark or private-use
 * character). Other non-ASCII characters (curly quotes, dashes, symbols) separate tokens as ASCII punctuation
 * does, so such captions are cut here too.
 */
const NON_ASCII_TOKEN_CHAR = /(?!\p{ASCII})[\p{L}\p{N}\p{M}\p{Co}]/u;

/** Tokens in a snippet (FTS5's snippet() argument in the old query). */
export const SNIPPET_TOKENS = 16;

/**
 * The snippet of `caption` for `phrases` (folded tokens), or null when no phrase occurs in it, or undefined
 * when the caption is not ASCII (the caller asks FTS5). `column` is the caption's column index: phrases
 * restricted to other columns are ignored.
 */
export function captionSnippet(caption: string, phrases: readonly Phrase[], column: number): string | null | undefined {
  if (!isAscii(caption) && NON_ASCII_TOKEN_CHAR.test(caption)) return undefined;
  const usable = phrases.filter((p) => p.tokens.length > 0 && (!p.columns || p.columns.includes(column)));
  if (!usable.length) return null;
  const lower = caption.toLowerCase();
  // Most hits of a page matched in their tags: a caption holding no phrase's first token has no snippet.
  if (!usable.some((p) => lower.includes(p.tokens[0]!))) return null;
  const starts: number[] = [];
  const ends: number[] = [];
  let prev = false;
  for (let i = 0; i < lower.length; i++) {
    const inTok = isTokenCode(lower.charCodeAt(i));
    if (inTok !== prev) (inTok ? starts : ends).push(i);
    prev = inTok;
  }
  if (prev) ends.push(lower.length);
  // Instances: [first token, last token, phrase index], by first token then phrase (the order the window
  // choice below breaks ties by). Each phrase's first token is found with indexOf, then checked in place.
  const inst: [number, number, number][] = [];
  usable.forEach((p, pi) => {
    const k = p.tokens.length;
    for (let at = lower.indexOf(p.tokens[0]!); at >= 0; at = lower.indexOf(p.tokens[0]!, at + 1)) {
      const t = tokenStartingAt(starts, at);
      if (t < 0 || t + k > starts.length) continue;
      let ok = true;
      for (let j = 0; j < k && ok; j++) {
        const st = starts[t + j]!;
        const len = ends[t + j]! - st;
        const want = p.tokens[j]!;
        ok = (p.prefix && j === k - 1 ? len >= want.length : len === want.length) && lower.startsWith(want, st);
      }
      if (ok) inst.push([t, t + k - 1, pi]);
    }
  });
  inst.sort((a, b) => a[0] - b[0] || a[2] - b[2]);
  if (!inst.length) return null;
  const n = starts.length;
  const size = Math.min(SNIPPET_TOKENS, n);
  // Sentence starts: the first token, and a token after white space that follows '.' or ':'.
  const sentences = [0];
  for (let t = 1; t < n; t++) {
    let i = starts[t]! - 1;
    while (i >= 0 && isSpaceCode(caption.charCodeAt(i))) i--;
    if (i !== starts[t]! - 1 && i >= 0 && (caption[i] === '.' || caption[i] === ':')) sentences.push(t);
  }
  /** Score of the instances starting in [from, from + size), and the end (exclusive) of the last of them. */
  const seen = new Uint8Array(usable.length);
  const windowScore = (from: number): { score: number; end: number } => {
    seen.fill(0);
    let score = 0;
    let end = from;
    for (const [f, l, pi] of inst) {
      if (f < from || f >= from + size) continue;
      score += seen[pi] ? 1 : 1000;
      seen[pi] = 1;
      end = Math.max(end, l + 1);
    }
    return { score, end };
  };
  let best = -1;
  let bestStart = 0;
  for (const [from] of inst) {
    const { score, end } = windowScore(from);
    let start = from - Math.trunc((size - (end - from)) / 2);
    if (start + size > n) start = n - size;
    if (start < 0) start = 0;
    if (score > best) {
      best = score;
      bestStart = start;
    }
    // A window may instead open at the sentence the instance is in, which reads better (a bonus of 100, or
    // 120 at the caption's start).
    let sentence = 0;
    for (const t of sentences) if (t <= from) sentence = t;
    if (n > size && sentence < from) {
      const fromSentence = windowScore(sentence).score + (sentence === 0 ? 120 : 100);
      if (fromSentence > best) {
        best = fromSentence;
        bestStart = sentence;
      }
    }
  }
  // A window opened at a sentence is not moved back: it may end with the caption.
  const lastTok = Math.min(bestStart + size, n) - 1;
  // An instance that runs past the window is marked up to the window's end.
  const marks = inst.filter(([f]) => f >= bestStart && f <= lastTok).sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let out = bestStart > 0 ? '…' : '';
  // A window at the first token keeps what precedes it (an opening quote), as FTS5 does.
  let at = bestStart > 0 ? starts[bestStart]! : 0;
  // Marks in order; one starting inside the previous (or with it, shorter) is part of it.
  let openUntil = -1;
  for (const [f, l] of marks) {
    if (f <= openUntil) continue;
    const last = Math.min(l, lastTok);
    out += `${caption.slice(at, starts[f]!)}[${caption.slice(starts[f]!, ends[last]!)}]`;
    at = ends[last]!;
    openUntil = last;
  }
  return lastTok < n - 1 ? `${out}${caption.slice(at, ends[lastTok]!)}…` : out + caption.slice(at);
}

/** Space, tab, newline or carriage return: what FTS5's sentence test skips before a '.' or ':'. */
function isSpaceCode(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/** The index of the token starting at character `at` (`starts` ascending), or -1 when none starts there. */
function tokenStartingAt(starts: readonly number[], at: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = starts[mid]!;
    if (v === at) return mid;
    if (v < at) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
