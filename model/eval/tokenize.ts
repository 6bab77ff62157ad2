/**
 * @file Tokenizers the reference metrics use, reproduced exactly (any process).
 *
 * - {@link wordpunctTokenize}: nltk `wordpunct_tokenize`, the regex `\w+|[^\w\s]+` with Python's
 *   Unicode meaning of `\w` (letters, numbers, underscore) and `\s` (str.isspace: includes the
 *   \x1c–\x1f separators, excludes U+FEFF, unlike JavaScript's `\s`).
 * - {@link rougeTokenize}: rouge_score's `tokenize.tokenize(text, stemmer)`: lowercase, every run of
 *   characters outside [a-z0-9] becomes a space, split, Porter-stem tokens longer than 3 characters,
 *   keep only tokens that are still [a-z0-9]+.
 */
import type { PorterStemmer } from './porter';

/** Python's str.isspace() characters (bidi WS/B/S or category Zs), as the body of a regex character class. */
export const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const WORDPUNCT_RE = new RegExp(`[\\p{L}\\p{N}_]+|[^\\p{L}\\p{N}_${PY_SPACE}]+`, 'gu');

/** nltk `wordpunct_tokenize(text)`: runs of word characters and runs of other non-space characters. */
export function wordpunctTokenize(text: string): string[] {
  return text.match(WORDPUNCT_RE) ?? [];
}

const NON_ALPHANUM_RE = /[^a-z0-9]+/g;
const PY_SPACES_RE = new RegExp(`[${PY_SPACE}]+`, 'u');
const VALID_TOKEN_RE = /^[a-z0-9]+$/;

/** rouge_score `tokenize(text, stemmer)`; pass the stemmer for `use_stemmer=True`. */
export function rougeTokenize(text: string, stemmer?: PorterStemmer): string[] {
  const spaced = text.toLowerCase().replace(NON_ALPHANUM_RE, ' ');
  let tokens = spaced.split(PY_SPACES_RE);
  if (stemmer) tokens = tokens.map((t) => (t.length > 3 ? stemmer.stem(t) : t));
  return tokens.filter((t) => VALID_TOKEN_RE.test(t));
}
